"""Two real processes writing one store at once: WAL + BEGIN IMMEDIATE keep it whole."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from opsgen.approval import sign_off
from opsgen.flow.testing import seed_change
from opsgen.store import audit
from opsgen.store.integrity import verify_store
from opsgen.store.repo import Store
from opsgen.store.workspace import Workspace

N_CHANGES = 8

# Each worker waits for the start file, then approves every change as one person.
WORKER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from opsgen.approval import ApprovalRefused, approve
    from opsgen.store.repo import Store
    from opsgen.store.workspace import Workspace

    ws, who, start, n = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
    while not start.exists():
        time.sleep(0.005)
    ok = refused = 0
    with Store.open(Workspace(ws)) as store:
        for change_id in range(1, n + 1):
            try:
                approve(store, change_id, by=who, comment=f"from {who}")
                ok += 1
            except ApprovalRefused:
                refused += 1
    print(ok, refused)
    """
)


def _run_workers(tmp_path: Path, workspace: Workspace, names: list[str]) -> list[tuple[int, int]]:
    start = tmp_path / "start"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(workspace.path), who, str(start), str(N_CHANGES)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for who in names
    ]
    time.sleep(0.5)  # both interpreters are up and polling
    start.touch()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        ok, refused = out.split()
        results.append((int(ok), int(refused)))
    return results


def _seed(workspace: Workspace, require: int) -> None:
    with Store.open(workspace, create=True) as store:
        for i in range(N_CHANGES):
            seed_change(store, name=f"c{i}")
    workspace.config_path.write_text(f"[review]\nrequire = {require}\n")


def test_two_approvers_in_two_processes_both_land(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path / "ws")
    _seed(workspace, require=2)
    assert _run_workers(tmp_path, workspace, ["alice", "bob"]) == [(N_CHANGES, 0)] * 2
    with Store.open(workspace) as store:
        assert verify_store(store.conn) == []
        assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        for change_id in range(1, N_CHANGES + 1):
            state = sign_off(store, change_id)
            assert sorted(state.approvers) == ["alice", "bob"] and state.status == "approved"
        seqs = [e.seq for e in audit.entries(store.conn)]
        assert seqs == list(range(1, N_CHANGES * 3 + 2 * N_CHANGES + 1))


def test_the_same_approver_racing_himself_is_recorded_once(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path / "ws")
    _seed(workspace, require=1)
    results = _run_workers(tmp_path, workspace, ["alice", "alice"])
    assert sum(ok for ok, _ in results) == N_CHANGES
    assert sum(refused for _, refused in results) == N_CHANGES
    conn = sqlite3.connect(workspace.db_path)
    assert conn.execute("SELECT count(*) FROM decisions").fetchone()[0] == N_CHANGES
    with Store.open(workspace) as store:
        assert verify_store(store.conn) == []
