"""The contract between the lint and whatever runs its tools away from this host.

The validators need some tools run elsewhere (:mod:`opsgen.validators.isolation` says why)
and the sandbox can run commands in a container (:mod:`opsgen.sandbox.toolbox`); neither
package imports the other. These value types and protocols are what both sides speak,
like :mod:`opsgen.findings` for findings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

__all__ = ["CONTAINED_HOME", "CONTAINED_WORKDIR", "MODULE_DOCS", "ToolBatch", "ToolCall",
           "ToolOutput", "ToolSandbox"]

#: where the copied files are, and the tools' cwd, inside the sandbox
CONTAINED_WORKDIR = "/work/lint"
#: where the tools sandbox keeps the option tables of its ansible-core's built-in modules
#: (JSON: ``{"ansible_core": VERSION, "modules": {fqcn: {"options": {name: spec}}}}``)
MODULE_DOCS = "/opt/opsgen-tools/module-docs.json"
#: the tools' ``HOME`` inside the sandbox (a private tmpfs there)
CONTAINED_HOME = "/tmp/opsgen-home"  # noqa: S108 - the container's own /tmp


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One command of a batch: a name to answer by, its argv (run in the work directory
    with the batch's environment) and its own timeout in seconds."""

    name: str
    argv: tuple[str, ...]
    timeout: float


@dataclass(frozen=True, slots=True)
class ToolOutput:
    """What one call did. ``status`` is ``ok`` when it ran to an exit code (any code),
    ``timeout`` when it was killed at its timeout, ``missing`` when it could not run at
    all (``detail`` says why: no Docker engine, no tools image...)."""

    status: Literal["ok", "timeout", "missing", "failed"]
    returncode: int | None = None
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0
    detail: str = ""


class ToolBatch(Protocol):
    """A started batch."""

    def wait(self) -> Mapping[str, ToolOutput]:
        """Block until every call has an answer; each call's name maps to its output."""
        ...

    def close(self) -> None:
        """Stop the batch if it still runs and free what it holds (idempotent)."""
        ...


class ToolSandbox(Protocol):
    """Runs tool calls over a copy of some files, isolated from this host."""

    def identity(self) -> str:
        """What makes its answers (the image id, say): part of result-cache keys; ``""``
        when it cannot run now, which also means "do not cache"."""
        ...

    def start(
        self, files: Mapping[str, bytes], calls: Sequence[ToolCall], env: Mapping[str, str]
    ) -> ToolBatch:
        """Copy ``files`` (relative paths) into :data:`CONTAINED_WORKDIR` and start
        ``calls`` there. Never raises for an unavailable sandbox: its outputs say
        ``missing`` with the reason."""
        ...
