"""Which runbooks a batch converts: files and folders on the command line -> sources.

Folders are walked for ``*.md``/``*.markdown`` in sorted order, skipping hidden entries and
never following symbolic links (a link to ``/`` must not make a batch walk the disk). The
same file named twice is converted once. A path that does not exist is reported as a
failed row, so the other runbooks still run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePath

from opsgen.runbook.summary import Summary

__all__ = ["Source", "discover"]

_SUFFIXES = (".md", ".markdown")


@dataclass(frozen=True, slots=True)
class Source:
    """One runbook to convert: the file, and the name reports and traces show."""

    path: Path
    display: str


def discover(paths: Sequence[Path]) -> tuple[list[Source], list[Summary]]:
    """Runbooks named by ``paths`` (files, or folders searched for ``*.md``), deduplicated.

    A path that does not exist becomes a ``failed`` row, not an exception, so the rest of
    the batch still runs. Folders are walked in sorted order without following links.
    """
    found: list[Source] = []
    missing: list[Summary] = []
    seen: set[Path] = set()
    for root in paths:
        if root.is_dir():
            for file in sorted(_walk(root), key=lambda f: f.relative_to(root).as_posix()):
                _add(found, seen, file, file.relative_to(root).as_posix())
        elif root.exists() or root.is_symlink():
            _add(found, seen, root, root.name)
        else:
            missing.append(Summary(str(root), "failed", message=f"{root}: no such file or folder"))
    return _unique_names(found), missing


def _walk(root: Path) -> Iterator[Path]:
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.lower().endswith(_SUFFIXES) and not name.startswith("."):
                yield Path(folder) / name


def _add(found: list[Source], seen: set[Path], path: Path, display: str) -> None:
    key = path.resolve()
    if key not in seen:
        seen.add(key)
        found.append(Source(path, display))


def _unique_names(sources: list[Source]) -> list[Source]:
    """Two ``README.md`` given as files would share a name: number the later ones."""
    names: dict[str, int] = {}
    out = []
    for source in sources:
        count = names.get(source.display, 0)
        names[source.display] = count + 1
        if count:
            stem = PurePath(source.display)
            source = replace(source, display=f"{stem.stem}-{count + 1}{stem.suffix}")
        out.append(source)
    return out
