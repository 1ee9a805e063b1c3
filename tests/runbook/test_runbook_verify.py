"""A runbook's own verification steps become scenario checks (issue 16)."""

from __future__ import annotations

from pathlib import Path

from runbook_helpers import FakeChecks

from opsgen.runbook import convert_runbook, parse_runbook
from opsgen.runbook.batch import BatchOptions, Source, run_batch
from opsgen.runbook.ledger import Ledger
from opsgen.runbook.output import OutputFiles
from opsgen.runbook.verify import assertion
from opsgen.store.repo import Store
from opsgen.store.workspace import Workspace

ASSERTIONS = {
    "systemctl is-active nginx": "systemctl is-active nginx",
    "service nginx status": "service nginx status",
    "sudo getent passwd app": "getent passwd app",
    "id -u app": "id -u app",
    "test -f /etc/app.conf": "test -f /etc/app.conf",
    "stat -c %a /etc/app.conf": "stat -c %a /etc/app.conf",
    "nginx -t": "nginx -t",
    "grep max_connections /etc/db.conf": "grep -q max_connections /etc/db.conf",
    "ps aux | grep gitaly": "ps -eo args= | grep -q -- '[g]italy'",
    "ps -ef | grep nginx": "ps -eo args= | grep -q -- '[n]ginx'",
    "curl http://localhost:8080/health": (
        "curl -fsS -o /dev/null --max-time 5 http://localhost:8080/health"),
    "curl -k https://127.0.0.1:9236/metrics": (
        "curl -fsS -o /dev/null --max-time 5 -k https://127.0.0.1:9236/metrics"),
}  # fmt: skip
NOT_CHECKS = (
    "curl https://example.com/health",  # the network
    "curl -X POST http://localhost/reset",  # changes something
    "curl -o /tmp/x http://localhost/",
    "lsblk",  # output for a person to read
    "ps faux",
    "hostname -f",
    'service "${SERVICE}" status',  # a blank the sandbox has no value for
    "systemctl restart nginx",
    "ps aux | grep -v grep | grep gitaly",
    "git fsck",  # depends on the directory it runs in
    "sudo -u git id",
)

RUNBOOK = """# Deploy the app

1. Install it: `sudo apt-get install -y app`
2. Start it: `sudo systemctl start app`
3. Check that the service is active:

   ```bash
   sudo systemctl is-active app
   ```

4. Verify that the port answers with `curl http://localhost:8080/health`.
5. Look at the disks with `df -h /`.
"""


def test_each_verification_command_has_its_assertion():
    for command, expected in ASSERTIONS.items():
        assert assertion(command) == expected, command


def test_commands_that_need_the_network_a_person_or_a_blank_are_not_checks():
    for command in NOT_CHECKS:
        assert assertion(command) == "", command


def test_verification_steps_become_checks_and_leave_the_script():
    conv = convert_runbook(parse_runbook(RUNBOOK, "deploy.md"), "bash")
    assert [(c.name, c.run, c.source) for c in conv.plan.checks] == [
        ("the service is active", "systemctl is-active app", "runbook"),
        ("the port answers", "curl -fsS -o /dev/null --max-time 5 "
         "http://localhost:8080/health", "runbook"),
    ]  # fmt: skip
    assert conv.scenario is not None and conv.scenario.sources == ("runbook",)
    lines = conv.script.splitlines()
    assert "systemctl is-active app" not in lines  # not run by the script...
    assert "#   systemctl is-active app" in lines  # ...but still shown where the runbook had it
    assert any("the runbook's own check (line 8), run by the dry-run" in ln for ln in lines)
    assert "df -h /" in lines  # no verification words: an ordinary step
    assert conv.plan.commands == 3


def test_a_check_before_any_change_is_a_diagnosis_not_a_postcondition():
    text = "# Look\n\n1. Check that nginx runs: `systemctl is-active nginx`\n"
    conv = convert_runbook(parse_runbook(text, "look.md"), "bash")
    assert conv.plan.checks == () and conv.scenario is None
    assert "systemctl is-active nginx" in conv.script.splitlines()


def test_prose_that_is_not_about_the_command_does_not_make_it_a_check():
    text = ("# Fix\n\n1. Restart: `sudo service app restart`\n\n## Stalled\n\n```bash\n"
            "ps -ef | grep defunct\n```\n\nYou can confirm this is a child process by "
            "running `ps faux`.\n")  # fmt: skip
    conv = convert_runbook(parse_runbook(text, "fix.md"), "bash")
    assert conv.plan.checks == ()


def test_corpus_gitaly_down_checks_the_process_and_its_metrics_port(load):
    conv = convert_runbook(load("gitlab-com-runbooks/docs/gitaly/gitaly-down.md"), "ansible")
    assert [(c.name, c.run) for c in conv.plan.checks] == [
        ("the Gitaly server process is running", "ps -eo args= | grep -q -- '[g]italy'"),
        ("the Gitaly server process is running (curl https://localhost:9236/metrics)",
         "curl -fsS -o /dev/null --max-time 5 https://localhost:9236/metrics"),
    ]  # fmt: skip
    assert "curl https://localhost:9236/metrics" not in [
        ln.strip() for ln in conv.script.splitlines()
    ]
    assert "#   curl https://localhost:9236/metrics" in conv.script


def test_the_batch_gives_the_runbook_checks_to_the_dry_run(tmp_path: Path):
    source = tmp_path / "deploy.md"
    source.write_text(RUNBOOK, encoding="utf-8")
    files = OutputFiles(None, tmp_path / "reports")
    files.start()
    checks = FakeChecks()
    with Store.open(Workspace(tmp_path / "ws"), create=True) as store:
        (row,) = run_batch([Source(source, "deploy.md")], BatchOptions(jobs=1), store=store,
                           checks=checks, ledger=Ledger(tmp_path / "ledger.jsonl"),
                           files=files)  # fmt: skip
    assert row.status == "converted"
    (scenario,) = checks.scenarios.values()
    assert next(c.run for c in scenario.checks) == "systemctl is-active app"
