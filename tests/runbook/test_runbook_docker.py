"""Real dry-runs of converted runbooks, two containers at a time (needs Docker)."""

from __future__ import annotations

from pathlib import Path

import pytest
from runbook_helpers import FIXTURES

from opsgen.flow.checks import SandboxChecks
from opsgen.runbook.batch import BatchOptions, discover, run_batch
from opsgen.runbook.ledger import Ledger
from opsgen.runbook.output import OutputFiles
from opsgen.store.repo import Store
from opsgen.store.workspace import Workspace

IDEMPOTENT = "# Prepare\n\n```bash\nmkdir -p /opt/opsgen-rb\nsudo apt-get clean\n```\n"
NEEDS = "# Restart\n\n1. Restart it: `sudo systemctl restart <service>`\n"


@pytest.mark.docker
def test_parallel_dryruns_verdicts(docker_client, no_leaks, tmp_path: Path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a-prepare.md").write_text(IDEMPOTENT)
    (folder / "b-restart.md").write_text(NEEDS)
    (folder / "c-malicious.md").write_text((FIXTURES / "malicious.md").read_text())
    sources, _ = discover([folder])
    files = OutputFiles(None, tmp_path / "rep")
    files.start()
    with Store.open(Workspace(tmp_path / "ws"), create=True) as store:
        rows = run_batch(
            sources,
            BatchOptions(jobs=2),
            store=store,
            checks=SandboxChecks(timeout=60),
            ledger=Ledger(tmp_path / "ledger.jsonl"),
            files=files,
        )
        by = {r.path: r for r in rows}
        assert (by["a-prepare.md"].dryrun, by["a-prepare.md"].idempotent) == ("passed", True)
        assert by["b-restart.md"].dryrun == "needs parameters"
        evil = by["c-malicious.md"]
        assert evil.dryrun == "failed" and evil.errors >= 3  # no network: curl | sh fails
        evidence = store.latest_evidence(store.revision(evil.change_id).id).evidence
        assert evidence.blockers()  # cannot be approved without --override
