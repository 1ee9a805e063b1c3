"""What a run changed, read from outside the container: the engine's diff plus tar reads.

The engine's ``container.diff()`` lists changed paths from the overlay's upper layer, which
the script cannot forge; the bytes and metadata are then read through ``get_archive`` after
the container has stopped. The "before" side comes from a never-started container of the
same image (cached on the host per image id, since images are immutable).

What the host spends on a diff is bounded (:class:`Budget`): a script that makes 150k
files cost 63 s and 405 MB on the host for a 150,010-line report (issue 14). At most
:data:`DETAIL_LIMIT` changed entries are read and listed, at most :data:`PER_DIR_LIMIT` of
them from one directory, within a byte and a time budget; the rest is counted per top-level
folder and the report says so (``SystemDiff.summarised``). The files the analysis needs
(accounts, packages, cron) come first, so a flood elsewhere cannot push them out.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import json
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

from opsgen.cachedir import cache_dir
from opsgen.sandbox.models import FileMeta
from opsgen.sandbox.tarstream import CONTENT_LIMIT, Observed, read_tree

__all__ = [
    "DETAIL_LIMIT",
    "NET_DIR",
    "OWN_LINKS",
    "PER_DIR_LIMIT",
    "WALK_STOPPED",
    "ApiObserver",
    "Budget",
    "State",
    "changed_paths",
    "content_limit",
    "is_noise",
    "net_files",
    "observe_paths",
    "pristine_paths",
]

#: path -> what is there now (None: absent).
State = dict[str, Observed | None]

_KINDS = {0: "C", 1: "A", 2: "D"}
#: Our own bundle and records, and what the engine itself adds for --init.
_OURS = ("/.opsgen", "/var/lib/opsgen")
_ENGINE = {"/usr/sbin/docker-init", "/sbin/docker-init", "/dev", "/proc", "/sys"}
_ANSIBLE_NOISE = ("/root/.ansible",)
#: Where the runner keeps /etc/hosts, hostname, resolv.conf between starts
#: (:mod:`opsgen.sandbox.netfiles`).
NET_DIR = "/var/lib/opsgen/net"
_NET_SAVED = {f"/etc/{n}": f"{NET_DIR}/{n}" for n in ("hosts", "hostname", "resolv.conf")}
#: Links the runner makes for the length of a start and removes on exit (``shims/run``):
#: our systemctl first on sudo's secure_path and Ansible's service module's search path.
OWN_LINKS = {"/usr/sbin/systemctl": "/.opsgen/bin/systemctl"}


def net_files(state: State, read_saved: Callable[[], Mapping[str, Observed | None]]) -> State:
    """``state`` with /etc/hosts, hostname and resolv.conf as the script left them.

    The runner puts them back as links to the engine's mounts on exit, after saving each
    in ``/var/lib/opsgen/net`` (``<name>.absent`` when the script removed it): where a
    path is that link, its state is the saved copy. Where it is not (a run killed before
    its exit), the path itself is what the script left. The runner's own links
    (:data:`OWN_LINKS`) a killed run left are not the script's: absent, as in the image.
    """
    for p, target in OWN_LINKS.items():
        o = state.get(p)
        if o is not None and o.meta.ftype == "symlink" and o.meta.link_target == target:
            state[p] = None  # the runner's link, left by a run killed before its exit
    linked = [
        p
        for p in _NET_SAVED
        if (o := state.get(p)) is not None
        and o.meta.ftype == "symlink"
        and o.meta.link_target == "/.opsgen/engine/" + p.rsplit("/", 1)[1]
    ]
    if not linked:
        return state
    saved = read_saved()
    for p in linked:
        if _NET_SAVED[p] in saved:
            state[p] = saved[_NET_SAVED[p]]
        elif _NET_SAVED[p] + ".absent" in saved:
            state[p] = None
    return state
#: Files whose whole content the analysis needs even when large.
BIG_CONTENT = {
    "/var/lib/dpkg/status": 16 << 20,
    "/etc/passwd": 4 << 20,
    "/etc/group": 4 << 20,
    "/etc/shadow": 4 << 20,
    "/etc/gshadow": 4 << 20,
}


#: Changed entries read and listed in detail per collection; the rest are counted.
DETAIL_LIMIT = 5000
#: Of those, at most this many from one directory, so one flood cannot hide the rest.
PER_DIR_LIMIT = 1000
#: Bytes of file content read on the host per collection (hashing, diffs): sparse files
#: claim up to the file-size cap each without using disk, so the quota alone is no bound.
READ_LIMIT_BYTES = 1 << 30
#: Entries looked at in all; past this, or past the time limit, the walk stops.
SCAN_LIMIT = 1_000_000
COLLECT_TIME_S = 60.0
#: Read first and never left out: what the account, package and cron analysis reads.
ALWAYS_READ = frozenset(
    {*BIG_CONTENT, "/etc/crontab", "/etc/anacrontab", "/etc/sudoers", "/etc/subuid", "/etc/subgid"}
)
#: Listed before other entries (but within the per-directory limit): cron jobs, sudo rules,
#: SSH keys and settings, units, profile scripts: what a backdoor would change.
WATCHED = (
    "/etc/cron.d",
    "/etc/cron.hourly",
    "/etc/cron.daily",
    "/etc/cron.weekly",
    "/etc/cron.monthly",
    "/var/spool/cron",
    "/etc/sudoers.d",
    "/root/.ssh",
    "/etc/ssh",
    "/etc/systemd",
    "/etc/profile.d",
    "/etc/pam.d",
    "/etc/security",
    "/etc/ld.so.preload",
)
_WATCHED_SET = frozenset(WATCHED)
_WATCHED_BELOW = tuple(w + "/" for w in WATCHED)
#: The ``summarised`` folder that says the walk stopped at its bound (more may exist).
WALK_STOPPED = "…"
_T = TypeVar("_T")


def _top(path: str) -> str:
    """The top-level folder a path is counted under in a summary (``/var``; ``/`` for files)."""
    head = path.lstrip("/").split("/", 1)
    return "/" + head[0] if len(head) > 1 else "/"


class Budget:
    """What one collection of a run's changes may cost the host, and what it left out.

    Shared by the threads that read tar streams, hence the lock. ``select`` picks the
    entries to read; ``take_read`` is asked before each file's bytes are read; anything
    refused is counted by ``leave_out`` under its top-level folder.
    """

    def __init__(
        self,
        *,
        entries: int = DETAIL_LIMIT,
        per_dir: int = PER_DIR_LIMIT,
        read_bytes: int = READ_LIMIT_BYTES,
        scan: int = SCAN_LIMIT,
        time_s: float = COLLECT_TIME_S,
    ):
        self.entries, self.per_dir, self.scan = entries, per_dir, scan
        self.read_left = read_bytes
        self.deadline = time.monotonic() + time_s
        self.summary: Counter[str] = Counter()
        #: Selected paths whose bytes were not read (left out after all).
        self.refused: set[str] = set()
        self.walk_stopped = False
        self._lock = threading.Lock()

    @staticmethod
    def priority(path: str) -> tuple[int, int, str]:
        """Sort key: what the analysis reads, then watched places, then shallow before deep."""
        watched = path in _WATCHED_SET or path.startswith(_WATCHED_BELOW)
        rank = 0 if path in ALWAYS_READ else 1 if watched else 2
        return (rank, path.count("/"), path)

    def over_time(self) -> bool:
        """True once the collection's time is spent."""
        return time.monotonic() > self.deadline

    def leave_out(self, path: str, n: int = 1) -> None:
        """Count ``path`` as changed but not read or listed."""
        with self._lock:
            self.summary[_top(path)] += n

    def take_read(self, path: str, size: int) -> bool:
        """Reserve ``size`` bytes of reading for ``path``; False (and counted) when spent."""
        with self._lock:
            if path in ALWAYS_READ and size <= BIG_CONTENT.get(path, size):
                return True
            if size > self.read_left or time.monotonic() > self.deadline:
                self.summary[_top(path)] += 1
                self.refused.add(path)
                return False
            self.read_left -= size
            return True

    def select(
        self,
        entries: Iterable[tuple[str, _T]],
        maybe_dir: Callable[[_T], bool] | None = None,
    ) -> list[tuple[str, _T]]:
        """The changed entries to read, by :meth:`priority`, within the limits; count the rest.

        ``entries`` may be a lazy walk (parents before their children): past :attr:`scan`
        entries or the time limit it is not consumed further and :attr:`walk_stopped` is
        set. What is below a left-out directory is left out too (a summarised subtree, not
        a scatter of single reads), except the watched places and the analysis' files.
        ``maybe_dir`` says which items can be directories (default: all).
        """
        per_parent: Counter[str] = Counter()
        cut: set[str] = set()
        keep: list[tuple[str, _T]] = []

        def drop(path: str, item: _T) -> None:
            self.leave_out(path)
            if maybe_dir is None or maybe_dir(item):
                cut.add(path)

        for seen, (path, item) in enumerate(entries, 1):
            if seen > self.scan or (seen % 1024 == 0 and self.over_time()):
                self.walk_stopped = True
                break
            rank = self.priority(path)[0]
            if rank == 0:
                keep.append((path, item))
                continue
            parent = path.rsplit("/", 1)[0]
            if (rank == 2 and parent in cut) or per_parent[parent] >= self.per_dir:
                drop(path, item)
                continue
            per_parent[parent] += 1
            keep.append((path, item))
        if len(keep) > self.entries:
            keep.sort(key=lambda e: self.priority(e[0]))
            kept: list[tuple[str, _T]] = []
            for path, item in keep:  # parents sort before their children (depth)
                rank = self.priority(path)[0]
                if len(kept) >= self.entries or (rank == 2 and path.rsplit("/", 1)[0] in cut):
                    drop(path, item)
                else:
                    kept.append((path, item))
            keep = kept
        return keep

    def summarised(self) -> tuple[tuple[str, int], ...]:
        """``(folder, count)`` of what was left out, for ``SystemDiff.summarised``."""
        rows = sorted((d, n) for d, n in self.summary.items() if n)
        if self.walk_stopped:
            rows.append((WALK_STOPPED, 0))
        return tuple(rows)


