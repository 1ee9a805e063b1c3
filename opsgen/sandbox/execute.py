"""Running the container once: output cap, deadline, disk quota and process-limit watch.

The deadline is ours, on the host, and ends in SIGKILL to the container; a client-side
timeout alone would leave the script running (security.md §3.5). Output is read through an
attach made before start and capped by us, not by the engine's log driver (§3.10).

The disk quota is polled (there is no hard cap on overlay2 over ext4, §3.4): allocated
blocks and inodes of the writable layer where the host can walk it
(:mod:`opsgen.sandbox.usage`), else the engine's apparent ``SizeRw``. ``fallocate`` fills
instantly, between two polls, so the layer is measured once more after the container
stopped, and a run over the quota then is reported as stopped for ``disk``, never passed.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docker.errors import APIError, NotFound
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import ReadTimeout

from opsgen.sandbox.models import RunResult
from opsgen.sandbox.policy import SandboxPolicy
from opsgen.sandbox.usage import Usage, measure

__all__ = ["execute"]

_POLL_S = 0.5
_PIDS_GRACE_S = 2.0
#: A walk of the layer may take this long while the script runs, and at most this share of
#: the time between two walks (the next one waits ``_WALK_SPACING`` times as long as the
#: last took): a layer of many files is polled less often instead of costing a host core.
_WALK_LIMIT_S = 2.0
_WALK_SPACING = 4.0
_MAX_DISK_POLL_S = 3.0
#: The walk after the container stopped: nothing changes any more, so it may take longer,
#: and it counts past the quota (the report gives the real size), up to this many times
#: the inode quota.
_FINAL_WALK_LIMIT_S = 20.0
_FINAL_INODES_FACTOR = 10
_NO_LIMIT = 1 << 62
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


def _size_rw(client: Any, cid: str) -> int | None:
    try:
        rows = client.api.containers(all=True, size=True, filters={"id": cid})
    except APIError:
        return None
    return int(rows[0].get("SizeRw") or 0) if rows else None


@dataclass(frozen=True, slots=True)
class _DiskVerdict:
    """A measurement and whether it is over the quota."""

    usage: Usage | None
    over: bool


class _Disk:
    """The writable layer's usage against the quota: walked on the host, or ``SizeRw``."""

    def __init__(self, client: Any, container: Any, policy: SandboxPolicy, layer: Path | None):
        self.client, self.container, self.policy, self.layer = client, container, policy, layer
        self.accounting = "blocks" if layer is not None else "apparent"
        self.next_poll = 0.0

    def _over(self, usage: Usage | None, *, final: bool) -> bool:
        if usage is None:
            return False
        if usage.stopped == "depth" or (final and usage.stopped in ("time", "quota")):
            return True  # fail closed: what could not be counted may be anything
        return usage.nbytes > self.policy.disk_quota_bytes or (
            usage.inodes is not None and usage.inodes > self.policy.inode_quota
        )

    def _measure(self, time_limit_s: float, *, full: bool = False) -> Usage | None:
        """One measurement; a poll stops at the quota, a ``full`` one counts on (bounded)."""
        if self.layer is not None:
            return measure(
                self.layer,
                max_bytes=_NO_LIMIT if full else self.policy.disk_quota_bytes,
                max_inodes=self.policy.inode_quota * (_FINAL_INODES_FACTOR if full else 1),
                time_limit_s=time_limit_s,
            )
        size = _size_rw(self.client, str(self.container.id))
        return None if size is None else Usage(size, None)

    def poll(self, now: float, deadline: float) -> bool:
        """Measure if it is time to; True when over the quota.

        The walk ends by the run's ``deadline``, so it never delays the timeout kill.
        """
        if now < self.next_poll:
            return False
        usage = self._measure(max(0.05, min(_WALK_LIMIT_S, deadline - now)))
        took = time.monotonic() - now
        self.next_poll = time.monotonic() + min(
            _MAX_DISK_POLL_S, max(_POLL_S, _WALK_SPACING * took)
        )
        return self._over(usage, final=False)

    def final(self) -> _DiskVerdict:
        """The measurement after the container stopped (catches a burst between polls)."""
        usage = self._measure(_FINAL_WALK_LIMIT_S, full=True)
        if usage is None and self.layer is not None:  # the layer went away: ask the engine
            size = _size_rw(self.client, str(self.container.id))
            usage = None if size is None else Usage(size, None)
            self.accounting = "apparent"
        return _DiskVerdict(usage, self._over(usage, final=True))


class _Watch:
    """The polling side: deadline, disk quota and a process table pinned at its limit."""

    def __init__(
        self,
        client: Any,
        container: Any,
        policy: SandboxPolicy,
        started: float,
        layer: Path | None,
    ):
        self.policy = policy
        self.deadline = started + policy.timeout_s
        self.next_poll = started + _POLL_S
        self.pids_full_since: float | None = None
        self.pids_file = _cgroup_file(str(container.id), "pids.current")
        self.pids_seen_max = False
        self.disk = _Disk(client, container, policy, layer)
        self.disk.next_poll = started + _POLL_S

    def check(self, now: float) -> str | None:
        if now >= self.deadline:
            return "timeout"
        if now >= self.next_poll:
            self.next_poll = now + _POLL_S
            current = _read_int(self.pids_file)
            if current is not None and current >= self.policy.pids_limit:
                self.pids_seen_max = True
                self.pids_full_since = self.pids_full_since or now
                if now - self.pids_full_since >= _PIDS_GRACE_S:
                    return "pids"
            else:
                self.pids_full_since = None
        if self.disk.poll(now, self.deadline):
            return "disk"
        return None


def execute(
    client: Any, container: Any, policy: SandboxPolicy, *, layer: Path | None = None
) -> RunResult:
    """Start ``container`` (created, or stopped after an earlier run) and watch it to the end.

    Args:
        client, container: the engine and the created container.
        policy: the limits to enforce.
        layer: the container's upper directory when this host can walk it
            (:func:`opsgen.sandbox.usage.layer_dir`): the disk quota then counts allocated
            blocks and inodes; else the engine's apparent ``SizeRw``.
    """
    stream = container.attach(stdout=True, stderr=True, stream=True, logs=False, demux=True)
    pump = _Pump(stream, policy.output_cap_bytes)
    started = time.monotonic()
    container.start()
    pump.start()
    watch = _Watch(client, container, policy, started, layer)
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
    disk = watch.disk.final()
    container.reload()
    state = container.attrs.get("State", {})
    if state.get("OOMKilled") and stop_reason is None:
        stop_reason = "oom"
    if disk.over and stop_reason is None:
        stop_reason = "disk"  # it exited before a poll saw it: over the quota all the same
    stdout = bytes(pump.out).decode("utf-8", "replace")
    stderr = bytes(pump.err).decode("utf-8", "replace")
    limits = _limits_hit(stop_reason, exit_code, stderr, watch.pids_seen_max, disk.over)
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
        disk_bytes=disk.usage.nbytes if disk.usage else None,
        disk_inodes=disk.usage.inodes if disk.usage else None,
        disk_accounting=watch.disk.accounting,
    )


def _limits_hit(
    reason: str | None, exit_code: int, stderr: str, pids_max: bool, disk_over: bool
) -> tuple[str, ...]:
    hit = set()
    if reason:
        hit.add(reason)
    if disk_over:
        hit.add("disk")
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
