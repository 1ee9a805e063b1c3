"""Export to git with plumbing: the user's checkout is never touched, hooks never run."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from opsgen.errors import DirtyWorktree, ExportError
from opsgen.export import export_change
from opsgen.export.service import ExportResult
from opsgen.flow.testing import SCRIPT
from opsgen.store.canonical import sha256_text
from opsgen.store.repo import Store


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def _export(store: Store, change_id: int, repo: Path, **kw: object) -> ExportResult:
    return export_change(store, change_id, actor="ops", repo=repo, **kw)  # type: ignore[arg-type]


def _snapshot(repo: Path) -> tuple[str, str, str, bytes]:
    return (
        git(repo, "rev-parse", "HEAD"),
        git(repo, "symbolic-ref", "HEAD"),
        git(repo, "status", "--porcelain", "--untracked-files=all"),
        (repo / ".git/index").read_bytes(),
    )


def test_commits_to_a_new_branch_without_touching_the_checkout(
    store: Store, approved: int, repo: Path
) -> None:
    (repo / "wip.txt").write_text("uncommitted work\n")  # a dirty tree must survive as is
    before = _snapshot(repo)
    result = _export(store, approved, repo)
    assert _snapshot(repo) == before
    assert not (repo / "scripts").exists()
    assert result.branch == "opsgen/motd" and not result.unchanged
    assert git(repo, "rev-parse", "opsgen/motd^") == before[0]  # branched from HEAD
    listing = git(repo, "ls-tree", "-r", "opsgen/motd")
    assert "100755 blob" in next(line for line in listing.splitlines() if "scripts/motd.sh" in line)
    assert git(repo, "show", "opsgen/motd:scripts/motd.sh") + "\n" == SCRIPT
    manifest = json.loads(git(repo, "show", "opsgen/motd:scripts/motd.opsgen.json"))
    assert manifest["revision"]["sha256"] == sha256_text(SCRIPT)
    message = git(repo, "log", "-1", "--format=%B", "opsgen/motd")
    assert "Set the motd" in message and "hunter2hunter2" not in message
    assert "Approved-by: bob at " in message
    assert f"Script-SHA256: {sha256_text(SCRIPT)}" in message
    assert "Evidence-SHA256: " in message and "Audit-Anchor: " in message
    assert store.exports(approved)[0].commit_sha == result.commit


def test_re_export_of_the_same_approval_adds_no_commit(
    store: Store, approved: int, repo: Path
) -> None:
    first = _export(store, approved, repo)
    second = _export(store, approved, repo)
    assert second.unchanged and second.commit == first.commit


def test_existing_branch_gets_a_child_commit(store: Store, approved: int, repo: Path) -> None:
    git(repo, "branch", "ops")
    tip = git(repo, "rev-parse", "ops")
    result = _export(store, approved, repo, branch="ops", path="bin/tools")
    assert git(repo, "rev-parse", f"{result.commit}^") == tip
    assert "bin/tools/motd.sh" in git(repo, "ls-tree", "-r", "--name-only", "ops")
    assert "README" in git(repo, "ls-tree", "-r", "--name-only", "ops")  # tree kept


def test_the_checked_out_branch_is_refused(store: Store, approved: int, repo: Path) -> None:
    before = _snapshot(repo)
    with pytest.raises(DirtyWorktree, match="branch main is checked out in"):
        _export(store, approved, repo, branch="main")
    assert _snapshot(repo) == before
    assert store.exports(approved) == []


def test_a_branch_checked_out_in_another_worktree_is_refused(
    store: Store, approved: int, repo: Path, tmp_path: Path
) -> None:
    git(repo, "worktree", "add", "-q", "-b", "feature", str(tmp_path / "wt"))
    with pytest.raises(DirtyWorktree, match="branch feature is checked out"):
        _export(store, approved, repo, branch="feature")


def test_bare_repository_accepts_its_head_branch(
    store: Store, approved: int, repo: Path, tmp_path: Path
) -> None:
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(bare)], check=True)
    result = _export(store, approved, bare, branch="main")
    assert git(bare, "rev-parse", "main") == result.commit


def test_playbooks_go_where_ansible_expects_them(
    store: Store, approved_playbook: int, repo: Path
) -> None:
    _export(store, approved_playbook, repo)
    files = git(repo, "ls-tree", "-r", "--name-only", "opsgen/site").splitlines()
    assert "playbooks/site.yml" in files and "playbooks/site.opsgen.json" in files
    _export(store, approved_playbook, repo, branch="roles", as_role=True)
    files = git(repo, "ls-tree", "-r", "--name-only", "roles").splitlines()
    assert "roles/site/tasks/main.yml" in files and "roles/site/site.opsgen.json" in files


def test_repository_hooks_are_not_run(store: Store, approved: int, repo: Path) -> None:
    marker = repo.parent / "hook-ran"
    for hook in ("reference-transaction", "post-commit", "pre-commit"):
        path = repo / ".git/hooks" / hook
        path.write_text(f"#!/bin/sh\ntouch {marker}\n")
        path.chmod(0o755)
    _export(store, approved, repo)
    assert not marker.exists()


@pytest.mark.parametrize(
    "branch", ["main..x", "-x", "a b", "x\x1b[2J", "refs/../x", "x.lock", "a:b", "HEAD", "x\u202e"]
)
def test_hostile_branch_names_are_refused(
    store: Store, approved: int, repo: Path, branch: str
) -> None:
    with pytest.raises(ExportError, match="invalid branch name"):
        _export(store, approved, repo, branch=branch)


def test_hostile_paths_never_reach_git(store: Store, approved: int, repo: Path) -> None:
    for path in ("../outside", "/abs", ".git/hooks", "a/\x1b]0;x\x07"):
        with pytest.raises(ExportError, match="refusing --path"):
            _export(store, approved, repo, path=path)
    assert git(repo, "branch", "--list") == "* main"


def test_not_a_repository_is_refused(store: Store, approved: int, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="is not a git repository"):
        _export(store, approved, tmp_path)


def test_works_without_a_configured_identity(
    store: Store, approved: int, repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    git(repo, "config", "--unset", "user.name")
    git(repo, "config", "--unset", "user.email")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    result = _export(store, approved, repo)
    assert (
        git(repo, "log", "-1", "--format=%an <%ae>", result.commit) == "opsgen <opsgen@localhost>"
    )
