"""Reading the user's files: one place that turns bad input into one clear error."""

from __future__ import annotations

from pathlib import Path

from opsgen.errors import InputError

__all__ = ["DEFAULT_MAX_BYTES", "read_text_file"]

#: Scripts and playbooks are text written for people; 1 MiB is far beyond any real one.
DEFAULT_MAX_BYTES = 1 << 20


def read_text_file(path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """Return the UTF-8 text of ``path`` or raise :class:`InputError` saying why not.

    Refuses missing files, folders, empty or whitespace-only files, files over ``max_bytes``
    (checked before reading, so a 50 MB file costs nothing), binary files (NUL bytes) and
    text that is not UTF-8.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file", hint="check the path")
    if not p.is_file():
        raise InputError(f"{p}: not a regular file")
    size = p.stat().st_size
    if size > max_bytes:
        raise InputError(
            f"{p}: file is {size:,} bytes, over the {max_bytes:,}-byte limit",
            reference="input-too-large",
            hint="opsgen handles scripts and playbooks, not data files",
        )
    data = p.read_bytes()
    if b"\x00" in data:
        raise InputError(f"{p}: binary file (contains NUL bytes)", reference="binary-input")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{p}: not UTF-8 text (invalid byte at offset {exc.start})",
            reference="not-utf8",
            hint="convert the file to UTF-8, e.g. iconv -f latin1 -t utf-8",
        ) from None
    if not text.strip():
        raise InputError(f"{p}: file is empty", reference="empty-input")
    return text
