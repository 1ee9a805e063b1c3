"""The ``opsgen`` console script: hand ``dryrun`` and ``lint`` to a warm worker when one runs.

A new Python process spends about half a second importing typer, rich, the docker SDK and
the linters before it does any work. ``opsgen worker start`` keeps a process with all of
that imported; this launcher passes it the command line, the working directory, the
environment and its own stdin/stdout/stderr (``SCM_RIGHTS``), forwards SIGINT, SIGTERM and
SIGHUP, and exits with the code the worker reports. Whenever the worker is absent, stale
or refuses, the command runs in this process as before, so the worker is never needed; when
it was absent or stale, one is started in the background for the next command
(:func:`autostart`).

This module is imported on every start: it may use the standard library and the tiny
:mod:`opsgen` package only. The worker side (:mod:`opsgen.worker`) uses its helpers too.

Protocol (Unix stream socket, messages are a 4-byte big-endian length plus JSON)::

    client -> server  {"op": "run", "version", "argv", "cwd", "env", "umask", "stdio"}
                      (with fds 0, 1, 2 attached to the length prefix)
    server -> client  {"op": "started", "pid"} | {"op": "stale"} | {"op": "refused", "reason"}
    client -> server  {"op": "signal", "signum"}            (any number of times)
    server -> client  {"op": "exit", "code"}   (the child sends it too, maybe first)
    client -> server  {"op": "status"} | {"op": "stop"}     (control; one answer each)
"""

from __future__ import annotations

# Only built-in and C modules: socket, signal and json import enum and re, which cost this
# launcher 10-20 ms at every start (a third of the whole interpreter start).
import _json
import _signal
import _socket
import _struct as struct
import os
import sys

from opsgen import __version__

TYPE_CHECKING = False  # typing itself costs this launcher 4 ms
if TYPE_CHECKING:
    from typing import Any

__all__ = ["SERVED", "dumps", "loads", "main", "recv_msg", "runtime_dir", "send_msg", "socket_path"]

#: Verbs a worker runs; every other verb runs in the calling process.
SERVED = frozenset({"dryrun", "lint", "new", "version"})
_FORWARDED = (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP)
_HEADER = struct.Struct(">I")
_INT = struct.Struct("i")
_MAX_MSG = 16 << 20


class _Decoding:
    """The settings ``_json``'s scanner reads off a ``json.JSONDecoder``: the defaults."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int

    @staticmethod
    def parse_constant(name: str) -> Any:
        raise ValueError(f"{name} is not valid in a worker message")


def _unserialisable(obj: object) -> Any:
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


_scan = _json.make_scanner(_Decoding)  # type: ignore[arg-type]  # reads only those attributes
# json.dumps(msg, separators=(",", ":")), by the same C encoder json uses.
_encode = _json.make_encoder(
    None, _unserialisable, _json.encode_basestring_ascii, None, ":", ",", False, False, True
)


def dumps(msg: dict[str, Any]) -> bytes:
    """``msg`` as compact JSON (what :func:`json.dumps` gives, without importing json)."""
    return "".join(_encode(msg, 0)).encode()


def loads(data: bytes) -> Any:
    """Parse one JSON document (as :func:`json.loads`); ValueError when it is not one."""
    text = data.decode()
    try:
        value, end = _scan(text, 0)
    except StopIteration:
        raise ValueError("not a JSON document") from None
    if end != len(text):
        raise ValueError("extra data after the JSON document")
    return value


def runtime_dir() -> str:
    """Where the socket, pid file and log live (not created here).

    A string, not a ``Path``: importing pathlib would cost this launcher more than it does.
    """
    if explicit := os.environ.get("OPSGEN_RUNTIME_DIR"):
        return explicit
    if xdg := os.environ.get("XDG_RUNTIME_DIR"):
        return os.path.join(xdg, "opsgen")
    return os.path.join(os.path.expanduser("~"), ".cache", "opsgen", "run")


def socket_path() -> str:
    """The worker's Unix socket."""
    return os.path.join(runtime_dir(), "worker.sock")


def send_msg(sock: _socket.socket, msg: dict[str, Any], fds: list[int] | None = None) -> None:
    """Send one framed message; ``fds`` ride on the length prefix."""
    data = dumps(msg)
    head = _HEADER.pack(len(data))
    if fds:
        rights = struct.pack(f"{len(fds)}i", *fds)
        sock.sendmsg([head], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, rights)])
        sock.sendall(data)
    else:
        sock.sendall(head + data)


