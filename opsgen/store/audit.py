"""The append-only, hash-chained audit log.

Each entry's ``hash`` is the sha256 of the canonical JSON of
``{seq, ts, actor, action, change, payload, prev}`` where ``prev`` is the previous entry's
hash (64 zeros for the first) and ``payload`` is the stored canonical JSON text. Editing an
entry breaks its hash; deleting one breaks the ``seq`` run or the ``prev`` link of the next.
Entries are appended inside the caller's write transaction, so concurrent writers
serialise on the chain's head and the chain never forks.

The payload's free-text fields (comments, override reasons) are redacted before they are
hashed: the log is append-only, so a secret written into it could never be removed. The
store redacts the rows those fields mirror in the same way (redaction is idempotent), so
the integrity check still finds them equal.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from opsgen.redact import redact
from opsgen.store.canonical import canonical_json, sha256_text

__all__ = [
    "ACTIONS",
    "GENESIS",
    "AuditEntry",
    "append",
    "entries",
    "entry_hash",
    "head",
    "now",
    "verify_chain",
]

GENESIS = "0" * 64
#: payload fields holding people's free text; ids, hashes and names are bound to table rows
FREE_TEXT = frozenset({"comment", "override", "reason"})
ACTIONS = ("create", "revise", "dry-run", "approve", "reject", "override", "export")


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One line of the audit log."""

    seq: int
    ts: str
    actor: str
    action: str
    change_id: int | None
    payload: dict[str, Any]
    payload_text: str
    prev: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``opsgen audit --json``."""
        return {
            "seq": self.seq,
            "ts": self.ts,
            "actor": self.actor,
            "action": self.action,
            "change": self.change_id,
            "payload": self.payload,
            "prev": self.prev,
            "hash": self.hash,
        }


def now() -> str:
    """UTC timestamp with microseconds, the one time format of the store."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def entry_hash(
    seq: int, ts: str, actor: str, action: str, change_id: int | None, payload: str, prev: str
) -> str:
    """The chained hash of one entry (see the module docstring for the exact form)."""
    material = {
        "seq": seq,
        "ts": ts,
        "actor": actor,
        "action": action,
        "change": change_id,
        "payload": payload,
        "prev": prev,
    }
    return sha256_text(canonical_json(material))


def append(
    conn: sqlite3.Connection,
    *,
    actor: str,
    action: str,
    change_id: int | None,
    payload: dict[str, Any],
) -> AuditEntry:
    """Append one entry; the caller must hold a write transaction (``BEGIN IMMEDIATE``)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    if not conn.in_transaction:
        raise RuntimeError("audit entries are appended inside a write transaction")
    payload = {
        k: redact(v, scan=True) if k in FREE_TEXT and isinstance(v, str) else v
        for k, v in payload.items()
    }
    head = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (head["seq"] + 1, head["hash"]) if head else (1, GENESIS)
    ts = now()
    text = canonical_json(payload)
    digest = entry_hash(seq, ts, actor, action, change_id, text, prev)
    conn.execute(
        "INSERT INTO audit (seq, ts, actor, action, change_id, payload, prev, hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (seq, ts, actor, action, change_id, text, prev, digest),
    )
    return AuditEntry(seq, ts, actor, action, change_id, payload, text, prev, digest)


def entries(conn: sqlite3.Connection, *, change_id: int | None = None) -> Iterator[AuditEntry]:
    """Entries in chain order, optionally only those of one change."""
    query = "SELECT * FROM audit"
    args: tuple[Any, ...] = ()
    if change_id is not None:
        query += " WHERE change_id = ?"
        args = (change_id,)
    for row in conn.execute(query + " ORDER BY seq", args):
        try:
            payload = json.loads(row["payload"])
        except ValueError:
            payload = {"unparseable": row["payload"]}
        yield AuditEntry(
            row["seq"],
            row["ts"],
            row["actor"],
            row["action"],
            row["change_id"],
            payload,
            row["payload"],
            row["prev"],
            row["hash"],
        )


def verify_chain(conn: sqlite3.Connection) -> list[str]:
    """Problems found walking the chain; empty when every link and hash holds."""
    problems: list[str] = []
    expected_seq, prev = 1, GENESIS
    for entry in entries(conn):
        if entry.seq != expected_seq:
            problems.append(f"audit entry {expected_seq} is missing (next is {entry.seq})")
        if entry.prev != prev:
            problems.append(f"audit entry {entry.seq}: link to the previous entry is broken")
        recomputed = entry_hash(
            entry.seq,
            entry.ts,
            entry.actor,
            entry.action,
            entry.change_id,
            entry.payload_text,
            entry.prev,
        )
        if recomputed != entry.hash:
            problems.append(f"audit entry {entry.seq} ({entry.action}) was modified")
        expected_seq, prev = entry.seq + 1, entry.hash
    return problems


def head(conn: sqlite3.Connection) -> tuple[int, str]:
    """``(seq, hash)`` of the newest entry: an anchor to copy into manifests and commits."""
    row = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    return (row["seq"], row["hash"]) if row else (0, GENESIS)
