"""The worker process: import everything once, then fork one child per request (a zygote).

The server stays single-threaded, so forking is safe; it never opens a Docker connection
(a child must not share one). One selector loop watches the listening socket, each
client's connection (forwarded signals, or EOF when the client died) and a pidfd per child
(its exit). Run as ``python -m opsgen.worker.server --idle SECONDS``; ``opsgen worker
start`` does that in a new session with stdio on the log file.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import gc
import hashlib
import importlib
import io
import os
import selectors
import signal
import socket
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import opsgen
from opsgen.launcher import SERVED, recv_msg, runtime_dir, send_msg
from opsgen.worker.child import run_child

__all__ = ["PRELOAD", "Server", "fingerprint", "main", "peer_uid"]

#: Modules the served verbs need; imported before the socket answers.
PRELOAD = (
    "opsgen.cli",
    "opsgen.commands.dryrun",
    "opsgen.commands.lint",
    "opsgen.commands.version",
    "opsgen.inputs",
    "opsgen.sandbox.stage",
    "opsgen.sandbox.engine",
    "opsgen.validators",
    "opsgen.validators.api",
    "opsgen.validators.secrets",  # detect-secrets: lint imports it on first scan
    "opsgen.report_view",
    "docker",
    "rich",
    "typer",
    "typer._adapters",  # typer imports it (and pydantic) when it parses the first option
)
_KILL_AFTER_S = 10.0
_GRACE_S = 0.5
_UCRED = struct.Struct("3i")


def fingerprint() -> str:
    """Mtimes and sizes of the opsgen modules this process has loaded (and templates, if read).

    Only what the server holds counts: a child imports any other module, and reads any
    template, from disk anyway, so an edit there cannot make it run stale code (and edits
    elsewhere in a checkout do not stop the worker). The served verbs render no template;
    they count once Jinja is loaded here.
    """
    files = {
        str(mod.__file__)
        for name, mod in list(sys.modules.items())
        if (name == "opsgen" or name.startswith("opsgen.")) and getattr(mod, "__file__", None)
    }
    if "jinja2" in sys.modules:
        templates = Path(opsgen.__file__).parent / "templates"
        for dirpath, dirnames, filenames in os.walk(templates):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            files.update(os.path.join(dirpath, n) for n in filenames if not n.endswith(".pyc"))
    digest = hashlib.sha256()
    for path in sorted(files):
        try:
            st = os.stat(path)
            digest.update(f"{path}\0{st.st_mtime_ns}\0{st.st_size}\n".encode())
        except OSError:
            digest.update(f"{path}\0gone\n".encode())
    return digest.hexdigest()


def peer_uid(conn: socket.socket) -> int:
    """The uid of the process at the other end of a Unix socket (SO_PEERCRED)."""
    raw = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
    return int(_UCRED.unpack(raw)[1])


def log(text: str) -> None:
    """One timestamped line in the worker log (the server's stderr)."""
    print(
        f"{time.strftime('%Y-%m-%dT%H:%M:%S')} [{os.getpid()}] {text}", file=sys.stderr, flush=True
    )


@dataclass
class Job:
    """A forked child and the connection of the client it serves."""

    pid: int
    conn: socket.socket | None
    pidfd: int
    #: when to act next: "term" (the client went away), then "kill" (SIGTERM did not do)
    next_step: str = ""
    deadline: float | None = field(default=None)


class Server:
    """The accept/fork/wait loop; see the module docstring."""

    def __init__(self, rundir: Path, listener: socket.socket, idle: float) -> None:
        self.rundir = rundir
        self.listener: socket.socket | None = listener
        self.idle = idle
        self.sel = selectors.DefaultSelector()
        self.jobs: dict[int, Job] = {}
        self.started = time.monotonic()
        self.last_activity = self.started
        self.served = 0
        self.stopping = False
        self.fingerprint = fingerprint()
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_w, False)
        os.set_blocking(self.wake_r, False)
        self.sel.register(listener, selectors.EVENT_READ, self._accept)
        self.sel.register(self.wake_r, selectors.EVENT_READ, self._woken)

    # -- the loop ---------------------------------------------------------------------------

    def serve(self) -> None:
        """Run until stopped, idle or stale, and every child has been waited for."""
        signal.set_wakeup_fd(self.wake_w)
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, self._on_signal)
        while self.jobs or not self.stopping:
            now = time.monotonic()
            if not self.jobs and not self.stopping and now - self.last_activity >= self.idle:
                log(f"idle for {self.idle:g}s: exiting")
                self.stop(terminate=False)
                continue
            for key, _events in self.sel.select(self._timeout(now)):
                if self.sel.get_map().get(key.fd) is not key:
                    continue  # unregistered by an earlier callback of this batch
                callback: Callable[[Any], None] = key.data
                try:
                    callback(key.fileobj)
                except Exception as exc:  # one bad request must not take the server down
                    log(f"error: {type(exc).__name__}: {exc}")
            self._kill_overdue()

    def _timeout(self, now: float) -> float:
        deadlines = [j.deadline for j in self.jobs.values() if j.deadline is not None]
        if not self.jobs:
            deadlines.append(self.last_activity + self.idle)
        return max(0.0, min(deadlines, default=now + 60.0) - now)

    def _on_signal(self, signum: int, frame: object) -> None:
        """Do nothing here: the wakeup fd wakes the loop, which stops in :meth:`_woken`."""

    def _woken(self, fd: int) -> None:
        try:
            os.read(fd, 512)
        except BlockingIOError:
            pass
        log("signal: stopping")
        self.stop(terminate=True)

    def stop(self, *, terminate: bool) -> None:
        """Stop accepting; with ``terminate``, SIGTERM the running children too."""
        if self.listener is not None:
            self.sel.unregister(self.listener)
            self.listener.close()
            self.listener = None
            _unlink(self.rundir / "worker.sock")
        self.stopping = True
        if terminate:
            for job in self.jobs.values():
                self._terminate(job)

    # -- requests ---------------------------------------------------------------------------

    def _accept(self, listener: socket.socket) -> None:
        conn, _ = listener.accept()
        conn.settimeout(5.0)
        fds: list[int] = []
        try:
            uid = peer_uid(conn)
            if uid != os.getuid():
                log(f"refused a peer with uid {uid}")
                send_msg(conn, {"op": "refused", "reason": "uid"})
                conn.close()
                return
            msg, fds = recv_msg(conn, 3)
            self._dispatch(conn, msg or {}, fds)
        except (OSError, ValueError) as exc:
            log(f"bad request: {exc}")
            for fd in fds:
                os.close(fd)
            conn.close()

    def _dispatch(self, conn: socket.socket, msg: dict[str, Any], fds: list[int]) -> None:
        op = msg.get("op")
        if op == "run" and len(fds) == 3:
            self._run(conn, msg, fds)
            return
        for fd in fds:
            os.close(fd)
        if op == "status":
            send_msg(conn, self.status())
        elif op == "stop":
            send_msg(conn, {"op": "stopping", "pid": os.getpid()})
            log("stop requested")
            self.stop(terminate=True)
        else:
            send_msg(conn, {"op": "refused", "reason": f"bad request {op!r}"})
        conn.close()

    def status(self) -> dict[str, Any]:
        """What ``opsgen worker status`` prints."""
        return {
            "op": "status",
            "pid": os.getpid(),
            "uptime_s": round(time.monotonic() - self.started, 1),
            "served": self.served,
            "running": len(self.jobs),
            "version": opsgen.__version__,
        }

    def _run(self, conn: socket.socket, req: dict[str, Any], fds: list[int]) -> None:
        argv = req.get("argv") or [""]
        reason = None
        if req.get("version") != opsgen.__version__ or fingerprint() != self.fingerprint:
            reason = "stale"
        elif argv[0] not in SERVED:
            reason = "verb"
        if reason is not None or self.stopping:
            for fd in fds:
                os.close(fd)
            send_msg(conn, {"op": "stale" if reason == "stale" else "refused", "reason": reason})
            conn.close()
            if reason == "stale":
                log("the installed opsgen changed: exiting")
                self.stop(terminate=False)
            return
        self.last_activity = time.monotonic()
        pid = os.fork()
        if pid == 0:
            try:
                run_child(
                    req,
                    fds,
                    self._close_in_child,
                    lambda code: send_msg(conn, {"op": "exit", "code": code}),
                )
            finally:
                os._exit(1)  # never fall back into the server's loop
        for fd in fds:
            os.close(fd)
        self.served += 1
        log(f"child {pid}: {argv[0]}")
        job = Job(pid=pid, conn=conn, pidfd=os.pidfd_open(pid))
        self.jobs[pid] = job
        conn.settimeout(None)
        self.sel.register(conn, selectors.EVENT_READ, lambda c: self._from_client(job))
        self.sel.register(job.pidfd, selectors.EVENT_READ, lambda fd: self._reap(job))
        try:
            send_msg(conn, {"op": "started", "pid": pid})
        except OSError:
            self._client_gone(job)

    def _close_in_child(self) -> None:
        # The request's own connection stays open: the child sends its exit code on it.
        for job in self.jobs.values():
            os.close(job.pidfd)
            if job.conn is not None:
                job.conn.close()
        if self.listener is not None:
            self.listener.close()
        self.sel.close()
        os.close(self.wake_r)
        os.close(self.wake_w)
        _LOCK.close_in_child()

    # -- children ---------------------------------------------------------------------------

    def _from_client(self, job: Job) -> None:
        if job.conn is None:
            return
        try:
            msg, _ = recv_msg(job.conn)
        except (OSError, ValueError):
            msg = None
        if msg is None:
            self._client_gone(job)
        elif msg.get("op") == "signal":
            signum = int(msg.get("signum", signal.SIGTERM))
            if signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                _kill(job.pid, signum)

    def _client_gone(self, job: Job) -> None:
        if job.conn is not None:
            self.sel.unregister(job.conn)
            job.conn.close()
            job.conn = None
        if not job.next_step:
            # Usually the child has just sent the exit code itself and is exiting: give it a
            # moment before treating this as a client that died (SIGKILL, closed terminal).
            job.next_step, job.deadline = "term", time.monotonic() + _GRACE_S

    def _terminate(self, job: Job) -> None:
        if job.next_step in ("", "term"):
            _kill(job.pid, signal.SIGTERM)
            job.next_step, job.deadline = "kill", time.monotonic() + _KILL_AFTER_S

    def _kill_overdue(self) -> None:
        now = time.monotonic()
        for job in self.jobs.values():
            if job.deadline is None or now < job.deadline:
                continue
            if job.next_step == "term":
                log(f"child {job.pid}: client went away, terminating it")
                self._terminate(job)
            elif job.next_step == "kill":
                log(f"child {job.pid}: still running after SIGTERM, killing it")
                _kill(job.pid, signal.SIGKILL)
                job.next_step, job.deadline = "killed", None

    def _reap(self, job: Job) -> None:
        _, status = os.waitpid(job.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        code = 128 - code if code < 0 else code
        log(f"child {job.pid}: exit {code}")
        self.sel.unregister(job.pidfd)
        os.close(job.pidfd)
        if job.conn is not None:
            self.sel.unregister(job.conn)
            try:
                send_msg(job.conn, {"op": "exit", "code": code})
            except OSError:
                pass
            job.conn.close()
            job.conn = None
        del self.jobs[job.pid]
        self.last_activity = time.monotonic()


def _kill(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


class _Lock:
    """``worker.lock``, held with flock for the server's life: one server per runtime dir."""

    def __init__(self) -> None:
        self.fd = -1

    def acquire(self, rundir: Path) -> bool:
        self.fd = os.open(rundir / "worker.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            return False
        return True

    def close_in_child(self) -> None:
        # A child must not keep the lock's file description open after the server exits,
        # or a new server could not start while a long dry-run finishes.
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


_LOCK = _Lock()


def prepare_rundir() -> Path:
    """Create the runtime dir (0700) or check that an existing one is ours and private."""
    rundir = Path(runtime_dir())
    rundir.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = rundir.stat()
    if st.st_uid != os.getuid():
        raise PermissionError(f"{rundir} belongs to uid {st.st_uid}")
    if st.st_mode & 0o077:
        rundir.chmod(0o700)
    return rundir


def preload() -> None:
    """Import what the served verbs need, so a forked child starts warm."""
    for name in PRELOAD:
        importlib.import_module(name)
    _warm_up()
    # Everything imported so far is shared with the children; keep the collector from
    # touching (and so copying) those pages in every child.
    gc.collect()
    gc.freeze()


def _warm_up() -> None:
    """Parse each served verb once, on a file that does not exist: no container, no lint.

    typer and pydantic import modules and build adapters on first parse; done here, every
    child inherits them instead of paying for them again.
    """
    from opsgen.cli import main as cli_main

    missing = "/nonexistent/opsgen-warm-up.sh"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        for argv in _WARM_UP:
            cli_main([*argv, missing])
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # cli.main installed its handler


_WARM_UP = (
    ["dryrun", "--json", "--timeout", "60", "--network", "none", "--lang", "bash"],
    ["dryrun", "--image", "none", "--twice"],
    ["lint", "--format", "json", "--lang", "bash"],
    ["lint", "--format", "text"],
    ["version"],
)


def _listen(rundir: Path) -> socket.socket:
    path = rundir / "worker.sock"
    _unlink(path)  # we hold the lock: any socket there is a dead server's
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        listener.bind(str(path))
    finally:
        os.umask(old)
    path.chmod(0o600)
    listener.listen(64)
    return listener


def main(argv: list[str] | None = None) -> int:
    """``python -m opsgen.worker.server [--idle SECONDS]``."""
    parser = argparse.ArgumentParser(prog="opsgen-worker")
    parser.add_argument("--idle", type=float, default=900.0)
    args = parser.parse_args(argv)
    rundir = prepare_rundir()
    if not _LOCK.acquire(rundir):
        log("another worker holds the lock: exiting")
        return 3
    os.chdir("/")
    preload()
    listener = _listen(rundir)
    pidfile = rundir / "worker.pid"
    pidfile.write_text(f"{os.getpid()}\n")
    log(f"ready: opsgen {opsgen.__version__}, idle exit after {args.idle:g}s")
    try:
        Server(rundir, listener, args.idle).serve()
    finally:
        _unlink(rundir / "worker.sock")
        _unlink(pidfile)
        log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
