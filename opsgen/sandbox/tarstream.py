"""Reading files out of a container as tar streams, in memory, never onto the host disk.

Everything here comes from a container that ran untrusted code, so nothing is extracted:
names are kept as strings (rendered later through the sanitiser), links are recorded with
their targets and never followed, special files are described, and only regular files'
bytes are read, with a size bound.
"""

from __future__ import annotations

import hashlib
import io
import posixpath
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from docker.errors import APIError, NotFound

from opsgen.sandbox.models import FileMeta

__all__ = ["Observed", "ReadBudget", "read_tree"]

#: Bytes kept of a file for showing a diff; bigger files are described by size and hash.
CONTENT_LIMIT = 256 * 1024
_GO_MODE_DIR = 1 << 31  # os.ModeDir in the engine's path stat


@dataclass(frozen=True, slots=True)
class Observed:
    """One path as read from a container: its metadata and, when small, its bytes."""

    meta: FileMeta
    content: bytes | None = None


class ReadBudget(Protocol):
    """Asked before a file's bytes are read (:class:`opsgen.sandbox.observe.Budget`)."""

    def take_read(self, path: str, size: int) -> bool:
        """Reserve ``size`` bytes of reading for ``path``; False to leave it out."""
        ...

    def over_time(self) -> bool:
        """True once the time for reading is spent."""
        ...


class _StreamReader(io.RawIOBase):
    """A file object over the chunk generator that ``get_archive`` returns."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = chunks
        self._buf = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while not self._buf:
            try:
                self._buf = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


def _ftype(info: tarfile.TarInfo) -> str:
    if info.isreg():
        return "file"
    if info.isdir():
        return "dir"
    if info.issym():
        return "symlink"
    if info.islnk():
        return "hardlink"
    if info.isfifo():
        return "fifo"
    if info.ischr() or info.isblk():
        return "device"
    return "other"


def read_tree(
    container: Any,
    path: str,
    *,
    header_only: bool = False,
    dir_header_only: bool = False,
    content_limit: int = CONTENT_LIMIT,
    budget: ReadBudget | None = None,
    wanted: set[str] | None = None,
) -> dict[str, Observed]:
    """Read ``path`` (and, for a directory, everything below it) from ``container``.

    Args:
        container: a docker container object (stopped, or never started).
        path: absolute path in the container.
        header_only: read only the first member and stop.
        dir_header_only: the same, but only when ``path`` is a directory, so a changed
            directory costs one header, not its whole subtree.
        content_limit: keep the bytes of regular files up to this size; all are hashed.
        budget: asked before each member's bytes are read; a refused member is left out.
        wanted: only these absolute paths (``path`` and paths below it) are observed,
            others are skipped unread, and the read stops once all of them were seen.

    Returns:
        absolute path → :class:`Observed`; empty when the path does not exist.
    """
    try:
        chunks, stat = container.get_archive(path, chunk_size=64 * 1024)
    except NotFound:
        return {}
    except APIError as exc:
        if exc.status_code == 404:
            return {}
        raise
    if dir_header_only and int((stat or {}).get("mode", 0)) & _GO_MODE_DIR:
        header_only = True
    parent = posixpath.dirname(path.rstrip("/")) or "/"
    out: dict[str, Observed] = {}
    seen: set[str] = set()
    reader = io.BufferedReader(_StreamReader(iter(chunks)), buffer_size=64 * 1024)
    try:
        with tarfile.open(fileobj=reader, mode="r|") as tar:
            for info in tar:
                abspath = posixpath.normpath(posixpath.join(parent, info.name))
                if wanted is not None and abspath not in wanted:
                    if budget is not None and budget.over_time():
                        for rest in wanted - seen:  # out of time: left out, not "absent"
                            budget.take_read(rest, 0)
                        break
                    continue  # not selected: its data is skipped, not read into memory
                seen.add(abspath)
                size = info.size if info.isreg() else 0
                if budget is None or budget.take_read(abspath, size):
                    out[abspath] = _observe(tar, info, content_limit)
                if header_only or (wanted is not None and len(seen) >= len(wanted)):
                    break
    except tarfile.ReadError:
        pass  # an empty or truncated stream: report what we got
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return out


def _observe(tar: tarfile.TarFile, info: tarfile.TarInfo, limit: int) -> Observed:
    ftype = _ftype(info)
    digest, md5, content = "", "", None
    if info.isreg():
        f = tar.extractfile(info)
        h = hashlib.sha256()
        # md5 too: dpkg's md5sums say whether a packaged file is as shipped (issue 13).
        m = hashlib.md5(usedforsecurity=False)
        kept = bytearray()
        if f is not None:
            while chunk := f.read(64 * 1024):
                h.update(chunk)
                m.update(chunk)
                if len(kept) <= limit:
                    kept += chunk
        digest, md5 = h.hexdigest(), m.hexdigest()
        content = bytes(kept) if len(kept) <= limit else None
    meta = FileMeta(
        ftype=ftype,  # type: ignore[arg-type]
        mode=info.mode & 0o7777,
        uid=info.uid,
        gid=info.gid,
        size=info.size if info.isreg() else 0,
        sha256=digest,
        link_target=info.linkname if (info.issym() or info.islnk()) else "",
        md5=md5,
    )
    return Observed(meta, content)
