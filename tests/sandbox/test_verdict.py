"""The verdict never contradicts the findings, and idempotence is only claimed when proven.

Issue 14: a report said ``limits hit: disk``, ``error OPS405`` and then ``Verdict: OK`` with
exit 0; and ``dryrun --twice --json`` said ``"idempotent": true`` for a second run that
failed (OPS408). Any unsuppressed error finding makes the verdict NOT OK; a run that failed
or was killed proves nothing about idempotence, so it is None (JSON null, shown "unknown").
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from opsgen.findings import Finding, Location, Severity
from opsgen.sandbox.models import DryRunReport, RunResult, SystemDiff
from opsgen.sandbox.outcomes import outcome_finding
from opsgen.sandbox.stage import outcome_findings

sys.path.insert(0, str(Path(__file__).parent))
from helpers import render
from test_cli_dryrun import opsgen

PASSED = RunResult(0, "passed", 0.1, "", "")
FAILED = RunResult(4, "failed", 0.1, "", "boom\n")
KILLED = RunResult(137, "killed", 0.1, "", "", stop_reason="timeout", limits_hit=("timeout",))


def report(*runs: RunResult, second: SystemDiff | None = None) -> DryRunReport:
    r = DryRunReport(
        lang="bash",
        image="opsgen-sandbox:test",
        image_id="sha256:" + "ab" * 32,
        script_sha256="0" * 64,
        runs=runs,
        diff=SystemDiff(),
        second_diff=second,
    )
    return replace(r, findings=tuple(outcome_findings(r)))


def test_an_error_finding_makes_the_verdict_not_ok() -> None:
    # A run that passed but hit a limit (ENOSPC in /tmp, script went on and exited 0).
    run = replace(PASSED, limits_hit=("disk",), stderr="No space left on device\n")
    r = report(run)
    assert "OPS405" in {f.code for f in r.findings}
    assert not r.ok and not r.to_dict()["ok"]
    assert "Verdict: NOT OK" in _plain(render(r))


def test_a_suppressed_error_or_a_warning_does_not_block() -> None:
    base = report(PASSED)
    warn = replace(base, findings=(outcome_finding("OPS404"),))
    assert warn.ok
    hidden = Finding("OPS405", Severity.ERROR, "x", Location("<dry-run>"), suppressed=True)
    assert replace(base, findings=(hidden,)).ok


@pytest.mark.parametrize("second_run", [FAILED, KILLED], ids=["failed", "killed"])
def test_idempotence_is_unknown_unless_both_runs_passed(second_run: RunResult) -> None:
    r = report(PASSED, second_run, second=SystemDiff())
    assert r.idempotent is None and r.to_dict()["idempotent"] is None
    assert not r.ok
    assert "OPS404" not in {f.code for f in r.findings}
    text = _plain(render(r))
    assert "Idempotence: unknown" in text and "changed nothing" not in text


def test_idempotence_still_proven_when_both_runs_passed() -> None:
    assert report(PASSED, PASSED, second=SystemDiff()).idempotent is True
    assert report(PASSED).idempotent is None


def _plain(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)


@pytest.mark.docker
def test_cli_disk_limit_is_not_ok_and_exits_1(
    tmp_path: Path, docker_client: Any, no_leaks: None
) -> None:
    # Fills the 64 MiB /tmp tmpfs (ENOSPC / SIGXFSZ), ignores the error and exits 0.
    script = tmp_path / "fill.sh"
    script.write_text("#!/bin/bash\ndd if=/dev/zero of=/tmp/f bs=1M count=100\nexit 0\n")
    proc = opsgen("dryrun", str(script))
    text = _plain(proc.stdout)
    assert "limits hit: disk" in text and "OPS405" in text
    assert "Verdict: NOT OK" in text
    assert proc.returncode == 1, proc.stdout + proc.stderr


@pytest.mark.docker
def test_cli_twice_json_second_run_failed_is_not_idempotent_true(
    tmp_path: Path, docker_client: Any, no_leaks: None
) -> None:
    # Passes once, fails the second time without changing anything.
    script = tmp_path / "once.sh"
    script.write_text("#!/bin/bash\n[ -e /etc/once ] && exit 4\ntouch /etc/once\n")
    proc = opsgen("dryrun", "--json", "--twice", str(script))
    data = json.loads(proc.stdout)
    assert [r["status"] for r in data["runs"]] == ["passed", "failed"]
    assert "OPS408" in {f["code"] for f in data["findings"]}
    assert data["idempotent"] is None and data["ok"] is False
    assert proc.returncode == 1


def test_new_fields_survive_the_stored_json_round_trip() -> None:
    from opsgen.review.report_model import report_from_dict
    from opsgen.store.canonical import normalise

    run = replace(
        PASSED,
        disk_bytes=123_456,
        disk_inodes=42,
        disk_accounting="blocks",
        leftover_processes=("35 sleep 1000",),
    )
    r = report(run, run, second=SystemDiff(summarised=(("/var", 7),)))
    r = replace(r, diff=SystemDiff(summarised=(("/var", 9), ("…", 0))))
    back = report_from_dict(normalise(r.to_dict()))
    assert back == r
    assert back.diff.summarised_count == 9 and back.idempotent is None
