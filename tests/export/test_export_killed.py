"""A real ``opsgen export`` process killed with SIGKILL mid-export leaves nothing partial.

``OPSGEN_TEST_PAUSE_AT=<step>`` makes the export announce the step on stderr and sleep; the
test then SIGKILLs it (no cleanup code can run) and inspects the folder, the repository and
the store.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from opsgen.approval import approve
from opsgen.export import export_change, verify_artifact
from opsgen.flow.testing import SCRIPT, make_evidence
from opsgen.store.integrity import verify_store
from opsgen.store.repo import Store
from opsgen.store.workspace import Workspace


def _git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=check, capture_output=True, text=True
    )


def _kill_export_at(step: str, workspace: Workspace, change_id: int, *target: str) -> None:
    env = dict(os.environ, OPSGEN_TEST_PAUSE_AT=step, OPSGEN_USER="ops")
    cmd = [
        sys.executable,
        "-m",
        "opsgen.cli",
        "export",
        str(change_id),
        *target,
        "--workspace",
        str(workspace.path),
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    deadline, seen = time.monotonic() + 60, b""
    while f"opsgen-test-pause: {step}".encode() not in seen:
        ready, _, _ = select.select([proc.stderr], [], [], max(0.0, deadline - time.monotonic()))
        chunk = os.read(proc.stderr.fileno(), 4096) if ready else b""
        if not chunk:
            proc.kill()
            pytest.fail(f"export never reached {step}: {seen.decode(errors='replace')}")
        seen += chunk
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def _files(folder: Path, settle: float = 5.0) -> list[str]:
    """Files under ``folder`` once the reaper of the killed process has run."""
    deadline = time.monotonic() + settle
    while True:
        names = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
        if not any(".opsgen-tmp-" in n for n in names) or time.monotonic() > deadline:
            return names
        time.sleep(0.05)


@pytest.mark.parametrize("step", ["writing", "staged"])
def test_killed_first_export_leaves_no_file(
    step: str, store: Store, approved: int, workspace: Workspace, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    _kill_export_at(step, workspace, approved, "--to", str(out))
    assert _files(out) == []
    assert store.exports(approved) == [] and verify_store(store.conn) == []


@pytest.mark.parametrize("step", ["writing", "staged"])
def test_killed_re_export_keeps_the_previous_export_whole(
    step: str, store: Store, approved: int, workspace: Workspace, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    export_change(store, approved, actor="ops", to=out)
    revision = store.add_revision(approved, "echo two\n" * 500, actor="alice")
    store.add_evidence(revision, make_evidence(script=revision.script), actor="alice")
    approve(store, approved, by="bob")
    _kill_export_at(step, workspace, approved, "--to", str(out))
    assert _files(out) == ["motd.opsgen.json", "motd.sh"]
    assert (out / "motd.sh").read_bytes() == SCRIPT.encode()
    assert verify_artifact(out / "motd.sh").ok
    assert len(store.exports(approved)) == 1


@pytest.mark.parametrize("step", ["git-objects", "git-commit"])
def test_killed_git_export_leaves_no_branch_or_commit(
    step: str, store: Store, approved: int, workspace: Workspace, repo: Path
) -> None:
    _kill_export_at(step, workspace, approved, "--repo", str(repo))
    assert (
        _git(repo, "rev-parse", "--verify", "-q", "refs/heads/opsgen/motd", check=False).returncode
        != 0
    )
    assert _git(repo, "branch", "--list").stdout.strip() == "* main"
    assert _git(repo, "status", "--porcelain").stdout == ""
    assert _git(repo, "fsck", "--no-dangling").returncode == 0
    assert store.exports(approved) == [] and verify_store(store.conn) == []


def test_killed_git_export_leaves_an_existing_branch_where_it_was(
    store: Store, approved: int, workspace: Workspace, repo: Path
) -> None:
    _git(repo, "branch", "ops")
    tip = _git(repo, "rev-parse", "ops").stdout
    _kill_export_at("git-commit", workspace, approved, "--repo", str(repo), "--branch", "ops")
    assert _git(repo, "rev-parse", "ops").stdout == tip
    export_change(store, approved, actor="ops", repo=repo, branch="ops")  # and it recovers
    assert _git(repo, "rev-parse", "ops^").stdout == tip
