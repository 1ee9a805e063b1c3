"""What a forked worker child does with one request: become the client's process, run the verb.

The child takes over the client's stdin/stdout/stderr, working directory, environment and
umask, so rich sees the client's real terminal (width, colour) and relative paths resolve
as they would in the client. It never touches a Docker connection of the server: the verbs
connect on their own, after the fork.

Report first, clean up after: the verb defers the container's removal to an
``after_reply`` stack (:mod:`opsgen.context`), which runs once the client has the exit
code and this process has let go of the client's terminal. If the child dies before it is
done, the server removes the containers it owned (:mod:`opsgen.worker.server`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import Any, NoReturn

__all__ = ["run_child"]

_BLOCKED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM and SIGHUP (forwarded by the client, or sent by the server when the client
    # vanished) must unwind like Ctrl-C, so `finally` blocks remove the container.
    raise KeyboardInterrupt


def _reset_signals() -> None:
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)


def _take_stdio(fds: list[int], stdio: list[list[str]]) -> None:
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    # New text streams: encoding and error handler as the client had them, line buffering
    # decided by the client's fds, not by the server's log file.
    (in_enc, in_err), (out_enc, out_err), (err_enc, err_err) = stdio
    sys.stdin = open(0, encoding=in_enc, errors=in_err, closefd=False)
    sys.stdout = open(
        1, "w", 1 if os.isatty(1) else -1, encoding=out_enc, errors=out_err, closefd=False
    )
    sys.stderr = open(2, "w", 1, encoding=err_enc, errors=err_err, closefd=False)


def _fresh_consoles() -> None:
    """Re-detect terminal, colour system and NO_COLOR/COLUMNS for the client's fds and env.

    rich decides these when a Console is made, and the server made :mod:`opsgen.ui`'s
    consoles with a log file as stdout. Other modules hold these objects by name, so they
    are re-initialised in place with the arguments ``opsgen.ui`` uses.
    """
    import rich
    from rich.console import Console

    from opsgen import ui

    Console.__init__(ui.console, highlight=False, emoji=False)
    Console.__init__(ui.err_console, stderr=True, highlight=False, emoji=False)
    rich._console = None


def _become_client(req: dict[str, Any], fds: list[int]) -> list[str]:
    _take_stdio(fds, req["stdio"])
    os.chdir(req["cwd"])
    os.environ.clear()
    os.environ.update(req["env"])
    time.tzset()
    os.umask(int(req["umask"]))
    argv = [str(a) for a in req["argv"]]
    sys.argv = ["opsgen", *argv]
    _fresh_consoles()
    return argv


def _let_go_of_client() -> None:
    """Point stdio at /dev/null: a client in a pipeline ends when its reader sees EOF."""
    null = os.open(os.devnull, os.O_RDWR)
    for target in (0, 1, 2):
        os.dup2(null, target)
    os.close(null)


def run_child(
    req: dict[str, Any],
    fds: list[int],
    close_server: Callable[[], None],
    reply: Callable[[int], None],
) -> NoReturn:
    """Run the request's verb in this (forked) process and ``_exit`` with its code.

    ``reply`` tells the client the code as soon as the verb is done, before the deferred
    clean-up and before this process goes (the server sends the code again when it reaps
    us; the client takes the first).
    """
    from opsgen.context import RunContext

    code = 1
    after_reply = contextlib.ExitStack()
    try:
        _reset_signals()
        close_server()
        argv = _become_client(req, fds)
        from opsgen.cli import main

        code = main(argv, context=RunContext(after_reply=after_reply))
    except KeyboardInterrupt:
        code = 130
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException as exc:  # the child must always reach _exit
        try:
            print(f"error[worker]: {type(exc).__name__}: {exc}", file=sys.stderr)
        except BaseException:  # noqa: S110
            pass
    finally:
        # From here on a forwarded signal must not raise: a KeyboardInterrupt escaping this
        # block would return into the server's loop, in a copy of the server.
        signal.pthread_sigmask(signal.SIG_BLOCK, _BLOCKED)
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:  # noqa: S110
                pass
        try:
            reply(code)
        except BaseException:  # noqa: S110 - the server's copy of the code still goes out
            pass
        try:
            _let_go_of_client()
            after_reply.close()
        except BaseException:  # noqa: S110 - the server reaps what a failed removal left
            pass
        os._exit(code)
