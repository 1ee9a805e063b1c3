"""Where the change store lives, and the review policy it is configured with.

The workspace is a folder (``.opsgen/`` in the current directory unless ``--workspace`` or
``OPSGEN_WORKSPACE`` says otherwise) holding ``opsgen.db`` and an optional ``config.toml``::

    [review]
    require = 2                  # distinct approvers needed before export (four eyes)
    forbid_self_approval = true  # the change's author may not approve it
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from opsgen.errors import ConfigError, InputError

__all__ = ["DEFAULT_WORKSPACE", "ReviewPolicy", "Workspace", "resolve_workspace"]

DEFAULT_WORKSPACE = ".opsgen"
ENV_VAR = "OPSGEN_WORKSPACE"


@dataclass(frozen=True, slots=True)
class ReviewPolicy:
    """How many distinct people must approve, and whether the author may be one of them."""

    require: int = 1
    forbid_self_approval: bool = False


@dataclass(frozen=True, slots=True)
class Workspace:
    """A workspace folder; nothing is created until :meth:`ensure` is called."""

    path: Path

    @property
    def db_path(self) -> Path:
        """The SQLite database file."""
        return self.path / "opsgen.db"

    @property
    def config_path(self) -> Path:
        """The optional TOML configuration."""
        return self.path / "config.toml"

    def exists(self) -> bool:
        """True when the database has been created."""
        return self.db_path.is_file()

    def ensure(self) -> None:
        """Create the folder, readable by its owner only (it holds scripts and requests)."""
        if self.path.exists() and not self.path.is_dir():
            raise InputError(f"{self.path}: workspace exists and is not a folder")
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)

    def policy(self) -> ReviewPolicy:
        """Read the ``[review]`` table of ``config.toml``; defaults when there is none."""
        if not self.config_path.is_file():
            return ReviewPolicy()
        try:
            data = tomllib.loads(self.config_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{self.config_path}: cannot read: {exc}") from None
        review = data.get("review", {})
        require = review.get("require", 1)
        forbid = review.get("forbid_self_approval", False)
        if not isinstance(require, int) or isinstance(require, bool) or not 1 <= require <= 9:
            raise ConfigError(f"{self.config_path}: review.require must be an integer 1-9")
        if not isinstance(forbid, bool):
            raise ConfigError(f"{self.config_path}: review.forbid_self_approval must be a bool")
        return ReviewPolicy(require=require, forbid_self_approval=forbid)


def resolve_workspace(option: Path | None = None) -> Workspace:
    """The workspace named by ``--workspace``, else ``$OPSGEN_WORKSPACE``, else ``./.opsgen``."""
    if option is not None:
        return Workspace(option)
    env = os.environ.get(ENV_VAR)
    return Workspace(Path(env) if env else Path(DEFAULT_WORKSPACE))
