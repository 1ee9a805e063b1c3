from __future__ import annotations

from fakes import FakeLint, finding, report, run

from opsgen.findings import Severity
from opsgen.flow.problems import Problem, dryrun_problems, lint_problems, tail


def test_problem_quotes_the_line_it_points_at():
    p = Problem("lint", "SC2086", "Double quote to prevent globbing.", 2)
    assert p.describe("a\nrm $x\n") == "SC2086 at line 2 `rm $x`: Double quote to prevent globbing."
    assert Problem("run", "exit-1", "boom").describe("") == "exit-1: boom"


def test_errors_are_lint_problems_even_when_the_model_suppressed_them():
    from dataclasses import replace

    err = finding("SC1", 1)
    lint = FakeLint(
        (err, finding("SC2", 2, Severity.WARNING), replace(err, code="OPS101", suppressed=True))
    )
    problems = lint_problems(lint)
    assert [p.code for p in problems] == ["SC1", "OPS101"]
    assert "suppression comment written by the model does not count" in problems[1].message


def test_tail_keeps_the_end_on_one_line():
    text = "\n".join(f"line {i}" for i in range(100))
    out = tail(text, lines=3)
    assert out == "line 97 | line 98 | line 99"
    assert len(tail("x" * 5000)) <= 903


def test_second_run_failure_is_named():
    rep = report(runs=(run(), run("failed", 9, "useradd: user 'deploy' already exists")))
    (problem,) = dryrun_problems(rep, "bash")
    assert problem.code == "exit-9"
    assert "second run failed" in problem.message and "already exists" in problem.message


def test_long_path_lists_are_cut():
    rep = report(second_paths=tuple(f"/p{i}" for i in range(20)))
    (problem,) = dryrun_problems(rep, "bash")
    assert "/p7 and 12 more" in problem.message


def test_outcome_findings_are_added_once():
    rep = report(
        runs=(run("killed", 137, stop="oom"), run()),
        findings=(finding("OPS402", 0), finding("OPS404", 0, Severity.WARNING)),
    )
    codes = [p.code for p in dryrun_problems(rep, "bash")]
    assert codes == ["stopped-oom"]  # OPS402 restates the stop; OPS404 is not a repair reason here


def test_idempotence_problem_shows_what_the_second_run_added():
    from dataclasses import replace

    from opsgen.sandbox.models import CronChange, FileChange, SystemDiff

    rep = report(second_paths=("/etc/motd",))
    second = SystemDiff(
        files=(FileChange("/etc/motd", "modified", diff="--- a\n+++ b\n@@\n hello\n+hello\n"),),
        cron=(CronChange("/var/spool/cron/crontabs/root", added=("0 2 * * * x",)),),
    )
    (problem,) = dryrun_problems(replace(rep, second_diff=second), "bash")
    assert "added cron line `0 2 * * * x`" in problem.message
    assert "/etc/motd got `hello` again" in problem.message


def test_errors_a_passing_bash_run_swallowed_are_a_problem():
    from opsgen.sandbox.models import RunResult

    swallowed = RunResult(
        0, "passed", 0.1, "", "grep: /workspace/dir1: Is a directory\nprogress 50%\n"
    )
    found = dryrun_problems(report(runs=(swallowed, run())), "bash")
    assert [p.code for p in found] == ["stderr-errors"]
    assert "Is a directory" in found[0].message and "progress" not in found[0].message
    # warnings that are not errors, and playbooks (Ansible warns on stderr), are left alone
    chatty = RunResult(0, "passed", 0.1, "", "debconf: delaying package configuration\n")
    assert dryrun_problems(report(runs=(chatty, run())), "bash") == []
    assert dryrun_problems(report(runs=(swallowed, run())), "ansible") == []
    # a failed run is reported once, as the failure
    failed = RunResult(1, "failed", 0.1, "", "ls: cannot access '/x': No such file or directory")
    assert [p.code for p in dryrun_problems(report(runs=(failed,)), "bash")] == ["exit-1"]


def test_our_rules_hints_reach_the_model_but_not_shellchecks_wiki_links():
    from dataclasses import replace

    ours = replace(finding("OPS107", 3), source="opsgen", hint="Name the exact folder.")
    theirs = replace(finding("SC2115", 4), source="shellcheck", hint="See https://x/SC2115")
    found = lint_problems(FakeLint((ours, theirs)))
    assert found[0].message.endswith("Fix: Name the exact folder.")
    assert "See https" not in found[1].message


def test_rm_of_a_system_folder_says_how_to_prune_it():
    from opsgen.validators import lint_text

    report = lint_text('#!/usr/bin/env bash\necho "0 2 * * * rm -rf /var/tmp" | crontab -\n',
                       "bash", "s.sh")
    [ops107] = [f for f in report.findings if f.code == "OPS107"]
    assert "find /var/tmp -mindepth 1 -mtime +7 -delete" in ops107.message


def test_a_failed_check_is_a_check_problem_with_its_postcondition_and_output():
    from opsgen.findings import Finding, Location
    from opsgen.sandbox.models import CheckResult

    bad = CheckResult("home is /srv/m", "test -d /srv/m", "model", before=1, after=1,
                      output="x\n" * 30 + "last line\n")
    broke = CheckResult("new kept", "test -e /r/new", "model", before=0, after=2)
    vacuous = CheckResult("dir kept", "test -d /r", "model", before=0, after=0)
    ops411 = Finding("OPS411", Severity.ERROR, "check failed", Location("<run>", 0))
    problems = dryrun_problems(report(checks=(bad, broke, vacuous), findings=(ops411,)), "bash")
    assert [(p.kind, p.code) for p in problems] == [("check", "OPS411"), ("check", "OPS411")]
    assert 'postcondition "home is /srv/m" does not hold' in problems[0].message
    assert "`test -d /srv/m` exited 1; it printed:" in problems[0].message
    assert problems[0].message.endswith("last line")  # the tail of a long output
    assert "the script broke it" in problems[1].message


def test_a_failed_prepare_is_only_the_scenarios_problem():
    from opsgen.findings import Finding, Location
    from opsgen.sandbox.models import CheckResult

    failed = run("failed", 2, "mkdir: cannot create directory '/a/b'")
    ops413 = Finding("OPS413", Severity.ERROR, "prepare failed", Location("<run>", 0))
    r = report(runs=(), checks=(CheckResult("x", "true"),), prepare=failed, findings=(ops413,))
    (problem,) = dryrun_problems(r, "bash")
    assert (problem.kind, problem.code) == ("scenario", "OPS413")
    assert "cannot create directory" in problem.message and "was not run" in problem.message
