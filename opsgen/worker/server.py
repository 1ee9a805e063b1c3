"""The worker process: import everything once, then fork one child per request (a zygote).

The server stays single-threaded, so forking is safe; it never opens a Docker connection
(a child must not share one; one opened ahead for the next child saved about 5 ms of the
child's 14 to its first answer, which did not pay for handing a socket across a fork). One
selector loop watches the listening socket, each client's connection (forwarded signals,
or EOF when the client died), a pipe per child (written once it has replied: its client may
now go) and a pidfd per child (its exit). A child reports first and removes its container
after; one that dies before it is done (SIGKILL) has its containers removed by a
short-lived cleaner process forked here. Run as ``python -m opsgen.worker.server --idle
SECONDS``; ``opsgen worker start`` does that in a new session with stdio on the log file.
"""

from __future__ import annotations

import argparse
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
from opsgen.launcher import SERVED, recv_msg, send_msg
from opsgen.sandbox.policy import process_start
from opsgen.worker.child import run_child
from opsgen.worker.setup import Lock, fingerprint, listen, preload, prepare_rundir, unlink

__all__ = ["Server", "main", "peer_uid"]

_KILL_AFTER_S = 10.0
_GRACE_S = 0.5
_UCRED = struct.Struct("3i")


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
    #: read end of the pipe the child writes to once it has replied (-1 once read)
    replied_fd: int = -1
    replied: bool = False
    #: when to act next: "term" (the client went away), then "kill" (SIGTERM did not do)
    next_step: str = ""
    deadline: float | None = field(default=None)


class Server:
    """The accept/fork/wait loop; see the module docstring."""

    def __init__(self, rundir: Path, listener: socket.socket, idle: float, lock: Lock) -> None:
        self.rundir = rundir
        self.lock = lock
        self.listener: socket.socket | None = listener
        self.idle = idle
        self.sel = selectors.DefaultSelector()
        self.jobs: dict[int, Job] = {}
        self.cleaners: dict[int, int] = {}  # pid -> pidfd of a process removing containers
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
        while self.jobs or self.cleaners or not self.stopping:
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
            unlink(self.rundir / "worker.sock")
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
        replied_r, replied_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(replied_r)

                def reply(code: int) -> None:
                    os.write(replied_w, b"r")  # first: the client may hang up at once
                    send_msg(conn, {"op": "exit", "code": code})

                run_child(req, fds, self._close_in_child, reply)
            finally:
                os._exit(1)  # never fall back into the server's loop
        os.close(replied_w)
        os.set_blocking(replied_r, False)
        for fd in fds:
            os.close(fd)
        self.served += 1
        log(f"child {pid}: {argv[0]}")
        job = Job(pid=pid, conn=conn, pidfd=os.pidfd_open(pid), replied_fd=replied_r)
        self.jobs[pid] = job
        conn.settimeout(None)
        self.sel.register(conn, selectors.EVENT_READ, lambda c: self._from_client(job))
        self.sel.register(job.pidfd, selectors.EVENT_READ, lambda fd: self._reap(job))
        self.sel.register(replied_r, selectors.EVENT_READ, lambda fd: self._check_replied(job))
        try:
            send_msg(conn, {"op": "started", "pid": pid})
        except OSError:
            self._client_gone(job)

    def _close_in_child(self) -> None:
        # The request's own connection stays open: the child sends its exit code on it.
        for job in self.jobs.values():
            os.close(job.pidfd)
            if job.replied_fd >= 0:
                os.close(job.replied_fd)
            if job.conn is not None:
                job.conn.close()
        for pidfd in self.cleaners.values():
            os.close(pidfd)
        if self.listener is not None:
            self.listener.close()
        self.sel.close()
        os.close(self.wake_r)
        os.close(self.wake_w)
        self.lock.close_in_child()

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

    def _check_replied(self, job: Job) -> None:
        """Read the child's "replied" byte (or EOF: it exited) without blocking."""
        if job.replied_fd < 0:
            return
        try:
            job.replied = job.replied or bool(os.read(job.replied_fd, 1))
        except BlockingIOError:
            return
        self.sel.unregister(job.replied_fd)
        os.close(job.replied_fd)
        job.replied_fd = -1

    def _client_gone(self, job: Job) -> None:
        if job.conn is not None:
            self.sel.unregister(job.conn)
            job.conn.close()
            job.conn = None
        self._check_replied(job)
        if job.replied:
            return  # the client has its answer; the child is cleaning up
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
        started = process_start(job.pid)  # a zombie still has its /proc entry
        _, status = os.waitpid(job.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        if code < 0:  # killed before its clean-up was done: remove what it left
            self._clean_up_after(job.pid, started)
        code = 128 - code if code < 0 else code
        log(f"child {job.pid}: exit {code}")
        self.sel.unregister(job.pidfd)
        os.close(job.pidfd)
        if job.replied_fd >= 0:
            self.sel.unregister(job.replied_fd)
            os.close(job.replied_fd)
            job.replied_fd = -1
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

    def _clean_up_after(self, pid: int, started: str) -> None:
        """Fork a process that removes the sandbox containers ``pid`` owned."""
        cleaner = os.fork()
        if cleaner == 0:
            try:
                self._close_in_child()
                from opsgen.sandbox.engine import connect
                from opsgen.sandbox.reaper import remove_owned

                removed = remove_owned(connect(timeout=60), pid, started)
                log(f"child {pid}: removed {len(removed)} container(s) it left")
            finally:
                os._exit(0)
        pidfd = os.pidfd_open(cleaner)
        self.cleaners[cleaner] = pidfd
        self.sel.register(pidfd, selectors.EVENT_READ, lambda fd: self._reap_cleaner(cleaner))

    def _reap_cleaner(self, pid: int) -> None:
        os.waitpid(pid, 0)
        pidfd = self.cleaners.pop(pid)
        self.sel.unregister(pidfd)
        os.close(pidfd)


def _kill(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def main(argv: list[str] | None = None) -> int:
    """``python -m opsgen.worker.server [--idle SECONDS]``."""
    parser = argparse.ArgumentParser(prog="opsgen-worker")
    parser.add_argument("--idle", type=float, default=900.0)
    args = parser.parse_args(argv)
    rundir = prepare_rundir()
    lock = Lock()
    if not lock.acquire(rundir):
        log("another worker holds the lock: exiting")
        return 3
    os.chdir("/")
    log(preload())
    listener = listen(rundir)
    pidfile = rundir / "worker.pid"
    pidfile.write_text(f"{os.getpid()}\n")
    log(f"ready: opsgen {opsgen.__version__}, idle exit after {args.idle:g}s")
    try:
        Server(rundir, listener, args.idle, lock).serve()
    finally:
        unlink(rundir / "worker.sock")
        unlink(pidfile)
        log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
