"""Shared pieces of the review verbs: the workspace option, JSON output, the acting user.

Kept out of :mod:`opsgen.commands` so that package holds only verbs (one per module).
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from opsgen.redact import redact_tree
from opsgen.store.repo import Store
from opsgen.store.workspace import resolve_workspace

__all__ = ["JsonOpt", "LangChoice", "LangOrAuto", "WorkspaceOpt", "current_user", "open_store",
           "print_json"]


class LangChoice(StrEnum):
    """``--lang`` where the language must be named: the values of :data:`opsgen.lang.LANGS`."""

    bash = "bash"
    ansible = "ansible"


class LangOrAuto(StrEnum):
    """``--lang`` with ``auto``: detected from the input (or, for ``new``, the request)."""

    auto = "auto"
    bash = "bash"
    ansible = "ansible"

WorkspaceOpt = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        envvar="OPSGEN_WORKSPACE",
        help="Workspace folder holding the change store (default: ./.opsgen).",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def open_store(workspace: Path | None, *, create: bool = False) -> Store:
    """Open the store of the workspace given on the command line (or the default)."""
    return Store.open(resolve_workspace(workspace), create=create)


def print_json(value: Any) -> None:
    """Write ``value`` as JSON to stdout, secrets redacted, never through rich markup.

    Every string is redacted whole (a private key spans lines), detect-secrets included:
    JSON output is what scripts and CI logs keep. ``ensure_ascii`` turns every control and
    non-ASCII character into a ``\\u`` escape, so no raw escape sequence reaches the
    terminal from JSON output either; values JSON cannot hold are written as strings.
    """
    text = json.dumps(
        redact_tree(value, scan=True), indent=2, sort_keys=True, ensure_ascii=True, default=str
    )
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def current_user() -> str:
    """Who is acting, for audit entries of non-approval actions: ``$OPSGEN_USER`` or login."""
    name = os.environ.get("OPSGEN_USER")
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
