"""The change store on real SQLite: schema, migrations, WAL, append-only rows, hashing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from opsgen.errors import ConfigError, InputError
from opsgen.flow.testing import error_finding, make_evidence, seed_change
from opsgen.store import db
from opsgen.store.canonical import sha256_text
from opsgen.store.evidence import Evidence
from opsgen.store.migrations import MIGRATIONS
from opsgen.store.repo import Store, check_person
from opsgen.store.workspace import ReviewPolicy, Workspace, resolve_workspace


def test_new_store_is_wal_at_latest_schema_and_private(store: Store, workspace: Workspace) -> None:
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert workspace.db_path.stat().st_mode & 0o077 == 0
    assert workspace.path.stat().st_mode & 0o077 == 0


def test_read_commands_do_not_create_a_workspace(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no opsgen workspace"):
        Store.open(Workspace(tmp_path / "absent"))
    assert not (tmp_path / "absent").exists()


def test_migrates_a_version_1_database_keeping_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(MIGRATIONS[0])
    conn.execute(
        "INSERT INTO changes (name, request, lang, source, created_at, created_by)"
        " VALUES ('old', 'r', 'bash', 'import', 't', 'alice')"
    )
    conn.execute("PRAGMA user_version = 1")
    conn.close()
    migrated = db.connect(path)
    assert migrated.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert migrated.execute("SELECT name FROM changes").fetchone()[0] == "old"
    assert migrated.execute("SELECT count(*) FROM exports").fetchone()[0] == 0


def test_refuses_a_database_newer_than_this_opsgen(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    sqlite3.connect(path).execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(ConfigError, match="newer than this opsgen"):
        db.connect(path)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE revisions SET script = 'rm -rf /'",
        "DELETE FROM audit",
        "UPDATE decisions SET by = 'mallory'",
        "DELETE FROM evidence",
    ],
)
def test_evidence_rows_are_append_only(store: Store, sql: str) -> None:
    _, revision, record = seed_change(store)
    store.add_decision(revision, record, kind="approve", by="bob", comment="")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.conn.execute(sql)


def test_revisions_are_numbered_and_hashed_from_their_bytes(store: Store) -> None:
    change, first, _ = seed_change(store)
    second = store.add_revision(change.id, "echo two\n", actor="alice", note="n")
    assert (first.number, second.number) == (1, 2)
    assert second.sha256 == sha256_text("echo two\n") and second.intact
    assert store.revision(change.id).id == second.id
    assert [r.number for r in store.revisions(change.id)] == [1, 2]
    with pytest.raises(InputError, match="no revision 9"):
        store.revision(change.id, 9)
    with pytest.raises(InputError, match="no change 42"):
        store.revision(42)


def test_evidence_hash_is_stable_through_the_store(store: Store) -> None:
    evidence = make_evidence(findings=(error_finding(),))
    _, _, record = seed_change(store, evidence=evidence)
    assert record.sha256 == evidence.sha256
    assert record.intact
    assert record.evidence == Evidence.from_dict(evidence.to_dict())
    assert Evidence.from_dict(evidence.to_dict()).sha256 == evidence.sha256


def test_evidence_hash_covers_findings_report_and_image() -> None:
    base = make_evidence()
    assert make_evidence(findings=(error_finding(),)).sha256 != base.sha256
    assert make_evidence(dryrun=False).sha256 != base.sha256
    other_image = Evidence(base.findings, base.dryrun, "sha256:other", "")
    assert other_image.sha256 != base.sha256
    assert Evidence(base.findings, base.dryrun, base.image_id, "").sha256 == base.sha256


@pytest.mark.parametrize(
    "name", ["", " ", "a\x1b[2Jb", "bob\nApproved-by: eve", "x\u202eevil", "n" * 101]
)
def test_person_names_refuse_control_and_bidi_characters(name: str) -> None:
    with pytest.raises(InputError):
        check_person(name)


def test_workspace_resolution_option_then_env_then_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPSGEN_WORKSPACE", raising=False)
    assert resolve_workspace().path == Path(".opsgen")
    monkeypatch.setenv("OPSGEN_WORKSPACE", str(tmp_path / "env"))
    assert resolve_workspace().path == tmp_path / "env"
    assert resolve_workspace(tmp_path / "opt").path == tmp_path / "opt"


def test_review_policy_from_config(workspace: Workspace) -> None:
    workspace.ensure()
    assert workspace.policy() == ReviewPolicy(require=1, forbid_self_approval=False)
    workspace.config_path.write_text("[review]\nrequire = 2\nforbid_self_approval = true\n")
    assert workspace.policy() == ReviewPolicy(require=2, forbid_self_approval=True)
    for bad in ("[review]\nrequire = 0\n", "[review]\nrequire = 'two'\n", "[review\n"):
        workspace.config_path.write_text(bad)
        with pytest.raises(ConfigError):
            workspace.policy()
