"""Running the container once: output cap, deadline, disk quota and process-limit watch.

The deadline is ours, on the host, and ends in SIGKILL to the container; a client-side
timeout alone would leave the script running (security.md §3.5). Output is read through an
attach made before start and capped by us, not by the engine's log driver (§3.10).
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from pathlib import Path
from typing import Any

from docker.errors import APIError, NotFound
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import ReadTimeout

from opsgen.sandbox.models import RunResult
from opsgen.sandbox.policy import SandboxPolicy

__all__ = ["execute"]

_POLL_S = 0.5
_PIDS_GRACE_S = 2.0
_DISK_EVIDENCE = re.compile(r"File size limit exceeded|No space left on device|Disk quota exceeded")


class _Pump(threading.Thread):
    """Drains the attach stream into two byte buffers, each capped."""

    def __init__(self, stream: Any, cap: int):
        super().__init__(daemon=True)
        self.stream, self.cap = stream, cap
        self.out, self.err = bytearray(), bytearray()
        self.truncated = {"stdout": False, "stderr": False}
        self.over_cap = threading.Event()

    def _take(self, buf: bytearray, chunk: bytes | None, name: str) -> None:
        if not chunk:
            return
        room = self.cap - len(buf)
        if room > 0:
            buf += chunk[:room]
        if len(chunk) > room:
            self.truncated[name] = True
            self.over_cap.set()

    def run(self) -> None:
        with contextlib.suppress(Exception):  # a killed container may cut the stream mid-frame
            for out, err in self.stream:
                self._take(self.out, out, "stdout")
                self._take(self.err, err, "stderr")


def _cgroup_file(cid: str, name: str) -> Path | None:
    for cand in (
        f"/sys/fs/cgroup/pids/docker/{cid}/{name}",
        f"/sys/fs/cgroup/pids/system.slice/docker-{cid}.scope/{name}",
        f"/sys/fs/cgroup/system.slice/docker-{cid}.scope/{name}",
        f"/sys/fs/cgroup/docker/{cid}/{name}",
    ):
        p = Path(cand)
        if p.exists():
            return p
    return None


def _read_int(path: Path | None) -> int | None:
    if path is None:
        return None
    try:
        return int(path.read_text().split()[-1])
    except (OSError, ValueError, IndexError):
        return None


def _size_rw(client: Any, cid: str) -> int:
    try:
        rows = client.api.containers(all=True, size=True, filters={"id": cid})
    except APIError:
        return 0
    return int(rows[0].get("SizeRw") or 0) if rows else 0


class _Watch:
    """The polling side: deadline, disk quota and a process table pinned at its limit."""

    def __init__(self, client: Any, container: Any, policy: SandboxPolicy, started: float):
        self.client, self.container, self.policy = client, container, policy
        self.deadline = started + policy.timeout_s
        self.next_poll = started + _POLL_S
        self.pids_full_since: float | None = None
        self.pids_file = _cgroup_file(str(container.id), "pids.current")
        self.pids_seen_max = False

    def check(self, now: float) -> str | None:
        if now >= self.deadline:
            return "timeout"
        if now < self.next_poll:
            return None
        self.next_poll = now + _POLL_S
        current = _read_int(self.pids_file)
        if current is not None and current >= self.policy.pids_limit:
            self.pids_seen_max = True
            self.pids_full_since = self.pids_full_since or now
            if now - self.pids_full_since >= _PIDS_GRACE_S:
                return "pids"
        else:
            self.pids_full_since = None
        if _size_rw(self.client, str(self.container.id)) > self.policy.disk_quota_bytes:
            return "disk"
        return None


def execute(client: Any, container: Any, policy: SandboxPolicy) -> RunResult:
    """Start ``container`` (created, or stopped after an earlier run) and watch it to the end."""
    stream = container.attach(stdout=True, stderr=True, stream=True, logs=False, demux=True)
    pump = _Pump(stream, policy.output_cap_bytes)
    started = time.monotonic()
    container.start()
    pump.start()
    watch = _Watch(client, container, policy, started)
    stop_reason: str | None = None
    while pump.is_alive():
        pump.join(0.05)
        if pump.over_cap.is_set():
            stop_reason = "output"
        else:
            stop_reason = watch.check(time.monotonic())
        if stop_reason:
            _kill(container)
            pump.join(10)
            break
    exit_code = _wait(container)
    duration = time.monotonic() - started
    container.reload()
    state = container.attrs.get("State", {})
    if state.get("OOMKilled") and stop_reason is None:
        stop_reason = "oom"
    stdout = bytes(pump.out).decode("utf-8", "replace")
    stderr = bytes(pump.err).decode("utf-8", "replace")
    limits = _limits_hit(stop_reason, exit_code, stderr, watch.pids_seen_max)
    if stop_reason == "timeout" and watch.pids_seen_max:
        stop_reason = "pids"
    status = "killed" if stop_reason else ("passed" if exit_code == 0 else "failed")
    return RunResult(
        exit_code=exit_code,
        status=status,  # type: ignore[arg-type]
        duration_s=round(duration, 3),
        stdout=stdout,
        stderr=stderr,
        stop_reason=stop_reason,  # type: ignore[arg-type]
        stdout_truncated=pump.truncated["stdout"],
        stderr_truncated=pump.truncated["stderr"],
        limits_hit=limits,
    )


def _limits_hit(reason: str | None, exit_code: int, stderr: str, pids_max: bool) -> tuple[str, ...]:
    hit = set()
    if reason:
        hit.add(reason)
    if exit_code == 128 + 25 or _DISK_EVIDENCE.search(stderr):  # SIGXFSZ, ENOSPC
        hit.add("disk")
    if pids_max or "fork: retry" in stderr or "Resource temporarily unavailable" in stderr:
        hit.add("pids")
    return tuple(sorted(hit))


def _kill(container: Any) -> None:
    with contextlib.suppress(NotFound, APIError):
        container.kill()


def _wait(container: Any) -> int:
    for _ in range(3):
        try:
            return int(container.wait(timeout=30).get("StatusCode", -1))
        except (RequestsConnectionError, ReadTimeout):
            _kill(container)
    return -1