def _under(path: str, roots: Iterable[str]) -> bool:
    return any(path == r or path.startswith(r + "/") for r in roots)


def is_noise(path: str, lang: str) -> bool:
    """Paths that are ours (bundle, shim records) or the engine's, not the script's doing."""
    noise = _OURS + (_ANSIBLE_NOISE if lang == "ansible" else ())
    return path in _ENGINE or _under(path, noise)


def changed_paths(container: Any, lang: str, budget: Budget | None = None) -> dict[str, str]:
    """Changed paths with their kind (``A`` added, ``C`` changed, ``D`` deleted).

    With a ``budget``, only the entries it selects; the rest are counted in it.
    """

    def entries() -> Iterator[tuple[str, str]]:
        for entry in container.diff() or []:
            path = str(entry["Path"])
            if not is_noise(path, lang):
                yield path, _KINDS.get(int(entry["Kind"]), "C")

    if budget is None:
        return dict(entries())
    return dict(budget.select(entries()))


def _plan(changes: dict[str, str]) -> list[tuple[str, bool]]:
    """(path, dir_header_only) reads that cover every added/changed path once.

    An added directory is read whole, which covers the added paths below it; a changed
    path is read alone, and only its header when it is a directory.
    """
    added = sorted(p for p, k in changes.items() if k == "A")
    tops: list[str] = []
    for p in added:
        if not tops or not p.startswith(tops[-1].rstrip("/") + "/"):
            tops.append(p)
    plan = [(p, False) for p in tops]
    plan += [(p, True) for p, k in sorted(changes.items()) if k == "C"]
    return plan


