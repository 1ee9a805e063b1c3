"""Background processes still running when the script ended are reported (OPS409).

A script that starts ``sleep 1000 &`` (with ``disown`` or ``nohup``) and exits looks like it
passed, but on a real host that process would go on running. In the sandbox it is killed
with the container; the run shim lists what is left before the container stops, and the
report says so (a warning: it may be intended, but the operator should know).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from opsgen.sandbox.models import DryRunReport

sys.path.insert(0, str(Path(__file__).parent))
from helpers import dry, render

pytestmark = pytest.mark.docker


def codes(report: DryRunReport) -> set[str]:
    return {f.code for f in report.findings}


@pytest.mark.parametrize(
    "script",
    [
        "sleep 1000 &\ndisown\necho started\n",
        "nohup sleep 1000 >/dev/null 2>&1 &\necho started\n",
        "( setsid sleep 1000 & )\necho started\n",
    ],
    ids=["disown", "nohup", "setsid-double-fork"],
)
def test_background_process_left_running_is_reported(
    docker_client: Any, no_leaks: None, script: str
) -> None:
    report = dry(docker_client, script)
    run = report.first
    assert run.status == "passed" and run.stdout == "started\n", run
    assert run.duration_s < 10  # killed with the container, not waited for
    # Listed the instant the script ended, nohup may not have exec'd sleep yet.
    names = ("sleep 1000", "nohup")
    assert any(n in p for p in run.leftover_processes for n in names), run.leftover_processes
    found = [f for f in report.findings if f.code == "OPS409"]
    assert len(found) == 1 and found[0].severity.value == "warning"
    assert any(n in found[0].message for n in names)
    assert report.ok  # a warning, not an error
    text = render(report)
    assert "still running" in text and any(n in text for n in names)


def test_no_background_process_no_finding(docker_client: Any, no_leaks: None) -> None:
    report = dry(docker_client, "sleep 0.2 &\nwait\necho done\n")
    run = report.first
    assert run.status == "passed" and run.stdout == "done\n"
    assert run.leftover_processes == ()
    assert "OPS409" not in codes(report)
    assert "still running" not in render(report)


def test_exit_status_is_kept(docker_client: Any, no_leaks: None) -> None:
    # The shim no longer execs the script: its exit status must still be the run's.
    report = dry(docker_client, "sleep 1000 &\nexit 7\n")
    assert report.first.exit_code == 7 and report.first.status == "failed"
    assert "OPS409" in codes(report)
