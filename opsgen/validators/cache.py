"""A content-addressed cache of the wrapped tools' results (shellcheck, ansible-lint ...).

Like ruff's and pre-commit's caches: the key is a sha256 over everything that can change a
tool's answer (see :meth:`opsgen.validators.tools.Job.cache_key`), the value is what the
tool printed and its exit code. Entries live in ``$OPSGEN_CACHE_DIR/lint`` (default
``~/.cache/opsgen/lint``), one JSON file each, written to a temporary file and renamed into
place, so a reader sees a whole entry or none. Each entry repeats its key; an entry that
does not parse or names another key is ignored, never trusted. ``OPSGEN_NO_CACHE=1``
switches the cache off.

Only results of tools that ran to completion are stored: timeouts and failures to start
never are, and opsgen's own rules are not cached at all (they are cheap and change with
opsgen's code).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from opsgen.cachedir import cache_dir

__all__ = ["MAX_BYTES", "MAX_ENTRIES", "ResultCache", "cache_disabled", "cache_root",
           "default_cache"]

#: bump when the entry format or the key recipe changes: old entries are then never read
SCHEMA = 2  # 2: entries written before artifact files were replaced whole are void
MAX_ENTRIES = 2000
MAX_BYTES = 50 << 20
#: each write prunes with this probability: a full scan costs milliseconds, not a write
PRUNE_CHANCE = 1 / 32
#: temporary files older than this are left over from a crash and removed by prune
_STALE_TMP_S = 3600


def cache_root() -> Path:
    """``$OPSGEN_CACHE_DIR/lint``, else ``$XDG_CACHE_HOME/opsgen/lint`` or ``~/.cache/...``."""
    return cache_dir("lint")


def cache_disabled() -> bool:
    """True when ``OPSGEN_NO_CACHE`` is set to anything but ``""`` or ``"0"``."""
    return os.environ.get("OPSGEN_NO_CACHE", "") not in ("", "0")


def default_cache() -> ResultCache | None:
    """The cache at :func:`cache_root`, or None when ``OPSGEN_NO_CACHE`` turns it off."""
    return None if cache_disabled() else ResultCache(cache_root())


class ResultCache:
    """Tool results on disk, one ``<root>/<k[:2]>/<key>.json`` file per key.

    Args:
        root: the folder (created on the first write).
        max_entries: prune the oldest entries beyond this many.
        max_bytes: prune the oldest entries beyond this total size.

    Every method swallows I/O errors: a cache that cannot be read or written is a miss.
    """

    def __init__(self, root: Path, max_entries: int = MAX_ENTRIES,
                 max_bytes: int = MAX_BYTES):
        self.root = root
        self.max_entries = max_entries
        self.max_bytes = max_bytes

    def path(self, key: str) -> Path:
        """Where the entry for ``key`` lives."""
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The entry stored under ``key``, or None (missing, unreadable, corrupt, foreign)."""
        path = self.path(key)
        try:
            entry = json.loads(path.read_bytes())
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("key") != key \
                or entry.get("schema") != SCHEMA:
            return None
        with contextlib.suppress(OSError):  # recently used: pruned last
            os.utime(path)
        return entry

    def put(self, key: str, entry: dict[str, Any]) -> None:
        """Store ``entry`` under ``key`` atomically (temporary file, then ``os.replace``)."""
        path = self.path(key)
        data = json.dumps({**entry, "key": key, "schema": SCHEMA}).encode()
        tmp = ""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=path.parent)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except OSError:
            if tmp:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            return
        if random.random() < PRUNE_CHANCE:  # noqa: S311 - not security: spreads the scans
            self.prune()

    def prune(self) -> int:
        """Delete the least recently used entries beyond the limits; return how many went."""
        entries: list[tuple[float, int, str]] = []
        now = time.time()
        try:
            shards = list(os.scandir(self.root))
        except OSError:
            return 0
        for shard in shards:
            with contextlib.suppress(OSError):
                for item in os.scandir(shard.path):
                    with contextlib.suppress(OSError):
                        st = item.stat()
                        if item.name.startswith(".tmp-"):
                            if now - st.st_mtime > _STALE_TMP_S:
                                os.unlink(item.path)
                        elif item.name.endswith(".json"):
                            entries.append((st.st_mtime, st.st_size, item.path))
        count, size = len(entries), sum(e[1] for e in entries)
        if count <= self.max_entries and size <= self.max_bytes:
            return 0
        entries.sort()
        removed = 0
        # prune to below the limits, so the next writes do not each trigger a prune
        for _, nbytes, path in entries:
            if count <= self.max_entries * 0.9 and size <= self.max_bytes * 0.9:
                break
            with contextlib.suppress(OSError):
                os.unlink(path)
                removed += 1
            count -= 1
            size -= nbytes
        return removed
