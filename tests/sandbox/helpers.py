"""Helpers shared by the sandbox adversarial tests (security.md §5).

Nothing here weakens the product: the "raw" runner exists only for control cases that must
show an attack *would* work without one of our settings (e.g. ADV-11 without
no-new-privileges), proving that the real test can fail.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from io import StringIO
from typing import Any

from rich.console import Console

from opsgen.sandbox import DryRunOptions, DryRunReport, dryrun
from opsgen.sandbox.engine import DEFAULT_IMAGE
from opsgen.sandbox.policy import LABEL

__all__ = [
    "SGR",
    "Listener",
    "ansi_c",
    "bridge_gateway",
    "containers_of",
    "dry",
    "render",
    "run_raw",
    "wait_for",
]

#: The only escape sequences rich itself writes with force_terminal: SGR colour/style codes.
SGR = re.compile(r"\x1b\[[0-9;]*m")


def dry(client: Any, script: str, *, timeout: float = 20, **options: Any) -> DryRunReport:
    """Dry-run a bash ``script`` with the product's own code path and the ops policy."""
    return dryrun(script, "bash", DryRunOptions(timeout=timeout, **options), client=client)


def ansi_c(raw: str) -> str:
    """``raw`` as a bash ``$'...'`` word, every byte hex-escaped (hostile names survive)."""
    return "$'" + "".join(f"\\x{b:02x}" for b in raw.encode("utf-8")) + "'"


def containers_of(client: Any, **labels: str) -> list[Any]:
    """Our labelled containers (any state) that also carry each ``opsgen.sandbox.<k>=<v>``."""
    filters = [f"{LABEL}=1", *(f"{LABEL}.{k}={v}" for k, v in labels.items())]
    # ignore_removed: a container removed between the engine's list and docker-py's
    # inspect of it (another run's clean-up) is simply not there, not an error
    return list(client.containers.list(all=True, filters={"label": filters},
                                       ignore_removed=True))


def wait_for(predicate: Any, timeout: float, interval: float = 0.1) -> Any:
    """Poll ``predicate`` until it returns something truthy; return it (or the last falsy)."""
    end = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < end:
        time.sleep(interval)
        value = predicate()
    return value


def render(report: DryRunReport, *, width: int = 400) -> str:
    """What an operator's (colour) terminal would receive for ``report``."""
    from opsgen.render.dryrun import render_dryrun

    buf = StringIO()
    console = Console(
        file=buf,
        force_terminal=True,
        color_system="standard",
        width=width,
        highlight=False,
        emoji=False,
    )
    render_dryrun(report, console)
    return buf.getvalue()


def run_raw(
    client: Any, kwargs: dict[str, Any], script: str, *, timeout: float = 20
) -> tuple[int, str]:
    """Control case only: run ``bash -c script`` with ``kwargs`` as given (no policy check).

    Output is read through an attach made before start (the ops kwargs disable the log
    driver). The container carries our labels, so ``no_leaks`` still watches it, and is
    removed in ``finally``.
    """
    ct = client.containers.create(
        DEFAULT_IMAGE, entrypoint=["/bin/bash", "-c", script], command=[], **kwargs
    )
    try:
        stream = ct.attach(stdout=True, stderr=True, stream=True, logs=False)
        chunks: list[bytes] = []
        pump = threading.Thread(target=lambda: chunks.extend(stream), daemon=True)
        ct.start()
        pump.start()
        code = int(ct.wait(timeout=timeout).get("StatusCode", -1))
        pump.join(5)
        return code, b"".join(chunks).decode("utf-8", "replace")
    finally:
        ct.remove(force=True)


def bridge_gateway(client: Any) -> str:
    """This host's own address on the default docker bridge (e.g. 172.17.0.1).

    The default bridge's IPAM config often has no "Gateway", so the address is read from
    the bridge interface itself (SIOCGIFADDR).
    """
    import fcntl
    import struct

    attrs = client.networks.get("bridge").attrs
    for config in attrs["IPAM"].get("Config") or []:
        if ":" not in config.get("Gateway", ":"):
            return str(config["Gateway"])
    name = attrs["Options"].get("com.docker.network.bridge.name", "docker0")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        packed = fcntl.ioctl(s.fileno(), 0x8915, struct.pack("256s", name.encode()[:15]))
    return socket.inet_ntoa(packed[20:24])


class Listener:
    """A TCP listener on one local address that counts the connections it accepts."""

    def __init__(self, host: str):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.host, self.port = host, self.sock.getsockname()[1]
        self.connections = 0
        self.received = b""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            with conn:
                conn.settimeout(1)
                with contextlib.suppress(OSError):
                    self.received += conn.recv(1024)

    @contextlib.contextmanager
    def running(self) -> Iterator[Listener]:
        self._thread.start()
        try:
            yield self
        finally:
            time.sleep(0.3)  # let a late connection land before we count
            self._stop.set()
            self._thread.join(2)
            self.sock.close()


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` exists (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            return "\nState:\tZ" not in f.read()
    except OSError:
        return False


def own_pid() -> str:
    """This test process's PID, as the ownership label records it."""
    return str(os.getpid())
