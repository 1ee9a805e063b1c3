"""The full integrity check behind ``opsgen audit verify`` and every export.

The chain alone proves the log was not edited; this also proves the *tables* agree with it.
Every revision, evidence record, decision and export row was logged with its hashes when it
was written, so an edited script, a swapped evidence body, an inserted approval or a deleted
row shows up as a disagreement between a row and its audit entry.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from opsgen.store import audit
from opsgen.store.canonical import sha256_text

__all__ = ["verify_store"]

# table -> (audit actions, payload key holding the row id, {row column: payload key});
# "@actor" and "@action" compare with the entry itself (who approved, approve or reject).
_BINDINGS: dict[str, tuple[tuple[str, ...], str, dict[str, str]]] = {
    "revisions": (("revise",), "revision_id", {"sha256": "sha256", "number": "number"}),
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
        },
    ),
    "exports": (
        ("export",),
        "export_id",
        {
            "revision_id": "revision_id",
            "commit_sha": "commit",
            "manifest_sha256": "manifest_sha256",
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


def _check_changes(conn: sqlite3.Connection, entries: Iterable[audit.AuditEntry]) -> list[str]:
    created = {e.change_id: e.payload for e in entries if e.action == "create"}
    problems: list[str] = []
    for row in conn.execute("SELECT * FROM changes ORDER BY id"):
        payload = created.pop(row["id"], None)
        if payload is None:
            problems.append(f"change {row['id']} has no audit entry")
            continue
        expected = {
            "name": row["name"],
            "lang": row["lang"],
            "image": row["image"],
            "request_sha256": sha256_text(row["request"]),
        }
        for key, value in expected.items():
            if payload.get(key) != value:
                problems.append(f"change {row['id']}: {key} differs from its audit entry")
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
            logged_value = {"@actor": entry.actor, "@action": entry.action}.get(
                key, entry.payload.get(key)
            )
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