def recv_msg(sock: _socket.socket, nfds: int = 0) -> tuple[dict[str, Any] | None, list[int]]:
    """Receive one framed message and the fds sent with it; ``(None, [])`` on EOF."""
    fds: list[int] = []
    if nfds:
        head, fds = _recv_fds(sock, _HEADER.size, nfds)
    else:
        head = sock.recv(_HEADER.size)
    head += _recv_exact(sock, _HEADER.size - len(head)) if head else b""
    if len(head) < _HEADER.size:
        _close_all(fds)
        return None, []
    (size,) = _HEADER.unpack(head)
    if size > _MAX_MSG:
        _close_all(fds)
        raise ValueError(f"worker message of {size} bytes")
    body = _recv_exact(sock, size)
    if len(body) < size:
        _close_all(fds)
        return None, []
    msg = loads(body)
    return (msg if isinstance(msg, dict) else None), fds


def _recv_fds(sock: _socket.socket, size: int, nfds: int) -> tuple[bytes, list[int]]:
    """``socket.recv_fds``, with the fds close-on-exec until a child dup2s them."""
    space = _socket.CMSG_LEN(nfds * _INT.size)
    data, ancdata, _flags, _addr = sock.recvmsg(size, space, _socket.MSG_CMSG_CLOEXEC)
    fds: list[int] = []
    for level, kind, payload in ancdata:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            usable = len(payload) - len(payload) % _INT.size
            fds.extend(struct.unpack(f"{usable // _INT.size}i", payload[:usable]))
    return data, fds


def _recv_exact(sock: _socket.socket, size: int) -> bytes:
    chunks = []
    while size > 0:
        chunk = sock.recv(min(size, 1 << 16))
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _close_all(fds: list[int]) -> None:
    for fd in fds:
        os.close(fd)


def _stdio() -> list[list[str]]:
    out = []
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        out.append(
            [
                getattr(stream, "encoding", None) or "utf-8",
                getattr(stream, "errors", None) or "strict",
            ]
        )
    return out


def _request(argv: list[str]) -> dict[str, Any]:
    mask = os.umask(0)
    os.umask(mask)
    return {
        "op": "run",
        "version": __version__,
        "argv": argv,
        "cwd": os.getcwd(),
        "env": dict(os.environ),
        "umask": mask,
        "stdio": _stdio(),
    }


#: Why the last :func:`run_via_worker` returned None: ``absent`` (no worker answers),
#: ``stale`` (it runs older code and is exiting) or ``refused``.
last_miss = ""


def run_via_worker(argv: list[str]) -> int | None:
    """Run ``argv`` in the worker; its exit code, or None when this process must run it."""
    global last_miss
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.connect(socket_path())
    except OSError:
        sock.close()
        last_miss = "absent"
        return None
    try:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        send_msg(sock, _request(argv), [0, 1, 2])
        answer, _ = recv_msg(sock)
    except (OSError, ValueError):
        sock.close()
        last_miss = "absent"
        return None
    if answer and answer.get("op") == "exit":  # a quick child can answer before the server
        sock.close()
        return int(answer.get("code", 1))
    if not answer or answer.get("op") != "started":
        sock.close()
        last_miss = "stale" if answer and answer.get("op") == "stale" else "refused"
        return None  # stale, refused or gone before it began: nothing ran yet
    return _wait(sock)


#: Idle seconds after which an automatically started worker exits.
AUTOSTART_IDLE_S = 900


def autostart() -> None:
    """Start a worker in the background for the *next* command; this one runs in-process.

    Like Gradle's or Bazel's server: the first ``opsgen dryrun`` pays Python's start-up, the
    ones after it do not. ``OPSGEN_WORKER_AUTOSTART=0`` turns this off (a worker started by
    hand is still used); ``OPSGEN_NO_WORKER=1`` turns the worker off altogether.
    """
    if os.environ.get("OPSGEN_WORKER_AUTOSTART", "1") in ("0", ""):
        return
    try:
        from opsgen.worker.control import spawn

        spawn(AUTOSTART_IDLE_S)
    except Exception:  # never let the optimisation break the command
        return


def _wait(sock: _socket.socket) -> int:
    """Forward signals until the worker reports the exit code."""

    def forward(signum: int, frame: object) -> None:
        try:
            send_msg(sock, {"op": "signal", "signum": signum})
        except OSError:
            pass

    for signum in _FORWARDED:
        _signal.signal(signum, forward)
    try:
        while True:
            msg, _ = recv_msg(sock)
            if msg is None:
                break
            if msg.get("op") == "exit":
                return int(msg.get("code", 1))
    except (OSError, ValueError):
        pass
    finally:
        sock.close()
    print("error[worker-lost]: the opsgen worker stopped before the command ended", file=sys.stderr)
    return 1


def main() -> None:
    """Console-script entry point."""
    argv = sys.argv[1:]
    if argv and argv[0] in SERVED and not os.environ.get("OPSGEN_NO_WORKER"):
        code = run_via_worker(argv)
        if code is not None:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)  # nothing to finalise here; saves the interpreter's shutdown
        if last_miss in ("absent", "stale") and argv[0] != "version":
            autostart()
    from opsgen.cli import run

    run()
