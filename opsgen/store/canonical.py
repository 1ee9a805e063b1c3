"""Canonical JSON and hashing: the one byte form every hash in the store is taken over.

Hashes bind approvals to evidence and chain the audit log, so two processes (or two
versions of opsgen) must serialise the same value to the same bytes: sorted keys, no
whitespace, ASCII only, and values normalised through JSON once so tuples and lists agree.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["canonical_json", "normalise", "sha256_hex", "sha256_text"]


def canonical_json(value: Any) -> str:
    """Serialise ``value`` deterministically (sorted keys, compact, ASCII)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )


def normalise(value: Any) -> Any:
    """Round-trip ``value`` through JSON so in-memory and stored forms hash the same.

    Objects JSON cannot represent become their ``str()``; tuples become lists.
    """
    text = json.dumps(value, sort_keys=True, ensure_ascii=True, default=str, allow_nan=False)
    return json.loads(text)


def sha256_hex(data: bytes) -> str:
    """Hex sha256 of raw bytes."""
    return hashlib.sha256(data).hexdigest()


def sha256_text(text: str) -> str:
    """Hex sha256 of a string's UTF-8 bytes: the exact bytes that get exported."""
    return sha256_hex(text.encode("utf-8"))
