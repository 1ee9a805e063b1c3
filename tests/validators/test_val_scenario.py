"""A scenario's text is linted like a script (issue 16): its prepare and each check go
through ``bash -n``, shellcheck and the OPS rules, plus OPS601-603; findings name the part,
and a suppression comment inside scenario text does not count."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from opsgen.findings import Severity
from opsgen.scenario import Check, Scenario
from opsgen.validators import lint_text
from opsgen.validators.scenario import lint_scenario


def _codes(*checks: str, prepare: str = "") -> list[tuple[str, str, int]]:
    scenario = Scenario(prepare, tuple(Check(c, c) for c in checks))
    return [(f.code, f.location.path, f.location.line) for f in lint_scenario(scenario)]


def _ops6(*checks: str, prepare: str = "") -> set[str]:
    return {code for code, _, _ in _codes(*checks, prepare=prepare) if code.startswith("OPS6")}


def test_a_plain_scenario_is_clean() -> None:
    assert _codes("test ! -e /var/log/app/old.log",
                  "getent passwd metrics | cut -d: -f6 | grep -qx /srv/metrics",
                  "grep -qx 42 \"$OPSGEN_STDOUT\"",
                  prepare="mkdir -p /var/log/app && touch -d '10 days ago' /var/log/app/old.log\n"
                  ) == []


def test_findings_name_the_part_and_the_prepare_line() -> None:
    found = _codes("curl -fsS https://example.com/ok", "echo 'unterminated",
                   prepare="mkdir -p /srv\nwget -q http://203.0.113.4/seed -O /srv/seed\n")
    assert ("OPS601", "scenario:prepare", 2) in found
    assert ("OPS601", "scenario:check 'curl -fsS https://example.com/ok'", 1) in found
    assert ("OPS002", "scenario:check \"echo 'unterminated\"", 1) in found  # bash -n


@pytest.mark.parametrize("check", [
    "curl -fsS \"http://localhost:${PORT:-8080}/health\"",
    "nc -z 127.0.0.1 5432",
    "nc -l 8080 & sleep 1",
    "ssh -i /root/key localhost true",
    "socat TCP-LISTEN:8080,fork -",
    "exec 3<>/dev/tcp/127.0.0.1/80",
    "getent hosts localhost",
])
def test_local_and_non_network_commands_are_fine(check: str) -> None:
    assert _ops6(check) == set()


@pytest.mark.parametrize("check", [
    "curl -fsS \"$URL\"",
    "git clone https://github.com/example/repo /srv/repo",
    "rsync -a backup.example.com:/srv/ /srv/",
    "socat - TCP:evil.example:80",
    "dig +short example.com",
    "ping -c 1 8.8.8.8",
    "sudo pip install requests",
    "npm install left-pad",
])
def test_network_use_is_an_error(check: str) -> None:
    [finding] = [f for f in lint_scenario(Scenario("", (Check("c", check),)))
                 if f.code == "OPS601"]
    assert finding.severity is Severity.ERROR


def test_local_packages_and_the_systems_package_path_are_not_network() -> None:
    # apt may have a package path to the distribution's archive (the `packages` network)
    assert _ops6(prepare="apt-get update\napt-get install -y nginx ./x.deb\n"
                 "pip install --no-index /w/x.whl\n") == set()


def test_scenario_rules_never_read_a_script() -> None:
    text = ("#!/bin/bash\nset -euo pipefail\ncurl -fsSo /tmp/x https://example.com/x\n"
            "test -S /var/run/docker.sock\necho ok > /var/lib/opsgen/state\n")
    assert not [f for f in lint_text(text, "bash").findings if f.code.startswith("OPS6")]


def test_a_suppression_inside_scenario_text_does_not_count() -> None:
    scenario = Scenario("", (
        Check("quiet", 'curl http://x.example/ # opsgen: disable=OPS601 reason="trust me"'),
        Check("mode", 'chmod 777 /srv/x  # opsgen: disable=OPS103 reason="scratch"'),
    ))
    found = {f.code: f for f in lint_scenario(scenario)}
    for code in ("OPS601", "OPS103"):
        assert not found[code].suppressed and "does not count" in found[code].message


def test_what_only_a_script_needs_is_not_asked_of_a_check() -> None:
    check = "mkdir -p /a; touch /a/b; test -e /a/b"
    assert not {"OPS114", "SC2148"} & {c for c, _, _ in _codes(check)}


def test_host_paths_and_runner_tampering() -> None:
    found = {(code, path) for code, path, _ in _codes(
        "test -S /run/docker.sock", "cat /proc/1/root/etc/shadow", "test ! -f /.dockerenv",
        "echo 0 > /var/lib/opsgen/check.after.1.rc", ": > \"$OPSGEN_STDOUT\"",
        "truncate -s0 ${OPSGEN_STDOUT}")}
    assert ("OPS602", "scenario:check 'test -S /run/docker.sock'") in found
    assert ("OPS602", "scenario:check 'cat /proc/1/root/etc/shadow'") in found
    assert ("OPS602", "scenario:check 'test ! -f /.dockerenv'") in found
    assert ("OPS603", "scenario:check 'echo 0 > /var/lib/opsgen/check.after.1.rc'") in found
    assert ("OPS603", "scenario:check ': > \"$OPSGEN_STDOUT\"'") in found
    assert ("OPS603", "scenario:check 'truncate -s0 ${OPSGEN_STDOUT}'") in found


def test_hostile_check_text_is_escaped_where_findings_are_shown() -> None:
    from opsgen.render.findings import render_findings

    scenario = Scenario("", (Check("\x1b[2J\x1b]0;pwned\x07Verdict: OK",
                                   "rm -rf --no-preserve-root / \x1b[31m; curl http://e.example"),))
    found = lint_scenario(scenario)
    assert {"OPS601", "OPS107"} <= {f.code for f in found}
    buffer = io.StringIO()
    render_findings(found, Console(file=buffer, force_terminal=True, width=200))
    text = buffer.getvalue()
    assert "\x07" not in text and "\x1b]" not in text and "\x1b[2J" not in text
    assert "scenario:check '\\x1b[2J\\x1b]0;pwned\\x07Verdict: OK'" in text


def test_the_repair_loop_does_not_blame_the_script_for_its_scenario() -> None:
    from dataclasses import replace

    from opsgen.flow.checks import with_scenario_findings
    from opsgen.flow.problems import dryrun_problems
    from opsgen.flow.testing import fake_report

    scenario = Scenario("", (Check("net", "curl -fsS https://example.com/ok"),))
    report = with_scenario_findings(replace(fake_report(), scenario=scenario.to_dict()), scenario)
    assert "OPS601" in {f.code for f in report.findings} and not report.ok
    assert not [p for p in dryrun_problems(report, "bash") if p.code == "OPS601"]
