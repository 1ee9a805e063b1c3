"""Fix hints for well-known run failures: matched on the run's evidence, added once."""

from __future__ import annotations

import pytest
from fakes import FakeLint, Recorder

from opsgen.flow.hints import HINTS, with_hints
from opsgen.flow.loop import run_loop
from opsgen.flow.problems import Problem
from opsgen.generator.llm import FakeLLM

# What each failure really looks like in a problem line (stderr tails and traced commands
# as the loop writes them).
EVIDENCE = {
    "no-crontab": "the first run failed: no crontab for root | no crontab for root",
    "interactive-editor": "the first run failed: Vim: Warning: Output is not to a terminal",
    "find-lost-path": "the first run failed: find: '/srv/a/old': No such file or directory",
    "apt-unknown-package": "the first run failed: E: Unable to locate package nginxx",
    "command-not-found": "the first run failed: line 4: tree: command not found",
    "unbound-variable": "the first run failed: line 3: BACKUP_DIR: unbound variable",
    "already-exists": "the second run failed: useradd: user 'deploy' already exists",
    "ansible-controller-file": "the first run failed: fatal: [localhost]: FAILED! => "
    "{\"changed\": false, \"msg\": \"Could not find or access '/root/files/sudoers' on the "
    "Ansible Controller.\"}",
    "ansible-unknown-owner": "the first run failed: fatal: [localhost]: FAILED! => {\"msg\": "
    "\"chown failed: failed to look up user metrics\"}",
    "ansible-lineinfile-line": "the first run failed: fatal: [localhost]: FAILED! => "
    "{\"msg\": \"line is required with state=present\"}",
    "ansible-missing-destination": "the first run failed: fatal: [localhost]: FAILED! => "
    "{\"msg\": \"Destination /etc/default/tomcat does not exist !\", \"rc\": 257}",
    "grep-no-match": "the first run failed: (no output); the command that failed silently "
    "was `grep -qx 'x' /etc/hosts` (exit 1; under set -e the script stops there)",
}


PLAIN = [h for h in HINTS if h.context is None]


def test_every_hint_has_a_realistic_example():
    assert sorted(EVIDENCE) == sorted(h.name for h in PLAIN)


@pytest.mark.parametrize(
    ("finding", "hint"),
    [
        ("first run: apt found no package 'nginx': this dry-run has no package path "
         "(--network none), so no package can be installed", "apt-no-package-path"),
        ("first run: apt found no package: 'nginxx' is not in Debian: `apt-cache policy` "
         "after `apt-get update` shows no candidate", "apt-not-in-debian"),
        ("first run: apt found no package 'nginx' in its lists: run `apt-get update` first",
         "apt-unknown-package"),
    ],
)
def test_unknown_package_hint_follows_the_sandboxs_finding(finding, hint):
    """Issue 13: the same apt message gets opposite fixes by what the sandbox found out."""
    run = Problem("run", "exit-100", "the first run failed: E: Unable to locate package nginx")
    hinted, stopped = with_hints([run, Problem("stopped", "OPS414", finding)])
    expected = next(h for h in HINTS if h.name == hint)
    assert hinted.message == f"{run.message} Fix: {expected.fix}"
    assert stopped.message == finding  # the finding itself is evidence, not hinted


@pytest.mark.parametrize("hint", PLAIN, ids=lambda h: h.name)
def test_each_hint_matches_its_failure_and_only_the_first_match_is_added(hint):
    (problem,) = with_hints([Problem("run", "exit-1", EVIDENCE[hint.name], 3)])
    assert problem.message == f"{EVIDENCE[hint.name]} Fix: {hint.fix}"
    assert problem.message.count(" Fix: ") == 1
    assert (problem.kind, problem.code, problem.line) == ("run", "exit-1", 3)


def test_a_silent_crontab_failure_named_by_the_trace_gets_the_cron_d_hint():
    message = (
        "the first run failed: (no output); the command that failed silently was "
        "`crontab -l 2> /dev/null` (exit 1; under set -e the script stops there)"
    )
    (problem,) = with_hints([Problem("run", "exit-1", message, 9)])
    assert "/etc/cron.d/NAME" in problem.message


