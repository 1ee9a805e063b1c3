"""Issue 16: "vetted" must mean "does what was asked", not only "runs".

A scenario prepares the state the request presupposes and checks its postconditions, in
the same disposable container as the script: prepare → checks (before) → run(s) → checks
(after). A check that already held before proves nothing (vacuous, never counted); a check
that fails after the script is an error (OPS411); a prepare that fails is the scenario's
fault, and the script is then not run (OPS413).
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from opsgen.findings import Severity
from opsgen.sandbox.models import CheckResult, DryRunReport, RunResult, SystemDiff
from opsgen.sandbox.stage import outcome_findings
from opsgen.scenario import Check, Scenario

sys.path.insert(0, str(Path(__file__).parent))
from helpers import SGR, render

PASSED = RunResult(0, "passed", 0.1, "", "")
PREPARED = RunResult(0, "passed", 0.1, "", "")


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def _report(*checks: CheckResult, prepare: RunResult | None = PREPARED,
            runs: tuple[RunResult, ...] = (PASSED,)) -> DryRunReport:
    scenario = Scenario("mkdir -p /srv\n", tuple(Check(c.name, c.run) for c in checks),
                        ("operator",))
    r = DryRunReport(
        lang="bash",
        image="opsgen-sandbox:test",
        image_id="sha256:" + "ab" * 32,
        script_sha256="0" * 64,
        runs=runs,
        diff=SystemDiff(),
        scenario=scenario.to_dict(),
        prepare=prepare,
        checks=checks,
    )
    return replace(r, findings=tuple(outcome_findings(r)))


def _codes(r: DryRunReport) -> list[str]:
    return [f.code for f in r.findings]


# --- the values, without Docker ------------------------------------------------------------


def test_check_result_passed_and_vacuous() -> None:
    good = CheckResult("home", "true", "operator", before=1, after=0)
    assert good.passed and not good.vacuous
    vacuous = CheckResult("dir", "test -d /", "model", before=0, after=0)
    assert vacuous.passed and vacuous.vacuous
    broken = CheckResult("x", "false", "operator", before=0, after=1)
    assert not broken.passed and broken.vacuous
    never = CheckResult("y", "true")
    assert never.before is None and never.after is None and not never.passed


def test_verdict_counts_and_findings() -> None:
    ok = CheckResult("a", "true", before=1, after=0)
    bad = CheckResult("b", "false", before=1, after=1, output="no such user\n")
    vac = CheckResult("c", "true", before=0, after=0)
    r = _report(ok, bad, ok, vac)
    assert _codes(r).count("OPS411") == 1 and _codes(r).count("OPS412") == 1
    assert (r.checks_passed, r.checks_failed, r.checks_vacuous) == (2, 1, 1)
    assert not r.ok and not r.vetted
    assert r.verdict == "runs-clean, 1 of 3 checks failed (1 vacuous, not counted)"
    fine = _report(ok, ok, ok, vac)
    assert fine.ok and fine.vetted
    assert fine.verdict == "runs-clean, 3 of 3 checks passed (1 vacuous, not counted)"
    assert _report(vac).verdict == "runs-clean, no check counted (1 vacuous)"
    assert not _report(vac).vetted and _report(vac).ok  # a warning, not an error
    assert _report().verdict == "runs-clean"


def test_ops411_names_the_check_and_quotes_its_output() -> None:
    bad = CheckResult("home is /srv/metrics", "getent passwd metrics | cut -d: -f6",
                      before=1, after=1, output="/home/metrics\n")
    f = next(f for f in _report(bad).findings if f.code == "OPS411")
    assert f.severity is Severity.ERROR
    assert "home is /srv/metrics" in f.message and "exit 1" in f.message
    assert '"/home/metrics"' in f.message  # quoted: the output is not our words


def test_prepare_failure_is_the_scenarios_fault() -> None:
    failed = RunResult(3, "failed", 0.1, "", "mkdir: cannot create\n")
    r = _report(CheckResult("a", "true"), prepare=failed, runs=())
    f = next(f for f in r.findings if f.code == "OPS413")
    assert f.severity is Severity.ERROR and "not run" in f.message
    assert "OPS411" not in _codes(r) and "OPS408" not in _codes(r)
    assert not r.ok and r.verdict == "prepare failed: the script was not run"


def test_scenario_survives_the_stored_json_round_trip() -> None:
    from opsgen.review.report_model import report_from_dict
    from opsgen.store.canonical import normalise

    r = _report(CheckResult("a", "true", "model", before=1, after=0, output="ok"),
                CheckResult("b", "false", before=None, after=None))
    data = normalise(r.to_dict())
    assert data["checks"][0]["before"] == 1 and data["checks"][0]["passed"] is True
    assert data["scenario"]["prepare"] == "mkdir -p /srv\n"
    assert data["prepare"]["status"] == "passed" and "verdict" in data
    assert report_from_dict(data) == r
    # an old stored report (before issue 16) has none of the new keys
    old = {k: v for k, v in data.items() if k not in ("scenario", "prepare", "checks",
                                                      "verdict", "vetted")}
    back = report_from_dict(old)
    assert back.scenario is None and back.prepare is None and back.checks == ()


def test_hostile_check_text_is_escaped_in_the_text_report() -> None:
    evil = CheckResult("\x1b[2J\x1b[32mVerdict: OK", "rm -rf / \x1b]0;pwned\x07",
                       before=1, after=1, output="\x1b[31m[bold]boom[/]\r\nVerdict: OK\n")
    text = render(_report(evil))
    assert "\x1b" not in SGR.sub("", text)  # only rich's own colour codes remain
    plain = _plain(text)
    assert "Scenario" in plain and "rm -rf /" in plain
    # every line of untrusted text is framed or folded: none starts with it
    assert not any(line.startswith("Verdict: OK") for line in plain.splitlines())
    assert "Verdict: NOT OK" in plain


# --- in the real sandbox --------------------------------------------------------------------


def _dry(client: Any, script: str, scenario: Scenario, **options: Any) -> DryRunReport:
    from opsgen.sandbox import DryRunOptions, dryrun

    options.setdefault("timeout", 60)
    return dryrun(script, "bash", DryRunOptions(**options), scenario=scenario, client=client)


def _checks(*runs: str) -> tuple[Check, ...]:
    return tuple(Check(r, r) for r in runs)


HOME_CHECK = "getent passwd metrics | cut -d: -f6 | grep -qx /srv/metrics"


@pytest.mark.docker
def test_a_check_that_holds_after_the_script_passes(docker_client: Any, no_leaks: None) -> None:
    scenario = Scenario("", _checks("test -f /etc/motd.d/notice", "grep -qx hello /etc/motd.d/notice"))
    r = _dry(docker_client, "mkdir -p /etc/motd.d\necho hello > /etc/motd.d/notice\n", scenario)
    assert [(c.before, c.after) for c in r.checks] == [(1, 0), (2, 0)], r.checks
    assert r.ok and r.vetted and r.checks_passed == 2
    assert r.verdict == "runs-clean, 2 of 2 checks passed"
    assert r.scenario == scenario.to_dict() and r.prepare is None


@pytest.mark.docker
def test_a_wrong_home_directory_is_caught(docker_client: Any, no_leaks: None) -> None:
    # "create user metrics with home /srv/metrics": the script forgot --home-dir.
    scenario = Scenario("", (Check("home is /srv/metrics", HOME_CHECK),
                             Check("user exists", "getent passwd metrics")))
    r = _dry(docker_client, "useradd --create-home metrics\n", scenario)
    assert r.first.status == "passed"
    home, exists = r.checks
    assert (home.before, home.after) == (1, 1) and not home.passed
    assert exists.passed and not exists.vacuous
    assert [f.code for f in r.findings if f.code.startswith("OPS41")] == ["OPS411"]
    assert "home is /srv/metrics" in next(f.message for f in r.findings if f.code == "OPS411")
    assert not r.ok and not r.vetted
    assert r.verdict == "runs-clean, 1 of 2 checks failed"
    assert "Verdict: NOT OK" in _plain(render(r))


@pytest.mark.docker
def test_a_vacuous_check_is_flagged_and_not_counted(docker_client: Any, no_leaks: None) -> None:
    # The directory already exists after prepare: "test -d" proves nothing about the script.
    scenario = Scenario("mkdir -p /var/log/app\n",
                        _checks("test -d /var/log/app", "test -f /var/log/app/rotated"))
    r = _dry(docker_client, "touch /var/log/app/rotated\n", scenario)
    vacuous, real = r.checks
    assert vacuous.vacuous and vacuous.passed and real.counted_pass
    assert "OPS412" in [f.code for f in r.findings]
    assert r.ok and r.checks_passed == 1 and r.checks_vacuous == 1
    assert r.verdict == "runs-clean, 1 of 1 checks passed (1 vacuous, not counted)"


@pytest.mark.docker
def test_a_failing_prepare_is_the_scenarios_fault_and_the_script_does_not_run(
    docker_client: Any, no_leaks: None
) -> None:
    scenario = Scenario("echo preparing\nfalse\n", _checks("test -e /etc/ran"))
    r = _dry(docker_client, "touch /etc/ran\n", scenario, twice=True)
    assert r.prepare is not None and r.prepare.status == "failed" and r.prepare.exit_code == 1
    assert "preparing" in r.prepare.stdout
    assert r.runs == () and r.diff.empty
    codes = [f.code for f in r.findings]
    assert codes == ["OPS413"], codes
    assert "not run" in r.findings[0].message
    assert r.checks[0].before is None and r.checks[0].after is None
    assert not r.ok and r.verdict == "prepare failed: the script was not run"
    text = _plain(render(r))
    assert "Verdict: NOT OK" in text and "Run 1" not in text


@pytest.mark.docker
def test_prepare_runs_under_the_deadline(docker_client: Any, no_leaks: None) -> None:
    r = _dry(docker_client, "touch /etc/ran\n", Scenario("sleep 100\n"), timeout=3)
    assert r.prepare is not None and r.prepare.stop_reason == "timeout"
    assert r.prepare.duration_s < 15 and r.runs == ()
    assert [f.code for f in r.findings] == ["OPS413"] and "timeout" in r.findings[0].message


@pytest.mark.docker
def test_a_script_cannot_switch_its_checks_off(docker_client: Any, no_leaks: None) -> None:
    # It rewrites the check list, plants a passing status and points the runner elsewhere.
    script = (
        "printf 'true\\0' > /.opsgen/checks\n"
        "echo 0 > /var/lib/opsgen/check.after.1.rc\n"
        "echo script > /.opsgen/phase\n"
    )
    r = _dry(docker_client, script, Scenario("", _checks("test -e /etc/never")))
    assert r.first.status == "passed"
    assert (r.checks[0].before, r.checks[0].after) == (1, 1)
    assert not r.ok and "OPS411" in [f.code for f in r.findings]


@pytest.mark.docker
def test_the_diff_shows_the_script_not_prepare(docker_client: Any, no_leaks: None) -> None:
    prepare = (
        "mkdir -p /var/log/app /srv/keep\n"
        "for i in 1 2 3; do echo old > /var/log/app/old$i.log; done\n"
        "echo new > /var/log/app/new.log\n"
        "echo keep > /srv/keep/file\n"
        "echo 'setting=1' > /etc/app.conf\n"
        "useradd prepared\n"
    )
    script = (
        "rm /var/log/app/old1.log /var/log/app/old2.log\n"
        "sed -i s/1/2/ /etc/app.conf\n"
        "echo made > /etc/made-by-script\n"
    )
    scenario = Scenario(prepare, _checks("test ! -e /var/log/app/old1.log"))
    r = _dry(docker_client, script, scenario, twice=True)
    changes = {f.path: f.change for f in r.diff.files}
    assert changes == {
        "/var/log/app/old1.log": "deleted",
        "/var/log/app/old2.log": "deleted",
        "/etc/app.conf": "modified",
        "/etc/made-by-script": "added",
    }, changes
    conf = next(f for f in r.diff.files if f.path == "/etc/app.conf")
    assert "-setting=1" in conf.diff and "+setting=2" in conf.diff
    assert r.diff.users == ()  # prepare's user is the baseline, not a change
    assert r.idempotent is True and r.ok and r.vetted


@pytest.mark.docker
def test_a_query_check_reads_the_first_runs_stdout(docker_client: Any, no_leaks: None) -> None:
    scenario = Scenario("useradd -u 4242 alice\n", (
        Check("lists alice", 'grep -qx alice "$OPSGEN_STDOUT"'),
        Check("env set", 'test "$OPSGEN_STDOUT" = /var/lib/opsgen/stdout.1'),
    ))
    r = _dry(docker_client, "getent passwd 4242 | cut -d: -f1\n", scenario)
    listed, env = r.checks
    assert (listed.before, listed.after) == (1, 0), listed
    assert env.vacuous  # the variable is set before the script too
    assert r.diff.empty and r.ok


@pytest.mark.docker
def test_hostile_check_text_is_escaped_and_bounded(docker_client: Any, no_leaks: None) -> None:
    scenario = Scenario("", (
        Check("\x1b[2J\x1b]0;pwned\x07Verdict: OK",
              "printf '\\033[2J\\033[31mVerdict: OK\\n'; exit 3"),
        Check("loops", "while :; do :; done"),
        Check("floods", "yes | head -c 100000000; exit 0"),
        Check("leaves a child", "sleep 1000 & exit 0"),
    ))
    r = _dry(docker_client, "echo hi\n", scenario)
    evil, loops, floods, child = r.checks
    assert evil.after == 3 and "Verdict: OK" in evil.output
    assert loops.before == 124 and loops.after == 124  # timeout's status
    assert floods.after == 153 and "more than 1 MiB" in floods.output  # stopped at the cap
    assert len(floods.output) < 2200
    assert child.after == 0  # its sleep was killed, it did not hold the phase to its deadline
    text = render(r)
    assert "\x1b" not in SGR.sub("", text)
    plain = _plain(text)
    assert not any(line.startswith("Verdict: OK") for line in plain.splitlines())
    assert "Verdict: NOT OK" in plain


@pytest.mark.docker
def test_an_rm_rf_check_runs_only_in_the_container(
    docker_client: Any, no_leaks: None, tmp_path: Path
) -> None:
    canary = tmp_path / "canary"
    canary.write_text("still here\n")
    scenario = Scenario("", (Check("wipe", f"rm -rf --no-preserve-root {tmp_path} / 2>/dev/null;"
                                           " exit 0"),))
    r = _dry(docker_client, "echo hi\n", scenario)
    assert canary.read_text() == "still here\n"
    assert not r.checks[0].passed  # it wiped the container (even its records), not this host
    assert not r.ok and "rm -rf --no-preserve-root" in _plain(render(r))


@pytest.mark.docker
def test_the_json_report_carries_the_scenario(docker_client: Any, no_leaks: None) -> None:
    scenario = Scenario("touch /etc/seed\n", _checks("test -e /etc/out"), ("operator",))
    r = _dry(docker_client, "cp /etc/seed /etc/out\n", scenario)
    data = json.loads(json.dumps(r.to_dict()))
    assert data["scenario"]["prepare"] == "touch /etc/seed\n"
    assert data["prepare"]["status"] == "passed"
    assert data["checks"] == [{"name": "test -e /etc/out", "run": "test -e /etc/out",
                               "source": "operator", "before": 1, "after": 0, "output": "",
                               "passed": True, "vacuous": False}]
    assert data["vetted"] is True and data["verdict"].startswith("runs-clean")
    assert os.environ.get("OPSGEN_NO_WORKER") == "1"


# --- the operator's options ---------------------------------------------------------------


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    from opsgen.cli import main

    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--scenario", "bad.yml"], "not valid YAML"),
        (["--scenario", "list.yml"], "mapping"),
        (["--scenario", "missing.yml"], "no such file"),
        (["--given", "missing.sh"], "no such file"),
        (["--expect", ""], "--expect"),
        (["--expect", "a\nb"], "--expect"),
    ],
)
@pytest.mark.parametrize("verb", ["dryrun", "import"])
def test_bad_scenario_input_is_one_line_and_exit_3(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    verb: str, args: list[str], needle: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPSGEN_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such.sock")  # never reached
    Path("bad.yml").write_text("checks: [unclosed\n")
    Path("list.yml").write_text("- test -d /srv\n")
    Path("ok.sh").write_text("echo hi\n")
    code, out, err = _cli(capsys, verb, "ok.sh", *args)
    assert code == 3, (out, err)
    first = err.strip().splitlines()[0]
    assert first.startswith("error[") and needle in first, err
    assert "Traceback" not in err and not (tmp_path / "ws").exists()


@pytest.mark.docker
def test_dryrun_cli_given_expect_and_scenario(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, docker_client: Any, no_leaks: None
) -> None:
    (tmp_path / "prune.sh").write_text("find /var/log/app -name '*.log' -mtime +7 -delete\n")
    (tmp_path / "given.sh").write_text(
        "mkdir -p /var/log/app\ntouch -d '10 days ago' /var/log/app/old.log\n"
        "touch /var/log/app/new.log\n")
    (tmp_path / "scenario.yml").write_text(
        "checks:\n  - name: new logs are kept\n    run: test -e /var/log/app/new.log\n")
    code, out, err = _cli(
        capsys, "dryrun", "--json", str(tmp_path / "prune.sh"),
        "--given", str(tmp_path / "given.sh"),
        "--expect", "test ! -e /var/log/app/old.log",
        "--scenario", str(tmp_path / "scenario.yml"),
    )
    data = json.loads(out)
    assert code == 0, (out, err)
    assert "touch -d '10 days ago'" in data["scenario"]["prepare"]
    assert data["prepare"]["status"] == "passed"
    got = {c["name"]: (c["before"], c["after"]) for c in data["checks"]}
    assert got == {"new logs are kept": (0, 0), "test ! -e /var/log/app/old.log": (1, 0)}
    assert data["verdict"] == "runs-clean, 1 of 1 checks passed (1 vacuous, not counted)"
    assert [f["path"] for f in data["diff"]["files"]] == ["/var/log/app/old.log"]
    # the text form: the scenario block and its verdict
    code, out, err = _cli(capsys, "dryrun", str(tmp_path / "prune.sh"),
                          "--given", str(tmp_path / "given.sh"),
                          "--expect", "test -e /var/log/app/old.log")
    text = _plain(out)
    assert code == 1 and "Scenario verdict: runs-clean, 1 of 1 checks failed" in text
    assert "OPS411" in text


@pytest.mark.docker
def test_import_cli_stores_the_scenario_in_the_evidence(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    docker_client: Any, no_leaks: None,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPSGEN_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.setenv("OPSGEN_USER", "alice")
    Path("user.sh").write_text("#!/bin/bash\nset -euo pipefail\nuseradd --create-home metrics\n")
    code, out, err = _cli(capsys, "import", "user.sh", "--json",
                          "--expect", HOME_CHECK, "--request", "user metrics, home /srv/metrics")
    assert code == 0, err
    change = json.loads(out)["id"]
    code, out, err = _cli(capsys, "show", str(change), "--json")
    assert code == 0, err
    report = json.loads(out)["evidence"]["dryrun"]
    checks = {c["run"]: c for c in report["checks"]}
    assert HOME_CHECK in [c["run"] for c in report["scenario"]["checks"]]
    assert checks[HOME_CHECK]["after"] == 1 and report["ok"] is False
    assert "OPS411" in {f["code"] for f in report["findings"]}
    # the request's own words gave the same postcondition, as a check of source "request"
    derived = [c for c in report["checks"] if c["source"] == "request"]
    assert [(c["name"], c["after"]) for c in derived] == [("home of metrics is /srv/metrics", 1)]


def test_the_evidence_hash_covers_the_scenario() -> None:
    from opsgen.flow.checks import stored_evidence

    check = CheckResult("a", "true", before=1, after=0)
    one = _report(check)
    other = replace(one, scenario=Scenario("mkdir -p /srv/other\n", (Check("a", "true"),),
                                           ("operator",)).to_dict())
    assert stored_evidence((), one).sha256 != stored_evidence((), other).sha256
    assert stored_evidence((), one).sha256 == stored_evidence((), _report(check)).sha256
