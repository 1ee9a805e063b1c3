"""The full integrity check behind ``opsgen audit verify`` and every export.

The chain alone proves the log was not edited; this also proves the *tables* agree with it.
Every revision, evidence record, decision and export row was logged with its hashes when it
was written, so an edited script, a swapped evidence body, an inserted approval or a deleted
row shows up as a disagreement between a row and its audit entry.

Every command that shows, approves or exports something from the store calls
:func:`require_intact` first: a script whose bytes *and* stored hashes were rewritten
together agrees with every other row, and only the audit chain still knows the approved
hash. Showing "approved by ..." beside such bytes is exactly what an attacker wants, so the
read refuses instead (issue 14).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from opsgen.errors import OpsError
from opsgen.store import audit, db
from opsgen.store.canonical import sha256_text

__all__ = [
    "TAMPER_HINT",
    "StoreTampered",
    "intact_snapshot",
    "integrity_summary",
    "read_snapshot",
    "require_intact",
    "verify_store",
]


class StoreTampered(OpsError):
    """The change store failed its integrity check; nothing in it may be shown as vetted.

    Exit 1 ("the check found errors"): a read command found the store does not hold what
    was recorded. Export and approve raise their own refusal (exit 6) with the same text.
    """

    reference = "store-tampered"
    exit_code = 1


TAMPER_HINT = (
    "run `opsgen audit verify` to see every problem; trust nothing from this workspace "
    "until it is explained"
)

# table -> (audit actions, payload key holding the row id, {row column: payload key});
# "@actor", "@action" and "@change" compare with the entry itself (who approved, approve or
# reject, which change): a row moved to another change or re-attributed to another author
# (to slip past forbid_self_approval) disagrees with its entry.
_BINDINGS: dict[str, tuple[tuple[str, ...], str, dict[str, str]]] = {
    "revisions": (
        ("revise",),
        "revision_id",
        {"sha256": "sha256", "number": "number", "author": "@actor", "change_id": "@change"},
    ),
    "evidence": (("dry-run",), "evidence_id", {"sha256": "sha256", "revision_id": "revision_id"}),
    "decisions": (
        ("approve", "reject"),
        "decision_id",
        {
            "revision_id": "revision_id",
            "revision_sha256": "revision_sha256",
            "evidence_sha256": "evidence_sha256",
            "override": "override",
            "comment": "comment",
            "by": "@actor",
            "kind": "@action",
            "change_id": "@change",
        },
    ),
    "exports": (
        ("export",),
        "export_id",
        {
            "revision_id": "revision_id",
            "commit_sha": "commit",
            "manifest_sha256": "manifest_sha256",
            "change_id": "@change",
        },
    ),
}


def verify_store(conn: sqlite3.Connection) -> list[str]:
    """Every problem found, in a stable order; an empty list means the store is intact."""
    problems = list(audit.verify_chain(conn))
    entries = list(audit.entries(conn))
    problems += _check_changes(conn, entries)
    for table, (actions, id_key, fields) in _BINDINGS.items():
        logged = {
            e.payload.get(id_key): e for e in entries if e.action in actions and id_key in e.payload
        }
        problems += _check_rows(conn, table, logged, fields)
    problems += _check_content(conn, "revisions", "script", "revision {id}: script text")
    problems += _check_content(conn, "evidence", "body", "evidence {id}: body")
    return problems


def require_intact(conn: sqlite3.Connection) -> None:
    """Raise :class:`StoreTampered` unless :func:`verify_store` finds nothing wrong.

    The whole store is checked, not only the change about to be shown: a broken chain or
    a forged row anywhere means someone wrote the database behind opsgen's back, and every
    status computed from it is suspect.
    """
    problems = verify_store(conn)
    if problems:
        raise StoreTampered(integrity_summary(problems), hint=TAMPER_HINT)


@contextmanager
def read_snapshot(conn: sqlite3.Connection) -> Iterator[None]:
    """Run the block's reads on one snapshot of the database (joins an open transaction).

    :func:`verify_store` reads the log and then each table; a writer committing in between
    would otherwise look like a row without its audit entry, a false alarm.
    """
    if conn.in_transaction:
        yield
        return
    with db.transaction(conn, mode="DEFERRED"):
        yield


@contextmanager
def intact_snapshot(conn: sqlite3.Connection) -> Iterator[None]:
    """Verify the store, then run the block on that same verified snapshot.

    Raises:
        StoreTampered: the integrity check failed; nothing is read.
    """
    with read_snapshot(conn):
        require_intact(conn)
        yield


def integrity_summary(problems: list[str]) -> str:
    """One line for a failed integrity check: the first problem and how many more."""
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"the change store failed its integrity check: {problems[0]}{more}"


def _check_changes(conn: sqlite3.Connection, entries: Iterable[audit.AuditEntry]) -> list[str]:
    created = {e.change_id: e for e in entries if e.action == "create"}
    problems: list[str] = []
    for row in conn.execute("SELECT * FROM changes ORDER BY id"):
        entry = created.pop(row["id"], None)
        if entry is None:
            problems.append(f"change {row['id']} has no audit entry")
            continue
        expected = {
            "name": row["name"],
            "lang": row["lang"],
            "image": row["image"],
            "source": row["source"],
            "request_sha256": sha256_text(row["request"]),
        }
        for key, value in expected.items():
            if entry.payload.get(key) != value:
                problems.append(f"change {row['id']}: {key} differs from its audit entry")
        if entry.actor != row["created_by"]:
            problems.append(f"change {row['id']}: created_by differs from its audit entry")
    problems += [f"change {cid} is in the audit log but missing from the store" for cid in created]
    return problems


def _check_rows(
    conn: sqlite3.Connection,
    table: str,
    logged: dict[Any, audit.AuditEntry],
    fields: dict[str, str],
) -> list[str]:
    problems: list[str] = []
    label = table.rstrip("s")
    for row in conn.execute(f"SELECT * FROM {table} ORDER BY id"):  # noqa: S608 (fixed names)
        entry = logged.pop(row["id"], None)
        if entry is None:
            problems.append(f"{label} {row['id']} has no audit entry")
            continue
        for column, key in fields.items():
            itself = {"@actor": entry.actor, "@action": entry.action, "@change": entry.change_id}
            logged_value = itself.get(key, entry.payload.get(key))
            if logged_value != row[column]:
                problems.append(f"{label} {row['id']}: {column} differs from its audit entry")
    problems += [f"{label} {rid} is in the audit log but missing from the store" for rid in logged]
    return problems


def _check_content(conn: sqlite3.Connection, table: str, column: str, what: str) -> list[str]:
    rows = conn.execute(f"SELECT id, {column} AS body, sha256 FROM {table} ORDER BY id")  # noqa: S608
    return [
        f"{what.format(id=r['id'])} does not match its sha256 (edited after it was stored)"
        for r in rows
        if sha256_text(r["body"]) != r["sha256"]
    ]