#: dpkg's file lists of a package: read whole (a big package's md5sums passes the usual
#: limit), so that its files can be summarised under it (:mod:`opsgen.sandbox.dpkgfiles`).
DPKG_INFO = "/var/lib/dpkg/info/"
DPKG_LISTS = (".list", ".md5sums", ".conffiles")
_DPKG_LIST_LIMIT = 8 << 20


def content_limit(path: str) -> int:
    """How many bytes of ``path``'s content a read keeps (its hash covers all of it)."""
    if path.startswith(DPKG_INFO) and path.endswith(DPKG_LISTS):
        return _DPKG_LIST_LIMIT
    return BIG_CONTENT.get(path, CONTENT_LIMIT)


def _below(ordered: list[str], top: str) -> set[str]:
    """``top`` and the paths under it, from a sorted list (a contiguous range of it)."""
    base = top.rstrip("/")
    start = bisect.bisect_left(ordered, base + "/")
    end = bisect.bisect_left(ordered, base + "0")  # "0" sorts right after "/"
    found = set(ordered[start:end])
    i = bisect.bisect_left(ordered, top)
    if i < len(ordered) and ordered[i] == top:
        found.add(top)
    return found


def _read_all(
    container: Any,
    plan: list[tuple[str, bool]],
    budget: Budget | None = None,
    wanted: Iterable[str] | None = None,
) -> dict[str, Observed]:
    ordered = None if wanted is None else sorted(wanted)

    def one(item: tuple[str, bool]) -> dict[str, Observed]:
        path, dir_header_only = item
        return read_tree(
            container,
            path,
            dir_header_only=dir_header_only,
            content_limit=content_limit(path),
            budget=budget,
            wanted=None if ordered is None else _below(ordered, path),
        )

    found: dict[str, Observed] = {}
    with ThreadPoolExecutor(max_workers=4) as pool:
        for part in pool.map(one, plan):
            found.update(part)
    return found