def test_unknown_failures_lint_problems_and_hinted_lines_are_left_alone():
    problems = [
        Problem("run", "exit-2", "the first run failed: tar: Cowardly refusing"),
        Problem("lint", "SC2086", "Double quote to prevent globbing: command not found"),
        Problem("stopped", "OPS401", "the first run was stopped: timeout"),
        Problem("run", "exit-1", "command not found Fix: already hinted"),
        # an editor's name only as a word: `virsh` is not `vi`
        Problem("run", "exit-1", "the command that failed silently was `virsh list` (exit 1"),
    ]
    assert with_hints(problems) == problems


def test_the_hint_reaches_the_repair_prompt_from_a_real_sandbox_run(docker_client, no_leaks):
    """The demo's real failure: `crontab -l` in a fresh Debian box, run under set -e."""
    from opsgen.flow.checks import make_dryrun

    crontab = (
        "```bash\n#!/usr/bin/env bash\nset -euo pipefail\n"
        "(crontab -l; echo '0 3 * * * root true') | crontab -\n```"
    )
    cron_d = (
        "```bash\n#!/usr/bin/env bash\nset -euo pipefail\n"
        "echo '0 3 * * * root find /var/tmp -mindepth 1 -mtime +7 -delete' "
        "> /etc/cron.d/prune-var-tmp\n```"
    )
    llm = FakeLLM([crontab, cron_d])
    result = run_loop(
        "prune /var/tmp nightly", "bash", llm, lint=Recorder([FakeLint()]),
        dryrun=make_dryrun(),
    )
    first = result.attempts[0]
    assert any("no crontab for root" in p.message for p in first.problems)
    assert any("Fix: `crontab -l` fails" in p.message for p in first.problems)
    assert "write /etc/cron.d/NAME" in llm.calls[1][-1].content
    assert result.status == "runs-clean" and result.final.number == 2


@pytest.mark.parametrize(("message", "says"), [
    ('the request\'s postcondition "home is /srv/m" does not hold: the check '
     "`test \"$(getent passwd m | cut -d':' -f6)\" = /srv/m` exited 1", "--home-dir"),
    ("postcondition \"job at 02:30\" does not hold: the check `grep -q x /etc/cron.d/*`",
     "30 2 * * * root"),
    ('postcondition "prints 3" does not hold: the check `grep -qx 3 "$OPSGEN_STDOUT"`',
     "no labels"),
    ('postcondition "port is 8080" does not hold: the check `grep -q 8080 /etc/app.conf`',
     "did not do what the request asks"),
])
def test_a_failed_check_gets_one_hint(message, says):
    from opsgen.flow.hints import CHECK_HINTS

    (hinted,) = with_hints([Problem("check", "OPS411", message)])
    assert hinted.message.count(" Fix: ") == 1 and says in hinted.message
    assert CHECK_HINTS[-1].pattern.search("anything")  # the general hint always applies


@pytest.mark.parametrize(("message", "bash", "ansible"), [
    ('the request\'s postcondition "metrics is a system user (uid below 1000)" does not hold',
     "useradd --system", "`system: true`"),
    ('the request\'s postcondition "home of m is /srv/m" does not hold: the check '
     "`getent passwd m | cut -d: -f6 | grep -qx /srv/m` exited 1", "--home-dir",
     "`home: DIR` and `create_home: true`"),
    ('postcondition "a cron line at 04:15 every Sunday (`15 4 * * 0`) as root running /x in '
     '/etc/cron.d/x" does not hold', "(minute 15, hour 4, day *, month *, weekday 0)",
     'minute: "15", hour: "4", day: "*", month: "*", weekday: "0"'),
    ('postcondition "prints 3" does not hold: the check `grep -qx 3 "$OPSGEN_STDOUT"`',
     "no labels", "ansible.builtin.debug"),
    ('postcondition "/etc/motd holds exactly the line \'Hi\'" does not hold',
     "did not do what the request asks", "ansible.builtin.copy"),
])
def test_a_failed_check_of_a_playbook_gets_the_modules_that_do_it(message, bash, ansible):
    """The same failed check: shell commands for a script, modules for a playbook."""
    (for_bash,) = with_hints([Problem("check", "OPS411", message)], "bash")
    (for_play,) = with_hints([Problem("check", "OPS411", message)], "ansible")
    assert bash in for_bash.message and ansible not in for_bash.message
    assert ansible in for_play.message and "useradd" not in for_play.message
    assert for_play.message.count(" Fix: ") == 1
