"""The ``opsgen`` command line: a thin layer over the Python API.

Each verb lives in its own module under :mod:`opsgen.commands` and registers itself through a
``register(app)`` function; :data:`VERBS` names the module of each verb so that only the verb
being run is imported. This module's one job is
the mapping from errors to text and exit codes (pip's ``base_command``).
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
from types import FrameType
from typing import Any

import typer
from typer._click import exceptions as click_exc  # typer vendors click since 0.2x
from typer.core import TyperGroup

from opsgen import commands
from opsgen.context import RunContext
from opsgen.errors import OpsError
from opsgen.ui import err_console, render_error, safe

EXIT_CODES_HELP = """Exit codes: 0 success; 1 the check found errors (lint errors, a failed or
stopped dry-run) or an unexpected error; 2 usage error; 3 bad input or configuration
(missing, empty, binary, non-UTF-8 or too large file); 4 sandbox unavailable (no Docker
engine, image missing, policy violation); 5 generation failed; 6 export refused; 130
cancelled (Ctrl-C or SIGTERM)."""

#: verb -> module of :mod:`opsgen.commands` that registers it. Verbs are imported only when
#: they run (or for ``--help``), so ``opsgen dryrun`` does not pay for the model, the store
#: and the linters at start-up. ``tests/cli/test_cli_verbs.py`` checks this table against
#: what the modules really register.
VERBS: dict[str, str] = {
    "new": "new",
    "explain": "explain",
    "model": "model",
    "lint": "lint",
    "rules": "rules",
    "dryrun": "dryrun",
    "sandbox": "sandbox",
    "import": "import_",
    "list": "list_",
    "show": "show",
    "diff": "diff",
    "edit": "edit",
    "approve": "approve",
    "reject": "reject",
    "export": "export",
    "verify": "verify",
    "audit": "audit",
    "convert": "convert",
    "version": "version",
    "worker": "worker",
}


def _verb_app() -> typer.Typer:
    return typer.Typer(pretty_exceptions_enable=False, add_completion=False, rich_markup_mode=None)


class _LazyVerbs(TyperGroup):
    """A command group that imports a verb's module on first use."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [*VERBS, *(n for n in super().list_commands(ctx) if n not in VERBS)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        found = super().get_command(ctx, cmd_name)
        if found is not None or cmd_name not in VERBS:
            return found
        sub = _verb_app()
        importlib.import_module(f"{commands.__name__}.{VERBS[cmd_name]}").register(sub)
        found = typer.main.get_group(sub).get_command(ctx, cmd_name)
        if found is not None:
            self.add_command(found, cmd_name)
        return found

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:
            # typer would turn it into a silent Exit(130), returned like a verb's exit code.
            raise typer.Abort from exc


app = typer.Typer(
    name="opsgen",
    cls=_LazyVerbs,
    help=(
        "Write ops automation you can trust: generate a bash script or Ansible playbook, lint "
        "it, dry-run it in a locked-down disposable container, review what it changed, "
        "approve and export it. Nothing ever runs on this host."
    ),
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)


@app.callback()
def _root() -> None:
    """Write ops automation you can trust."""


def _sigterm_to_interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM and SIGHUP must unwind the stack like Ctrl-C so `finally` blocks remove
    # containers.
    raise KeyboardInterrupt


def main(argv: list[str] | None = None, *, context: RunContext | None = None) -> int:
    """Entry point of the console script; returns (and exits with) the exit code.

    ``context`` is what a worker child offers the verb (see :mod:`opsgen.context`).
    """
    signal.signal(signal.SIGTERM, _sigterm_to_interrupt)
    if signal.getsignal(signal.SIGHUP) is signal.SIG_DFL:  # not under nohup
        signal.signal(signal.SIGHUP, _sigterm_to_interrupt)
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    debug = bool(os.environ.get("OPSGEN_DEBUG"))
    args = list(sys.argv[1:] if argv is None else argv)
    if "--debug" in args:
        args.remove("--debug")
        debug = True
    command = typer.main.get_command(app)
    try:
        rv = command.main(args, prog_name="opsgen", standalone_mode=False, obj=context)
        code = rv if isinstance(rv, int) else 0
    except typer.Abort:
        err_console.print("Operation cancelled by user")
        code = 130
    except click_exc.ClickException as exc:
        exc.show()
        code = exc.exit_code
    except typer.Exit as exc:
        code = exc.exit_code
    except OpsError as exc:
        render_error(exc)
        code = exc.exit_code
    except KeyboardInterrupt:
        err_console.print("Operation cancelled by user")
        code = 130
    except Exception as exc:  # the last line of defence: one line, never a traceback
        if debug:
            raise
        err_console.print(
            f"[bold red]error[/]\\[internal]: {safe(type(exc).__name__)}: {safe(str(exc))}",
            soft_wrap=True,
        )
        err_console.print("  [cyan]hint:[/] re-run with --debug for a traceback")
        code = 1
    return code


def run() -> None:
    """Console-script wrapper: exit with :func:`main`'s code."""
    sys.exit(main())


if __name__ == "__main__":
    run()
