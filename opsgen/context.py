"""What the process that runs a verb offers it besides the command line (typer's ``ctx.obj``).

In-process (the default, an empty :class:`RunContext`) a verb cleans up before it returns.
A worker child (:mod:`opsgen.worker.child`) passes an ``after_reply`` stack that it runs
once the client has the exit code: the user waits for the report, not for the container's
removal. This module imports nothing from the package.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RunContext", "run_context"]


@dataclass(slots=True)
class RunContext:
    """Where clean-up work goes when it is not to be done before the verb returns."""

    after_reply: contextlib.ExitStack | None = None

    def defer(self) -> Callable[[Callable[[], object]], object] | None:
        """What to hand clean-up work to, or None to do it before returning."""
        return None if self.after_reply is None else self.after_reply.callback


def run_context(obj: object) -> RunContext:
    """``ctx.obj`` when the caller set one, else the in-process default."""
    return obj if isinstance(obj, RunContext) else RunContext()
