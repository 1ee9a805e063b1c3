"""/etc/hosts, /etc/hostname and /etc/resolv.conf as ordinary files of the container.

The engine bind-mounts its own copy of each into every container at every start, and a
mount point cannot be replaced by rename: ``mv new /etc/hosts`` and Ansible's ``lineinfile``
(which writes a temporary file and renames it) fail with ``Device or resource busy`` on a
file a real server lets you replace (issue 13).

So before each start the host makes each of them a link to ``/.opsgen/engine/<name>``: the
engine resolves the link inside the container's root (as it does for every mount target)
and mounts its file there instead. The runner (``shims/run``) then puts an ordinary file in
place of the link: the engine's content on the first start (kept as the record
``net-initial.<name>``, the diff's "before"), the state the previous start left (saved on
exit) after that. What the script does to them is then in the writable layer, and in the
diff, like any other file. Nothing is mounted that was not mounted before, and no setting of
the policy changes.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import stat
import tarfile
import time
from pathlib import Path
from typing import Any

from opsgen.sandbox.bundle import BUNDLE_DIR
from opsgen.sandbox.models import FileMeta
from opsgen.sandbox.observe import State
from opsgen.sandbox.tarstream import Observed
from opsgen.sandbox.upperdir import open_upper

__all__ = ["ENGINE_DIR", "NET_FILES", "initial_state", "link_net_files", "links_tar"]

NET_FILES = ("hosts", "hostname", "resolv.conf")
#: Where the engine's mounts land once /etc/<name> links there (noise for the diff).
ENGINE_DIR = f"{BUNDLE_DIR}/engine"
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def links_tar() -> bytes:
    """A tar to ``put_archive`` at ``/``: ``etc/<name>`` -> ``/.opsgen/engine/<name>``."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in NET_FILES:
            info = tarfile.TarInfo(f"etc/{name}")
            info.type, info.linkname = tarfile.SYMTYPE, f"{ENGINE_DIR}/{name}"
            info.mode, info.mtime = 0o777, time.time()
            tar.addfile(info)
    return buf.getvalue()


def link_net_files(container: Any, upper: Path | None) -> str:
    """Make the three files links to the engine's mount targets before a start; say how.

    Straight in the stopped container's upper directory when we may write there
    (:func:`opsgen.sandbox.upperdir.upper_dir`), else through the engine (``put_archive``,
    70-120 ms). Returns ``upperdir`` or ``put_archive``.

    Raises:
        OSError, docker errors: the engine refused the copy.
    """
    if upper is not None:
        try:
            _write_links(upper, _lowers(container))
        except (OSError, ValueError):
            pass  # the engine's copy below replaces whatever was made
        else:
            return "upperdir"
    if not container.put_archive("/", links_tar()):
        raise OSError("the engine refused to copy /etc links into the sandbox container")
    return "put_archive"


def initial_state(records: dict[str, bytes]) -> State:
    """The three files as the runner first made them (the engine's content, 0644 root),
    from its ``net-initial.<name>`` records: the diff's "before" for them."""
    out: State = {}
    for name in NET_FILES:
        data = records.get(f"net-initial.{name}")
        if data is None:
            continue
        meta = FileMeta("file", 0o644, 0, 0, len(data), hashlib.sha256(data).hexdigest())
        out[f"/etc/{name}"] = Observed(meta, data)
    return out


def _lowers(container: Any) -> list[Path]:
    data = ((container.attrs or {}).get("GraphDriver") or {}).get("Data") or {}
    return [Path(p) for p in str(data.get("LowerDir") or "").split(":") if p]


def _write_links(upper: Path, lowers: list[Path]) -> None:
    """The links, written below one descriptor of ``upper`` without following anything.

    ``etc`` is made in the upper layer when missing, with the owner, mode and times of the
    top lower layer's ``etc`` (the merged view of /etc is then unchanged). Anything
    unexpected (``etc`` a link, an entry a directory) raises; the caller falls back.
    """
    root = open_upper(upper)
    try:
        made: os.stat_result | None = None
        try:
            etc = os.open("etc", _DIR_FLAGS, dir_fd=root)
        except FileNotFoundError:
            etc, made = _make_etc(root, lowers)
        try:
            for name in NET_FILES:
                with contextlib.suppress(FileNotFoundError):
                    st = os.lstat(name, dir_fd=etc)
                    if stat.S_ISDIR(st.st_mode):
                        raise ValueError(f"/etc/{name} is a directory")
                    os.unlink(name, dir_fd=etc)
                os.symlink(f"{ENGINE_DIR}/{name}", name, dir_fd=etc)
            if made is not None:  # adding the links changed its times: as in the image
                os.utime(etc, ns=(made.st_atime_ns, made.st_mtime_ns))
        finally:
            os.close(etc)
    finally:
        os.close(root)


def _make_etc(root: int, lowers: list[Path]) -> tuple[int, os.stat_result]:
    for lower in lowers:
        try:
            st = os.lstat(lower / "etc")
        except OSError:
            continue
        if not stat.S_ISDIR(st.st_mode):
            raise ValueError("/etc of the image is not a directory")
        os.mkdir("etc", 0o700, dir_fd=root)
        fd = os.open("etc", _DIR_FLAGS, dir_fd=root)
        os.fchown(fd, st.st_uid, st.st_gid)
        os.fchmod(fd, stat.S_IMODE(st.st_mode))
        return fd, st
    raise ValueError("no /etc in the image's layers")