def observe_paths(container: Any, changes: dict[str, str], budget: Budget | None = None) -> State:
    """The state after a run of every path in ``changes`` (deleted ones as None).

    With a ``budget``, a path whose read it refused is left out of the state (it is counted
    in the budget), and nothing but the paths in ``changes`` is read from a directory.
    """
    if budget is None:
        found = _read_all(container, _plan(changes))
        return {p: (None if k == "D" else found.get(p)) for p, k in changes.items()}
    found = _read_all(container, _plan(changes), budget, set(changes))
    return {
        p: (None if k == "D" else found.get(p))
        for p, k in changes.items()
        if p not in budget.refused
    }


def pristine_paths(client: Any, image_id: str, paths: Iterable[str], make_container: Any) -> State:
    """The image's own version of ``paths``, from the host cache or a never-started container.

    Args:
        client: docker client (unused when everything is cached).
        image_id: the immutable image id, the cache key.
        paths: absolute paths.
        make_container: callable returning a created (not started) container of the image;
            the caller removes it. Only called on a cache miss.
    """
    cache = _cache_dir(image_id)
    state: State = {}
    missing: list[str] = []
    for p in sorted(set(paths)):
        hit = _cache_get(cache, p)
        if hit is _MISS:
            missing.append(p)
        else:
            state[p] = hit  # type: ignore[assignment]
    if missing:
        container = make_container()
        try:
            found = _read_all(container, [(p, True) for p in missing])
        finally:
            container.remove(force=True)
        for p in missing:
            state[p] = found.get(p)
            _cache_put(cache, p, state[p])
    return state


_MISS = object()


class ApiObserver:
    """The reference observer: everything through the engine API, works with any engine."""

    def __init__(self, client: Any, container: Any, image_id: str, make_pristine: Any):
        self.client, self.container = client, container
        self.image_id, self.make_pristine = image_id, make_pristine

    def changes(self, lang: str, budget: Budget | None = None) -> dict[str, str]:
        """Changed paths, from ``container.diff()`` (those ``budget`` selects)."""
        return changed_paths(self.container, lang, budget)

    def after(self, changes: dict[str, str], budget: Budget | None = None) -> State:
        """The state after the run, via ``get_archive`` (what ``budget`` lets us read)."""
        state = observe_paths(self.container, changes, budget)
        return net_files(state, lambda: read_tree(self.container, NET_DIR))

    def before(self, paths: list[str]) -> State:
        """The image's state, via a never-started container (cached per image)."""
        return pristine_paths(self.client, self.image_id, paths, self.make_pristine)

    def records(self) -> dict[str, bytes]:
        """Our shims' records from ``/var/lib/opsgen`` (not its folders)."""
        found = read_tree(self.container, "/var/lib/opsgen", content_limit=1 << 20)
        return {
            p.rsplit("/", 1)[-1]: o.content
            for p, o in found.items()
            if o.content is not None and p.count("/") == 4
        }


def _cache_dir(image_id: str) -> Path | None:
    d = cache_dir("pristine", image_id.replace("sha256:", "")[:32])
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return d


def _key(path: str) -> str:
    return hashlib.sha256(path.encode("utf-8", "surrogateescape")).hexdigest()


def _cache_get(cache: Path | None, path: str) -> Observed | object | None:
    if cache is None:
        return _MISS
    f = cache / _key(path)
    try:
        data = json.loads(f.read_text())
    except (OSError, ValueError):
        return _MISS
    if data.get("path") != path:
        return _MISS
    if data.get("absent"):
        return None
    meta = data.get("meta") or {}
    if meta.get("ftype") == "file" and not meta.get("md5"):
        return _MISS  # cached before FileMeta had md5 (issue 13): read it again
    content = base64.b64decode(data["content"]) if data.get("content") is not None else None
    return Observed(FileMeta(**meta), content)


def _cache_put(cache: Path | None, path: str, obs: Observed | None) -> None:
    if cache is None:
        return
    if obs is None:
        data: dict[str, Any] = {"path": path, "absent": True}
    else:
        data = {
            "path": path,
            "meta": asdict(obs.meta),
            "content": base64.b64encode(obs.content).decode() if obs.content is not None else None,
        }
    tmp = cache / (_key(path) + f".{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(data))
        tmp.replace(cache / _key(path))
    except OSError:
        tmp.unlink(missing_ok=True)
