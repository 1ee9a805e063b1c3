"""Atomic directory export: a killed export leaves no half-written file.

Each file is written to a hidden temporary name in its target folder
(``.NAME.opsgen-tmp-PID-TOKEN``), fsynced, given its mode and renamed over the target, so a
target is always either the old complete file or the new complete file. The manifest is
renamed last: a manifest never describes a script that is not yet in place.

A process killed with SIGKILL cannot clean up after itself, so before writing we start a
tiny *reaper* process holding the read end of a pipe: when we exit, by any means, the pipe
closes and the reaper deletes whichever of our temporary names still exist (after a
successful export, none do). After a power loss, the next export sweeps temporary files
whose process is gone. ``OPSGEN_TEST_PAUSE_AT`` lets tests kill us mid-write.

An existing file is replaced only when it is ours: listed in the opsgen manifest already in
that folder (an earlier export of this name), or byte-identical to what we write. Anything
else (someone's own ``deploy.sh``, a foreign ``NAME.opsgen.json``) is refused unless
``force``, so an export never silently destroys a file it did not write (issue 14).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from opsgen.errors import ExportError
from opsgen.export.bundle import MANIFEST_FORMAT, Artifact
from opsgen.export.paths import check_relpath

__all__ = ["PAUSE_ENV", "pause", "write_files"]

PAUSE_ENV = "OPSGEN_TEST_PAUSE_AT"
_TMP_MARK = ".opsgen-tmp-"
# Reads stdin until EOF (our exit), then removes the temp files named in argv.
_REAPER = (
    "import os, sys\n"
    "sys.stdin.buffer.read()\n"
    "for p in sys.argv[1:]:\n"
    "    try: os.unlink(p)\n"
    "    except OSError: pass\n"
)


def pause(step: str) -> None:
    """Test hook: when ``$OPSGEN_TEST_PAUSE_AT`` names ``step``, announce it and sleep."""
    if os.environ.get(PAUSE_ENV) == step:
        sys.stderr.write(f"opsgen-test-pause: {step}\n")
        sys.stderr.flush()
        time.sleep(120)


def write_files(root: Path, files: Sequence[Artifact], *, force: bool = False) -> list[Path]:
    """Write ``files`` under ``root`` atomically, manifest (the last file) last.

    Raises:
        ExportError: a target is a symlink or not a regular file, or (unless ``force``) an
            existing file there is not from an earlier export (see the module docstring).
    """
    targets = [_target(root, f.path) for f in files]
    if not force:
        _refuse_foreign(targets, files)
    for folder in dict.fromkeys(t.parent for t in targets):
        _sweep(folder)
    temps = [_temp_name(t) for t in targets]
    with _reaper(temps):
        try:
            for temp, artifact in zip(temps, files, strict=True):
                _write(temp, artifact)
            pause("staged")
            for temp, target in zip(temps, targets, strict=True):
                os.replace(temp, target)
            for folder in dict.fromkeys(t.parent for t in targets):
                _fsync_dir(folder)
        finally:
            for temp in temps:
                temp.unlink(missing_ok=True)
    return targets


def _target(root: Path, rel: str) -> Path:
    # Create the folders one by one and refuse a symlink anywhere below root: a link placed
    # in the target tree must not redirect our write outside it.
    root.mkdir(parents=True, exist_ok=True)
    folder = root
    for part in rel.split("/")[:-1]:
        folder = folder / part
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            raise ExportError(f"refusing to write through {folder}: not a plain folder")
        folder.mkdir(exist_ok=True)
    target = folder / rel.split("/")[-1]
    if target.is_symlink() or (target.exists() and not target.is_file()):
        raise ExportError(f"refusing to replace {target}: not a regular file")
    return target


_MAX_MANIFEST = 4 * 1024 * 1024


def _refuse_foreign(targets: list[Path], files: Sequence[Artifact]) -> None:
    """Refuse to replace an existing file that no earlier export of this name wrote."""
    ours = _claimed(targets[-1])
    for target, artifact in zip(targets, files, strict=True):
        if not target.exists() or target in ours or _same_bytes(target, artifact.data):
            continue
        raise ExportError(
            f"refusing to overwrite {target}: it exists and is not from an earlier opsgen export",
            reference="target-exists",
            hint="move it away, export under another --name or --to, or pass --force",
        )


def _claimed(manifest: Path) -> set[Path]:
    """The files an existing opsgen manifest at ``manifest`` lists, itself included."""
    try:
        if manifest.stat().st_size > _MAX_MANIFEST:
            return set()
        data = json.loads(manifest.read_bytes())
    except (OSError, ValueError):
        return set()
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        return set()
    claimed = {manifest}
    for entry in data.get("files") or []:
        try:
            claimed.add(manifest.parent / check_relpath(str(entry.get("path", "")), "path"))
        except (ExportError, AttributeError):
            continue
    return claimed


def _same_bytes(target: Path, data: bytes) -> bool:
    try:
        return target.stat().st_size == len(data) and target.read_bytes() == data
    except OSError:
        return False


def _write(temp: Path, artifact: Artifact) -> None:
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        half = len(artifact.data) // 2
        _write_all(fd, artifact.data[:half])
        pause("writing")  # a kill here is the "half-written file" case
        _write_all(fd, artifact.data[half:])
        os.fchmod(fd, artifact.mode)
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


@contextlib.contextmanager
def _reaper(temps: list[Path]) -> Iterator[None]:
    """Run the block with a reaper that removes ``temps`` if this process dies."""
    read_end, write_end = os.pipe()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-c", _REAPER, *(str(t.absolute()) for t in temps)],
            stdin=read_end,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a signal to our process group must not stop it
        )
    finally:
        os.close(read_end)
    try:
        yield
    finally:
        os.close(write_end)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)


def _temp_name(target: Path) -> Path:
    return target.with_name(f".{target.name}{_TMP_MARK}{os.getpid()}-{secrets.token_hex(4)}")


def _sweep(folder: Path) -> None:
    """Remove temporary files of earlier exports whose process no longer exists."""
    for entry in folder.glob(f".*{_TMP_MARK}*"):
        pid = entry.name.rsplit(_TMP_MARK, 1)[-1].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)) and entry.is_file():
            entry.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can fsync a directory
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
