"""Copying the bundle straight into a created container's overlay2 upper directory.

``put_archive`` costs 70-120 ms per dry-run (the engine mounts the container and runs a
chrooted helper to unpack the tar), the largest cost beyond a bare ``docker run``. When the
engine is local, uses overlay2, runs containers as host root (no userns-remap, not rootless)
and we are root, the same bytes can be written into the container's upper directory before
it starts: what the engine's helper would have left there, in a millisecond.

Safety, since the image (its lower layers) is untrusted:

* the upper directory comes from the engine's inspect of the container we just created and
  must be ``<DockerRootDir>/overlay2/<64 hex>/diff``, every level of it (from the overlay2
  root down) a real directory, not a link, and not mounted now (``/proc/self/mountinfo``);
* everything is created below one descriptor of that directory, level by level, with
  ``mkdir``/``O_CREAT|O_EXCL|O_NOFOLLOW`` relative to its parent's descriptor: nothing that
  exists is reused or followed, so a link in the image at the bundle path is shadowed by the
  entry we create in the upper layer, never written through;
* only plain directories and regular files of the bundle tar, all under ``.opsgen``, with the
  tar's modes and mtimes, owned by 0:0 as ``put_archive`` leaves them.

Anything unexpected raises ``OSError``/``ValueError``; the caller removes what was made and
uses ``put_archive`` (``OPSGEN_BUNDLE_COPY=archive`` forces that path).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import stat
import tarfile
from pathlib import Path
from typing import Any

from opsgen.errors import PolicyViolation
from opsgen.sandbox.bundle import BUNDLE_DIR, check_member_name

__all__ = ["copy_mode", "open_upper", "upper_dir", "write_bundle"]

_ID = re.compile(r"[0-9a-f]{64}")
_TOP = BUNDLE_DIR.strip("/")
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def copy_mode() -> str:
    """``archive`` when ``OPSGEN_BUNDLE_COPY=archive`` forces ``put_archive``, else ``auto``."""
    return "archive" if os.environ.get("OPSGEN_BUNDLE_COPY", "auto") == "archive" else "auto"


def upper_dir(container: Any, info: dict[str, Any]) -> Path | None:
    """The created container's overlay2 upper directory when we may write the bundle there.

    Args:
        container: a created, never started container (its ``attrs`` from the engine).
        info: ``client.info()`` of the same engine.
    """
    if copy_mode() == "archive" or os.geteuid() != 0:
        return None
    options = " ".join(info.get("SecurityOptions") or [])
    if info.get("Driver") != "overlay2" or "name=userns" in options or "name=rootless" in options:
        return None  # container root is not host root: 0:0 would be the wrong owner
    upper = engine_layer(container, info)
    if upper is None:
        return None
    data = ((container.attrs or {}).get("GraphDriver") or {}).get("Data") or {}
    if _mounted(data.get("MergedDir")):
        return None  # writing below a live overlay is undefined; the engine's helper is not
    return upper


def engine_layer(
    container: Any, info: dict[str, Any], *, holding: tuple[str, ...] = ()
) -> Path | None:
    """The container's overlay2 upper directory, if it has the engine's own layout.

    Only ``<DockerRootDir>/overlay2/<64 hex>/diff`` is accepted, every level (and each of
    ``holding`` inside it) a real directory, never a link: a remote engine's path that
    happens to exist here, or a path an image could point elsewhere, is never taken for
    this container's layer. Shared by the bundle writer and the disk-usage walk.
    """
    if info.get("Driver") != "overlay2":
        return None
    root = info.get("DockerRootDir")
    driver = (container.attrs or {}).get("GraphDriver") or {}
    upper = (driver.get("Data") or {}).get("UpperDir")
    if driver.get("Name") != "overlay2" or not isinstance(root, str) or not isinstance(upper, str):
        return None
    base = os.path.join(root, "overlay2")
    if not (os.path.isabs(base) and os.path.isabs(upper)) or os.path.normpath(upper) != upper:
        return None
    parts = os.path.relpath(upper, base).split("/")
    if len(parts) != 2 or not _ID.fullmatch(parts[0]) or parts[1] != "diff":
        return None
    inside = [os.path.join(upper, name) for name in holding]
    for level in (base, os.path.join(base, parts[0]), upper, *inside):
        try:
            if not stat.S_ISDIR(os.lstat(level).st_mode):
                return None
        except OSError:
            return None
    return Path(upper)


def _mounted(merged: object) -> bool:
    if not isinstance(merged, str) or not merged:
        return False
    try:
        with open("/proc/self/mountinfo", "rb") as f:
            table = f.read()
    except OSError:
        return True  # cannot tell: do not risk it
    target = merged.encode("utf-8", "surrogateescape")
    return any(line.split(b" ")[4:5] == [target] for line in table.splitlines())


def _checked(tar: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """The bundle's members, checked: directories and regular files under ``.opsgen`` only."""
    out: list[tarfile.TarInfo] = []
    for m in tar.getmembers():
        try:
            name = check_member_name(m.name)
        except PolicyViolation as exc:
            raise ValueError(str(exc)) from None
        if name.split("/")[0] != _TOP or not (m.isdir() or m.isreg()):
            raise ValueError(f"unexpected bundle member {m.name!r}")
        if m.mode & ~0o777:
            raise ValueError(f"bundle member {m.name!r} has special mode bits")
        out.append(m)
    return out


