"""Placeholders become declared parameters; the script refuses to run without them."""

from __future__ import annotations

import subprocess

import pytest

from opsgen.runbook import convert_runbook, parse_runbook
from opsgen.runbook.params import Parameters, defined_names, replace_words

CASES = [
    ("sudo service <service> restart", 'sudo service "${SERVICE}" restart', "SERVICE"),
    ("unlock '<machine-name>'", 'unlock "${MACHINE_NAME}"', "MACHINE_NAME"),
    ("curl 'http://<host>:80/x'", "curl 'http://'\"${HOST}\"':80/x'", "HOST"),
    ('echo "dir <dir> here"', 'echo "dir ${DIR} here"', "DIR"),
    ("tail /var/log/{{ app }}/e.log", 'tail /var/log/"${APP}"/e.log', "APP"),
    ("knife ssh 'roles:ROLE_HERE' x", "knife ssh 'roles:'\"${ROLE}\" x", "ROLE"),
    ("export TOKEN=YOUR_API_TOKEN", 'export TOKEN="${API_TOKEN}"', "API_TOKEN"),
    ("mv /etc/chef /etc/chef.{reason}", 'mv /etc/chef /etc/chef."${REASON}"', "REASON"),
    ("ping <hostname>", 'ping "${PARAM_HOSTNAME}"', "PARAM_HOSTNAME"),  # not bash's own
]


@pytest.mark.parametrize(("command", "expected", "name"), CASES)
def test_placeholder_becomes_a_quoted_parameter(command, expected, name):
    params = Parameters()
    assert params.rewrite(command, 7) == expected
    (param,) = params.declared
    assert (param.name, param.lines) == (name, (7,))


def test_not_placeholders():
    params = Parameters(defined={"i"})
    for command in (
        "find . -exec rm {} \\;",
        "awk '{print $NF}' f",
        "sort < in.txt > out.txt",
        "cat <(ls) 2>&1",
        "echo ${HOME} $PATH ${UNSET:-default}",
        "for i in 1 2; do echo $i; done",
        "cat <<EOF",
    ):
        assert params.rewrite(command, 1) == command
    assert params.declared == ()


def test_undefined_upper_case_variables_are_parameters_defined_ones_are_not():
    commands = ["for i in $CHUNK1 $CHUNK2; do rm gs://b-$ENV/$i; done", "DIR=/srv", "ls $DIR"]
    params = Parameters(defined=defined_names(commands))
    for command in commands:
        assert params.rewrite(command, 3) == command  # referenced as they are
    assert [p.name for p in params.declared] == ["CHUNK1", "CHUNK2", "ENV"]


def test_assignment_of_a_placeholder_declares_the_variable_itself():
    params = Parameters()
    assert params.assignment("NODE_NAME='<value of instance label from alert>'", 26) == (
        "NODE_NAME",
        "NODE_NAME",
    )
    (param,) = params.declared
    assert param.description == "value of instance label from alert"
    assert params.assignment("HOSTNAME=<new name>", 2) == ("HOSTNAME", "PARAM_HOSTNAME")


def test_prose_replace_instructions_name_the_parameter():
    assert replace_words("(replace LATEST with version, say, `4.4.0-89`)") == (
        ("LATEST", "version"),
    )
    assert replace_words("replacing 'integration' with whatever environment the machine") == (
        ("integration", "environment"),
    )
    params = Parameters()
    rewritten = params.rewrite("grep -v 'LATEST' x", 36, replace_words("replace LATEST with v"))
    assert rewritten == 'grep -v "${V}" x'


RUNBOOK = """# Restart

1. Restart it: `printf 'restart %s on %s\\n' <service> '<host name>'`
"""


def run(script: str, *args: str, env: dict[str, str] | None = None):
    # Our own two-line runbook: the only command is printf, safe to run here.
    return subprocess.run(["bash", "-s", "--", *args], input=script, text=True,
                          capture_output=True, env=env or {"PATH": "/usr/bin:/bin"})  # fmt: skip


def test_the_script_fails_clearly_without_its_parameters_and_runs_with_them():
    script = convert_runbook(parse_runbook(RUNBOOK, "r.md"), "bash").script
    missing = run(script)
    assert missing.returncode == 64
    assert "opsgen: missing parameter: SERVICE" in missing.stderr
    assert "opsgen: missing parameter: HOST_NAME" in missing.stderr
    assert "SERVICE=... HOST_NAME=..." in missing.stderr
    bad = run(script, "--force")
    assert (bad.returncode, "unknown argument --force" in bad.stderr) == (64, True)
    ok = run(script, "SERVICE=web; rm -rf /", "HOST_NAME=a b")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout == "restart web; rm -rf / on a b\n"  # one word each, never re-parsed
    from_env = run(script, env={"PATH": "/usr/bin:/bin", "SERVICE": "db", "HOST_NAME": "h"})
    assert from_env.stdout == "restart db on h\n"
