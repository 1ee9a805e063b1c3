"""Start, stop and query a worker: what ``opsgen worker start|stop|status`` calls."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from opsgen.errors import OpsError
from opsgen.launcher import recv_msg, runtime_dir, send_msg, socket_path

__all__ = ["WorkerError", "log_path", "request", "spawn", "start", "stop"]

_START_TIMEOUT_S = 60.0


class WorkerError(OpsError):
    """The worker could not be started or stopped."""

    reference = "worker-failed"


def log_path() -> Path:
    """The worker's log file (its stdout and stderr)."""
    return Path(runtime_dir()) / "worker.log"


def request(op: str, timeout: float = 5.0) -> dict[str, Any] | None:
    """Send a control request (``status`` or ``stop``); None when no worker answers."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(socket_path())
        send_msg(sock, {"op": op})
        answer, _ = recv_msg(sock)
    except (OSError, ValueError):
        return None
    finally:
        sock.close()
    return answer


def spawn(idle: float) -> subprocess.Popen[bytes]:
    """Start a worker process in a new session and return at once (it may lose the race for
    the lock to another start, and then simply exits)."""
    from opsgen.worker.setup import prepare_rundir

    prepare_rundir()
    with log_path().open("ab") as logf:
        return subprocess.Popen(
            [sys.executable, "-m", "opsgen.worker.server", "--idle", str(idle)],
            stdin=subprocess.DEVNULL,
            stdout=logf,
            stderr=logf,
            cwd="/",  # never pin the caller's folder (an unmount, a deleted checkout)
            start_new_session=True,  # setsid: no controlling terminal, no terminal signals
            close_fds=True,
        )


def start(idle: float) -> tuple[dict[str, Any], bool]:
    """Start a worker in a new session; return its status and whether it was already running.

    Raises:
        WorkerError: it exited or did not answer within a minute (the log says why).
    """
    running = request("status")
    if running is not None and running.get("op") == "status":
        return running, True
    proc = spawn(idle)
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        answer = request("status")
        if answer is not None and answer.get("op") == "status":
            return answer, answer.get("pid") != proc.pid
        if proc.poll() is not None:
            # Another `start` may have won the race for the lock; then its worker answers.
            answer = request("status")
            if answer is not None and answer.get("op") == "status":
                return answer, True
            raise WorkerError(
                f"the worker exited at start-up (status {proc.returncode})",
                hint=f"see {log_path()}",
            )
        time.sleep(0.05)
    proc.terminate()
    raise WorkerError("the worker did not answer within a minute", hint=f"see {log_path()}")


def stop(timeout: float = 30.0) -> int | None:
    """Stop the worker and wait until it has gone; its pid, or None when none answered."""
    answer = request("stop")
    if answer is None or answer.get("op") != "stopping":
        return None
    pid = int(answer["pid"])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)
    return pid


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (our own child, in tests) has finished its work.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False
