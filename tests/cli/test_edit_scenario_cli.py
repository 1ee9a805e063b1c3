"""Issue 16: a change's scenario survives edits, and ``opsgen edit --scenario`` replaces it.

The scenario lives in the evidence (the dry-run report's ``scenario``), so every new
revision and every ``--recheck`` must run the scenario of the latest evidence again;
``--scenario``/``--given``/``--expect`` replace it and ``--no-scenario`` drops it, each as a
new revision (even of the same bytes) whose evidence an old approval does not cover.

Only the sandbox itself is replaced here (``opsgen.sandbox.dryrun``, a fake that records the
scenario it was given and reports its checks as passed): lint, ``evaluate``,
``dryrun_report`` and the scenario lint are the real ones. The ``docker``-marked test at the
end runs the real sandbox.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import opsgen.sandbox
from opsgen.cli import main
from opsgen.errors import OpsError, SandboxUnavailable
from opsgen.flow.record import recheck, revise, stored_scenario
from opsgen.flow.testing import fake_report
from opsgen.sandbox.models import CheckResult, DryRunReport
from opsgen.scenario import Check, Scenario
from opsgen.store.repo import Store
from opsgen.store.workspace import resolve_workspace

SCRIPT = "#!/bin/bash\nset -euo pipefail\nmkdir -p /srv/app\n"
V2 = SCRIPT + "chmod 0750 /srv/app\n"
CHECK_A = "test -d /srv/app"
CHECK_B = "test \"$(stat -c %a /srv/app)\" = 750"
SGR = re.compile(r"\x1b\[[0-9;]*m")


class FakeSandbox:
    """``opsgen.sandbox.dryrun`` without Docker: a passing two-run report whose checks held
    after the script and not before; remembers each scenario it was given."""

    def __init__(self) -> None:
        self.ran: list[Scenario | None] = []

    def __call__(self, text: str, lang: str, options: Any = None, *,
                 scenario: Scenario | None = None, **_: Any) -> DryRunReport:
        self.ran.append(scenario)
        report = fake_report(text, lang=lang)
        if scenario is None:
            return report
        checks = tuple(CheckResult(c.name, c.run, c.source, before=1, after=0)
                       for c in scenario.checks)
        return replace(report, scenario=scenario.to_dict(), checks=checks)


@pytest.fixture(autouse=True)
def seam(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
         request: pytest.FixtureRequest) -> FakeSandbox:
    """A temp workspace and cwd; the fake sandbox unless the test is marked docker."""
    sandbox = FakeSandbox()
    if request.node.get_closest_marker("docker") is None:
        monkeypatch.setattr(opsgen.sandbox, "dryrun", sandbox)
    monkeypatch.setenv("OPSGEN_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.setenv("OPSGEN_USER", "alice")
    monkeypatch.chdir(tmp_path)
    return sandbox


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, (out, err)
    return json.loads(out)


def imported(capsys: pytest.CaptureFixture[str], *scenario: str) -> int:
    Path("app.sh").write_text(SCRIPT)
    return int(run_json(capsys, "import", "app.sh", *scenario)["id"])


def stored_checks(capsys: pytest.CaptureFixture[str], change: int) -> list[str]:
    report = run_json(capsys, "show", str(change))["evidence"]["dryrun"]
    return [c["run"] for c in (report["scenario"] or {}).get("checks", [])]


def test_edit_and_recheck_keep_the_scenario(
    capsys: pytest.CaptureFixture[str], seam: FakeSandbox
) -> None:
    change = imported(capsys, "--expect", CHECK_A)
    Path("v2.sh").write_text(V2)
    data = run_json(capsys, "edit", str(change), "--file", "v2.sh")
    assert data["revision"] == 2 and data["scenario_replaced"] is False
    assert [c["run"] for c in data["scenario"]["checks"]] == [CHECK_A]
    assert seam.ran[-1] is not None and seam.ran[-1].checks[0].run == CHECK_A
    assert stored_checks(capsys, change) == [CHECK_A]

    code, out, _ = run(capsys, "edit", str(change), "--recheck")
    assert code == 0 and "scenario (kept): 1 check(s)" in out and CHECK_A in out
    assert seam.ran[-1] is not None and seam.ran[-1].checks[0].run == CHECK_A
    assert stored_checks(capsys, change) == [CHECK_A]


def test_a_new_scenario_makes_a_revision_of_the_same_bytes_and_voids_the_approval(
    capsys: pytest.CaptureFixture[str], seam: FakeSandbox
) -> None:
    change = imported(capsys, "--expect", CHECK_A)
    assert run(capsys, "approve", str(change), "--by", "bob")[0] == 0
    first = run_json(capsys, "show", str(change))
    assert first["signoff"]["status"] == "approved"

    Path("s.yml").write_text(f"checks:\n  - name: mode is 750\n    run: '{CHECK_B}'\n")
    data = run_json(capsys, "edit", str(change), "--scenario", "s.yml")
    assert data["changed"] and data["scenario_replaced"] and data["revision"] == 2
    assert data["scenario"]["checks"] == [
        {"name": "mode is 750", "run": CHECK_B, "source": "operator"}]
    assert data["status"] != "approved" and len(data["stale_approvals"]) == 1
    shown = run_json(capsys, "show", str(change))
    assert shown["revision"]["number"] == 2 and shown["revision"]["note"] == "scenario replaced"
    assert shown["revision"]["sha256"] == first["revision"]["sha256"]  # the same bytes
    assert shown["signoff"]["evidence_sha256"] != first["signoff"]["evidence_sha256"]
    assert stored_checks(capsys, change) == [CHECK_B]

    code, _, err = run(capsys, "export", str(change), "--to", "out")
    assert code == 6 and "approval by bob was for an earlier revision" in err
    # giving the same scenario again changes nothing
    code, out, _ = run(capsys, "edit", str(change), "--scenario", "s.yml")
    assert code == 0 and "No changes" in out


def test_no_scenario_drops_it_and_later_edits_stay_without(
    capsys: pytest.CaptureFixture[str], seam: FakeSandbox
) -> None:
    change = imported(capsys, "--expect", CHECK_A)
    code, out, _ = run(capsys, "edit", str(change), "--no-scenario")
    assert code == 0 and "revision 2 stored (same script)" in out and "scenario: none" in out
    assert seam.ran[-1] is None and stored_checks(capsys, change) == []
    assert run_json(capsys, "edit", str(change), "--recheck")["scenario"] is None
    assert seam.ran[-1] is None


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--recheck", "--expect", CHECK_A], "--recheck keeps the stored scenario"),
        (["--no-scenario", "--expect", CHECK_A], "--no-scenario drops"),
        (["--no-dryrun", "--expect", CHECK_A], "runs in the dry-run"),
        (["--no-dryrun", "--no-scenario"], "runs in the dry-run"),
        (["--scenario", "missing.yml"], "no such file"),
    ],
)
def test_scenario_options_that_cannot_mean_anything_are_refused(
    capsys: pytest.CaptureFixture[str], seam: FakeSandbox, args: list[str], needle: str
) -> None:
    change = imported(capsys, "--expect", CHECK_A)
    before = len(seam.ran)
    code, out, err = run(capsys, "edit", str(change), *args)
    assert code in (2, 3) and needle in err and "Traceback" not in err, (out, err)
    assert len(seam.ran) == before  # nothing ran, nothing stored
    assert run_json(capsys, "show", str(change))["signoff"]["revision"] == 1


def test_scenario_findings_show_escaped_and_block_sign_off(
    capsys: pytest.CaptureFixture[str], seam: FakeSandbox
) -> None:
    change = imported(capsys)
    Path("evil.yml").write_text(
        'checks:\n  - name: "\\e[2J\\e]0;pwned\\aVerdict: OK"\n'
        "    run: curl -fsS http://evil.example/x | grep -q ok\n"
        "  - rm -rf --no-preserve-root /\n")
    code, out, err = run(capsys, "edit", str(change), "--scenario", "evil.yml")
    assert code == 0, err
    assert "\x1b" not in SGR.sub("", out) and "\x07" not in out
    plain = SGR.sub("", out)
    assert "OPS601" in plain and "evil.example" in plain and "rm -rf --no-preserve-root /" in plain
    assert "scenario:check '\\x1b[2J" in plain  # the name spelled out, not interpreted
    data = run_json(capsys, "edit", str(change), "--recheck")
    codes = {f["code"]: f["location"]["path"] for f in data["findings"]}
    assert codes["OPS601"].startswith("scenario:check '\\x1b[2J")
    assert "OPS107" in codes  # the shell lint of a check: rm -rf /
    assert data["status"] == "failing" and any("OPS601" in b for b in data["blockers"])
    code, _, err = run(capsys, "approve", str(change), "--by", "bob")
    assert code == 6 and "OPS601" in err


def test_dryrun_reports_the_scenarios_findings(
    capsys: pytest.CaptureFixture[str], seam: FakeSandbox
) -> None:
    Path("app.sh").write_text(SCRIPT)
    code, out, _ = run(capsys, "dryrun", "app.sh", "--json",
                       "--expect", "wget -qO- http://198.51.100.7/ | grep -q ok",
                       "--expect", "test -S /var/run/docker.sock")
    data = json.loads(out)
    assert code == 1 and data["ok"] is False  # an error finding: the verdict is NOT OK
    found = {f["code"]: f for f in data["findings"]}
    assert found["OPS601"]["severity"] == "error"
    assert found["OPS601"]["location"]["path"] == (
        "scenario:check 'wget -qO- http://198.51.100.7/ | grep -q ok'")
    assert found["OPS602"]["severity"] == "warning"
    code, out, _ = run(capsys, "dryrun", "app.sh", "--expect", "test -d /srv/app")
    assert code == 0 and "OPS6" not in out


# --- the flow functions ------------------------------------------------------------------


def _store(tmp_path: Path) -> Store:
    return Store.open(resolve_workspace(tmp_path / "ws"), create=True)


def test_stored_scenario_skips_evidence_without_a_dry_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, seam: FakeSandbox
) -> None:
    change = imported(capsys, "--expect", CHECK_A)
    with _store(tmp_path) as store:
        revise(store, change, V2, author="alice", dryrun=False)  # ran no scenario
        kept = stored_scenario(store, change)
        assert kept is not None and [c.run for c in kept.checks] == [CHECK_A]
        recheck(store, change, actor="alice")
        assert seam.ran[-1] == kept
        with pytest.raises(OpsError, match="runs in the dry-run"):
            revise(store, change, V2, author="alice", dryrun=False,
                   scenario=Scenario("", (Check("b", CHECK_B),)))


def test_a_new_scenario_that_could_not_run_stores_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    change = imported(capsys, "--expect", CHECK_A)

    def unavailable(*_: Any, **__: Any) -> DryRunReport:
        raise SandboxUnavailable("no Docker engine answered")

    monkeypatch.setattr(opsgen.sandbox, "dryrun", unavailable)
    Path("s.yml").write_text(f"checks: ['{CHECK_B}']\n")
    code, _, err = run(capsys, "edit", str(change), "--scenario", "s.yml")
    assert code == 4 and "nothing stored" in err and "Traceback" not in err
    assert run_json(capsys, "show", str(change))["signoff"]["revision"] == 1


def test_a_tampered_evidence_scenario_is_not_reused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    change = imported(capsys, "--expect", CHECK_A)
    raw = sqlite3.connect(tmp_path / "ws" / "opsgen.db", isolation_level=None)
    raw.execute("DROP TRIGGER IF EXISTS evidence_no_update")  # what a writer of the file can do
    body = raw.execute("SELECT body FROM evidence").fetchone()[0]
    raw.execute("UPDATE evidence SET body = ?", (body.replace(CHECK_A, "true"),))
    raw.close()
    with _store(tmp_path) as store, pytest.raises(OpsError, match="does not match its hash"):
        stored_scenario(store, change)


# --- the real sandbox ---------------------------------------------------------------------


@pytest.mark.docker
def test_an_edited_change_keeps_its_check_results(
    capsys: pytest.CaptureFixture[str], docker_client: Any, no_leaks: None
) -> None:
    Path("app.sh").write_text(SCRIPT)
    data = run_json(capsys, "import", "app.sh", "--expect", CHECK_A)
    change = str(data["id"])
    Path("v2.sh").write_text(V2)
    code, out, err = run(capsys, "edit", change, "--file", "v2.sh")
    assert code == 0 and "revision 2 stored" in out, (out, err)
    report = run_json(capsys, "show", change)["evidence"]["dryrun"]
    assert [c["run"] for c in report["scenario"]["checks"]] == [CHECK_A]
    assert [(c["before"], c["after"]) for c in report["checks"]] == [(1, 0)]
    assert report["vetted"] is True
