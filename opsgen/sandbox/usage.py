"""How much disk a container's writable layer really holds: allocated blocks and inodes.

The engine's ``SizeRw`` sums apparent sizes. That misses space reserved with
``fallocate --keep-size`` (blocks, size 0; RLIMIT_FSIZE does not stop it either) and the
4 KiB block under every tiny file, so 1.2 GB of real blocks passed a 512 MiB quota (issue
14). On a local overlay2 engine the layer is a directory on this host, and walking it
gives the truth: ``st_blocks`` and one inode per entry.

The walk runs while the script is running, so the tree changes under it. Nothing is ever
followed: every directory is opened relative to its parent's descriptor with
``O_NOFOLLOW`` and must be the same inode that was listed (a directory swapped for a link
to ``/`` between the listing and the open is skipped), and only metadata is read. The walk
stops as soon as the quota is passed, so its cost is bounded by the quota itself, and by a
time limit.
"""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from opsgen.sandbox.upperdir import engine_layer

__all__ = ["MAX_DEPTH", "Usage", "layer_dir", "measure"]

#: Directories deeper than this are not walked (each level holds a descriptor); a layer
#: that deep is treated as over the quota, since what is below could not be counted.
MAX_DEPTH = 200

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_TIME_CHECK_EVERY = 256

#: Why a walk ended before it had seen everything: ``quota`` (already over, no need to go
#: on), ``depth`` (a tree deeper than :data:`MAX_DEPTH`), ``time`` (its time limit).
Stopped = Literal["", "quota", "depth", "time"]


@dataclass(frozen=True, slots=True)
class Usage:
    """One measurement of a writable layer.

    ``nbytes`` is allocated blocks (``st_blocks * 512``), or a regular file's size when a
    sparse file claims more, so neither reserved nor sparse space escapes; hard links are
    counted once. ``inodes`` is None when only the engine's byte size was available.
    """

    nbytes: int
    inodes: int | None
    stopped: Stopped = ""


def layer_dir(container: Any, info: dict[str, Any]) -> Path | None:
    """The container's overlay2 upper directory when this host can walk it, else None.

    Only the engine's own layout is accepted: ``<DockerRootDir>/overlay2/<64 hex>/diff``,
    every level a real directory, and our bundle already in it (so a remote engine's path
    that happens to exist here is never taken for this container's layer). Reading only:
    no write or mount state matters, unlike :func:`opsgen.sandbox.upperdir.upper_dir`.

    Args:
        container: a created container whose bundle was copied in (its ``attrs``).
        info: ``client.info()`` of the same engine.
    """
    upper = engine_layer(container, info, holding=(".opsgen",))
    if upper is None:
        return None
    if not os.access(upper, os.R_OK | os.X_OK):
        return None
    return upper


class _Walk:
    """The running totals of one walk, and the bounds that end it early."""

    def __init__(self, max_bytes: int, max_inodes: int, time_limit_s: float):
        self.max_bytes, self.max_inodes = max_bytes, max_inodes
        self.deadline = time.monotonic() + time_limit_s
        self.nbytes = 0
        self.inodes = 0
        self.linked: set[tuple[int, int]] = set()

    def add(self, st: os.stat_result) -> Stopped:
        """Count one entry; say why to stop, if the walk should."""
        if st.st_nlink > 1 and not stat.S_ISDIR(st.st_mode):
            key = (st.st_dev, st.st_ino)
            if key in self.linked:
                return ""  # another name of a file already counted: only a directory entry
            self.linked.add(key)
        size = st.st_size if stat.S_ISREG(st.st_mode) else 0
        self.nbytes += max(st.st_blocks * 512, size)
        self.inodes += 1
        if self.nbytes > self.max_bytes or self.inodes > self.max_inodes:
            return "quota"
        if self.inodes % _TIME_CHECK_EVERY == 0 and time.monotonic() > self.deadline:
            return "time"
        return ""

    def scan(self, fd: int) -> tuple[list[tuple[str, os.stat_result]], Stopped]:
        """Count the entries of the directory open at ``fd``; return its subdirectories."""
        subdirs: list[tuple[str, os.stat_result]] = []
        try:
            with os.scandir(fd) as entries:
                for entry in entries:
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue  # removed since it was listed
                    if stat.S_ISDIR(st.st_mode):
                        subdirs.append((entry.name, st))
                    why = self.add(st)
                    if why:
                        return subdirs, why
        except OSError:
            pass  # the directory went away while we read it: what was counted stands
        return subdirs, ""


def _open_child(parent: int, name: str, seen: os.stat_result) -> int | None:
    """Open subdirectory ``name`` of ``parent`` if it is still the directory we listed."""
    try:
        fd = os.open(name, _DIR_FLAGS, dir_fd=parent)
    except OSError:
        return None  # gone, or swapped for a link (O_NOFOLLOW) or a file (O_DIRECTORY)
    try:
        now = os.fstat(fd)
    except OSError:
        os.close(fd)
        return None
    if (now.st_dev, now.st_ino) != (seen.st_dev, seen.st_ino):
        os.close(fd)
        return None  # replaced between listing and opening: not the entry we counted
    return fd


def measure(root: Path, *, max_bytes: int, max_inodes: int, time_limit_s: float) -> Usage | None:
    """Walk ``root`` (an upper directory) and count its blocks and inodes.

    Stops early once ``max_bytes`` or ``max_inodes`` is passed (the answer is then "over",
    whatever the rest holds), at ``time_limit_s``, or below :data:`MAX_DEPTH` levels; the
    ``stopped`` field says which. None when ``root`` cannot be opened at all.
    """
    try:
        top = os.open(root, _DIR_FLAGS)
    except OSError:
        return None
    walk = _Walk(max_bytes, max_inodes, time_limit_s)
    # Depth-first; one frame per open directory: its descriptor and subdirectories to visit.
    stack: list[tuple[int, list[tuple[str, os.stat_result]]]] = [(top, [])]
    try:
        stopped = walk.add(os.fstat(top))
        if not stopped:
            subdirs, stopped = walk.scan(top)
            stack[-1] = (top, subdirs)
        while stack and not stopped:
            fd, pending = stack[-1]
            if not pending:
                os.close(fd)
                stack.pop()
                continue
            name, seen = pending.pop()
            child = _open_child(fd, name, seen)
            if child is None:
                continue
            if len(stack) >= MAX_DEPTH:
                os.close(child)
                stopped = "depth"
                break
            stack.append((child, []))
            subdirs, stopped = walk.scan(child)
            stack[-1] = (child, subdirs)
    except OSError:
        return None
    finally:
        for fd, _ in stack:
            os.close(fd)
    return Usage(walk.nbytes, walk.inodes, stopped)