def open_upper(upper: Path) -> int:
    """A descriptor of ``upper``, opened level by level below the overlay2 root, no links."""
    fd = os.open(upper.parent.parent, _DIR_FLAGS)
    try:
        for level in (upper.parent.name, upper.name):
            child = os.open(level, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


class _Writer:
    """Creates entries below one directory descriptor; remembers them to undo on failure."""

    def __init__(self, root_fd: int):
        self.fds: dict[str, int] = {"": root_fd}
        self.made: list[tuple[str, bool]] = []  # (relative path, is_dir), creation order
        self.mtimes: list[tuple[int, float]] = []  # directories: set once they are filled

    def _parent(self, name: str) -> tuple[int, str]:
        parent, _, leaf = name.rpartition("/")
        if parent not in self.fds:
            self.mkdir(parent, 0o755, None)  # as the engine's unpacker does for a missing parent
        return self.fds[parent], leaf

    def mkdir(self, name: str, mode: int, mtime: float | None) -> None:
        pfd, leaf = self._parent(name)
        os.mkdir(leaf, 0o700, dir_fd=pfd)
        self.made.append((name, True))
        fd = os.open(leaf, _DIR_FLAGS, dir_fd=pfd)
        self.fds[name] = fd
        os.fchown(fd, 0, 0)
        os.fchmod(fd, mode)
        if mtime is not None:
            self.mtimes.append((fd, mtime))

    def file(self, name: str, data: bytes, mode: int, mtime: float) -> None:
        pfd, leaf = self._parent(name)
        fd = os.open(leaf, _FILE_FLAGS, 0o600, dir_fd=pfd)
        self.made.append((name, False))
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fchown(fd, 0, 0)
            os.fchmod(fd, mode)
            os.utime(fd, (mtime, mtime))
        finally:
            os.close(fd)

    def finish(self) -> None:
        """Set the directories' mtimes, deepest first (adding entries changed them)."""
        for fd, mtime in reversed(self.mtimes):
            os.utime(fd, (mtime, mtime))

    def undo(self) -> None:
        """Remove what was made, deepest first (best effort: ``put_archive`` overwrites)."""
        for name, is_dir in reversed(self.made):
            parent, _, leaf = name.rpartition("/")
            pfd = self.fds.get(parent)
            if pfd is None:
                continue
            with contextlib.suppress(OSError):
                if is_dir:
                    os.rmdir(leaf, dir_fd=pfd)
                else:
                    os.unlink(leaf, dir_fd=pfd)

    def close(self) -> None:
        for fd in self.fds.values():
            os.close(fd)


def write_bundle(upper: Path, bundle: bytes) -> None:
    """Write the bundle tar's directories and files into ``upper`` (see the module notes).

    Raises:
        OSError: a level is a link or not a directory, an entry exists, no permission...
        ValueError: the tar holds something other than plain entries under ``.opsgen``.
    """
    with tarfile.open(fileobj=io.BytesIO(bundle), mode="r:") as tar:
        members = _checked(tar)
        writer = _Writer(open_upper(upper))
        try:
            for m in members:
                if m.isdir():
                    writer.mkdir(m.name, m.mode, m.mtime)
                    continue
                src = tar.extractfile(m)
                if src is None:
                    raise ValueError(f"unreadable bundle member {m.name!r}")
                writer.file(m.name, src.read(), m.mode, m.mtime)
            writer.finish()
        except BaseException:
            writer.undo()
            raise
        finally:
            writer.close()
