"""``opsgen worker start|stop|status``: a warm process that runs ``new``, ``dryrun`` and
``lint`` fast (imports done, the default model loaded).

A ``new``, ``dryrun`` or ``lint`` that finds no worker starts one in the background for the next
command (``OPSGEN_WORKER_AUTOSTART=0`` turns that off); ``start`` does it now and waits
until it answers. See :mod:`opsgen.worker` and :mod:`opsgen.launcher`.
"""

from __future__ import annotations

from enum import StrEnum

import typer

from opsgen.ui import console, safe


class Action(StrEnum):
    """What to do with the worker."""

    start = "start"
    stop = "stop"
    status = "status"


def register(app: typer.Typer) -> None:
    """Add the ``worker`` verb."""

    @app.command("worker")
    def worker_cmd(
        action: Action = typer.Argument(..., help="start, stop or status."),
        idle: float = typer.Option(
            900.0, "--idle", min=1, help="start: exit after this many seconds without a request."
        ),
    ) -> int:
        """Keep a warm process that runs `opsgen new`, `dryrun` and `lint` without start-up cost.

        The worker imports everything once, loads the default model (llama.cpp;
        OPSGEN_WORKER_MODEL=0: not) and forks a child per command, which writes to your
        terminal directly. It serves only your uid, only new, dryrun and lint, and exits
        after --idle seconds without a request. One of those verbs that finds no worker
        starts one for the next command (OPSGEN_WORKER_AUTOSTART=0 turns that off);
        OPSGEN_NO_WORKER=1 bypasses it. `status` exits 1 when no worker runs.
        """
        from opsgen.launcher import socket_path
        from opsgen.worker import control

        if action is Action.start:
            info, already = control.start(idle)
            what = "a worker already runs" if already else "worker started"
            where = safe(socket_path())
            console.print(f"{what} (pid {info['pid']}, socket {where})", soft_wrap=True)
        elif action is Action.stop:
            pid = control.stop()
            console.print("no worker runs" if pid is None else f"worker stopped (pid {pid})")
        else:
            answer = control.request("status")
            if answer is None or answer.get("op") != "status":
                console.print("no worker runs")
                raise typer.Exit(1)
            info = answer
            console.print(
                f"worker running: pid {info['pid']}, up {info['uptime_s']:.0f}s, "
                f"{info['served']} request(s) served, {info['running']} running, "
                f"opsgen {info['version']}, socket {safe(socket_path())}",
                soft_wrap=True,
            )
        raise typer.Exit(0)
