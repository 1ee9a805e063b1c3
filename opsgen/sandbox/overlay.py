"""A fast observer for a local overlay2 engine: read the container's layers on the host.

Asking the engine for each changed path (``get_archive``) costs a chrooted helper process
per call, and ``container.diff()`` costs a walk of its own: together several times the
price of the run itself. When the engine is on this host, uses overlay2 and we may read its
directories (root), the same facts are on disk: the upper directory holds exactly what the
run changed (whiteouts for deletions), the lower directories hold the image.

Read only after the container has stopped, so no process of the script can race us; links
are never followed (``lstat``, ``O_NOFOLLOW``); only regular files are opened. The engine
API observer (:mod:`opsgen.sandbox.observe`) stays the reference and the fallback, and a test
checks that both give the same report.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from opsgen.sandbox.models import FileMeta, FileType
from opsgen.sandbox.observe import (
    NET_DIR,
    Budget,
    State,
    content_limit,
    is_noise,
    net_files,
)
from opsgen.sandbox.tarstream import CONTENT_LIMIT, Observed

__all__ = ["OverlayObserver", "overlay_observer"]

_OPAQUE = ("trusted.overlay.opaque", "user.overlay.opaque")


def overlay_observer(container: Any) -> OverlayObserver | None:
    """An observer for ``container`` when its layers are readable here, else None."""
    if os.environ.get("OPSGEN_OBSERVE", "auto") == "api":
        return None
    driver = (container.attrs or {}).get("GraphDriver") or {}
    data = driver.get("Data") or {}
    if driver.get("Name") != "overlay2" or not data.get("UpperDir") or not data.get("LowerDir"):
        return None
    upper = Path(data["UpperDir"])
    lowers = [Path(p) for p in str(data["LowerDir"]).split(":") if p]
    if not all(os.access(p, os.R_OK | os.X_OK) for p in (upper, *lowers)):
        return None
    return OverlayObserver(upper, lowers)


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _is_opaque(path: Path) -> bool:
    for name in _OPAQUE:
        try:
            if os.getxattr(path, name, follow_symlinks=False) == b"y":
                return True
        except OSError:
            continue
    return False


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except OSError:
        return None


_TYPES: tuple[tuple[Callable[[int], bool], FileType], ...] = (
    (stat.S_ISREG, "file"),
    (stat.S_ISDIR, "dir"),
    (stat.S_ISLNK, "symlink"),
    (stat.S_ISFIFO, "fifo"),
    (stat.S_ISCHR, "device"),
    (stat.S_ISBLK, "device"),
)


def _ftype(mode: int) -> FileType:
    for test, name in _TYPES:
        if test(mode):
            return name
    return "other"


def read_host_path(path: Path, limit: int = CONTENT_LIMIT) -> Observed | None:
    """Describe one path of a layer without following links; read regular files only."""
    st = _lstat(path)
    if st is None or _is_whiteout(st):
        return None
    ftype = _ftype(st.st_mode)
    digest, md5, content, link = "", "", None, ""
    if ftype == "file":
        h, kept = hashlib.sha256(), bytearray()
        # md5 too: dpkg's md5sums say whether a packaged file is as shipped (issue 13).
        m = hashlib.md5(usedforsecurity=False)
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as f:
            while chunk := f.read(64 * 1024):
                h.update(chunk)
                m.update(chunk)
                if len(kept) <= limit:
                    kept += chunk
        digest, md5 = h.hexdigest(), m.hexdigest()
        content = bytes(kept) if len(kept) <= limit else None
    elif ftype == "symlink":
        link = os.readlink(path)
    meta = FileMeta(
        ftype=ftype,
        mode=stat.S_IMODE(st.st_mode),
        uid=st.st_uid,
        gid=st.st_gid,
        size=st.st_size if ftype == "file" else 0,
        sha256=digest,
        link_target=link,
        md5=md5,
    )
    return Observed(meta, content)


class OverlayObserver:
    """Changed paths and both sides of each, from an overlay2 upper dir and its lowers."""

    def __init__(self, upper: Path, lowers: list[Path]):
        self.upper, self.lowers = upper, lowers

    def _host(self, root: Path, path: str) -> Path:
        return root / path.lstrip("/")

    def lower_path(self, path: str) -> Path | None:
        """Where the image's version of ``path`` lives on the host, or None if absent."""
        parts = path.strip("/").split("/")
        for layer in self.lowers:
            hidden_below = False
            for depth in range(1, len(parts) + 1):
                here = layer.joinpath(*parts[:depth])
                st = _lstat(here)
                if st is None:
                    continue
                if _is_whiteout(st):
                    return None
                if depth < len(parts) and stat.S_ISDIR(st.st_mode) and _is_opaque(here):
                    hidden_below = True
            candidate = layer.joinpath(*parts)
            st = _lstat(candidate)
            if st is not None:
                return None if _is_whiteout(st) else candidate
            if hidden_below:
                return None
        return None

    def _walk(self, lang: str, budget: Budget | None) -> Iterator[tuple[str, tuple[str, bool]]]:
        """(container path, (host path, is a directory)) of every upper entry, lazily.

        Names only (``d_type``): no ``lstat`` until an entry is selected, so counting a
        flood of files costs one ``getdents`` per block of names. Links are not followed.
        A directory that cannot be listed (a path past ``PATH_MAX``) marks the walk as
        incomplete in ``budget``, so the report says there may be more.
        """
        stack = [("", str(self.upper))]
        while stack:
            rel, host = stack.pop()
            try:
                with os.scandir(host) as entries:
                    found = [(e.name, e.path, e.is_dir(follow_symlinks=False)) for e in entries]
            except OSError:
                if budget is not None:
                    budget.walk_stopped = True
                continue
            for name, path, is_dir in sorted(found):
                cpath = f"{rel}/{name}"
                if is_noise(cpath, lang):
                    continue
                yield cpath, (path, is_dir)
                if is_dir:
                    stack.append((cpath, path))

    def changes(self, lang: str, budget: Budget | None = None) -> dict[str, str]:
        """Like ``container.diff()``: path → ``A`` / ``C`` / ``D`` (those ``budget`` selects)."""
        entries = self._walk(lang, budget)
        selected = list(entries) if budget is None else budget.select(entries, lambda e: e[1])
        out: dict[str, str] = {}
        for path, (host, _) in selected:
            st = _lstat(Path(host))
            if st is None:
                continue
            if _is_whiteout(st):
                out[path] = "D"
                continue
            out[path] = "C" if self.lower_path(path) is not None else "A"
            if stat.S_ISDIR(st.st_mode) and out[path] == "C" and _is_opaque(Path(host)):
                self._opaque_deletions(path, out, lang)
        if budget is not None and len(out) > budget.entries:
            out = dict(budget.select(sorted(out.items())))  # opaque deletions added many
        return out

    def _opaque_deletions(self, path: str, out: dict[str, str], lang: str) -> None:
        lower = self.lower_path(path)
        if lower is None or not lower.is_dir():
            return
        present = set(os.listdir(self._host(self.upper, path)))
        for name in os.listdir(lower):
            if name not in present and not is_noise(f"{path}/{name}", lang):
                out[f"{path}/{name}"] = "D"

    def after(self, changes: dict[str, str], budget: Budget | None = None) -> State:
        """The state after the run of every changed path (what ``budget`` lets us read).

        The analysis files are read first, so a flood of big files cannot spend the read
        budget before them; a path the budget refuses is left out (and counted in it).
        """
        state: State = {}
        for p in sorted(changes, key=Budget.priority):
            if changes[p] == "D":
                state[p] = None
                continue
            host = self._host(self.upper, p)
            if budget is not None:
                st = _lstat(host)
                size = st.st_size if st is not None and stat.S_ISREG(st.st_mode) else 0
                if not budget.take_read(p, size):
                    continue
            state[p] = read_host_path(host, content_limit(p))
        return net_files(state, self._net_saved)

    def _net_saved(self) -> State:
        """The runner's saved /etc/hosts, hostname, resolv.conf (see :func:`net_files`)."""
        base = self._host(self.upper, NET_DIR)
        out: State = {}
        for name in ("hosts", "hostname", "resolv.conf"):
            for leaf in (name, f"{name}.absent"):
                found = read_host_path(base / leaf)
                if found is not None and not base.is_symlink():
                    out[f"{NET_DIR}/{leaf}"] = found
        return out

    def before(self, paths: list[str]) -> State:
        """The image's version of ``paths``."""
        state: State = {}
        for p in paths:
            lower = self.lower_path(p)
            state[p] = read_host_path(lower, content_limit(p)) if lower else None
        return state

    def records(self) -> dict[str, bytes]:
        """Our shims' records from ``/var/lib/opsgen`` (upper layer only: the run wrote them)."""
        base = self._host(self.upper, "/var/lib/opsgen")
        out: dict[str, bytes] = {}
        if not base.is_dir() or base.is_symlink():
            return out
        for entry in base.iterdir():
            obs = read_host_path(entry, 1 << 20)
            if obs is not None and obs.content is not None:
                out[entry.name] = obs.content
        return out
