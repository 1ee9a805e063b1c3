"""``opsgen convert`` through the real entry point: real linters, no dry-run (no Docker)."""

from __future__ import annotations

import json
from pathlib import Path

from runbook_helpers import FIXTURES

from opsgen.cli import main


def test_convert_reports_every_runbook_and_exits_1_when_some_failed(tmp_path, capsys, corpus):
    rb = "gitlab-com-runbooks/docs/git/git-stuck-processes.md"
    code = main(["convert", str(FIXTURES), str(corpus / rb), "--no-dryrun", "--workspace",
                 str(tmp_path / "ws"), "--out", str(tmp_path / "out"), "--json"])  # fmt: skip
    assert code == 1  # empty.md and latin1.md could not be read
    doc = json.loads(capsys.readouterr().out)
    rows = {r["path"]: r for r in doc["runbooks"]}
    assert rows["empty.md"]["status"] == rows["latin1.md"]["status"] == "failed"
    assert rows["git-stuck-processes.md"]["status"] == "converted"
    evil = rows["malicious.md"]
    assert evil["findings"]["error"] >= 3  # OPS101 x2 and OPS501 from the real linters
    assert {f["code"] for f in evil["top_findings"]} >= {"OPS101", "OPS501"}
    assert evil["dryrun"] == "not run" and evil["dryrun_note"].endswith("(--no-dryrun)")
    script = tmp_path / "out" / "git-stuck-processes.sh"
    assert script.read_text().startswith("#!/usr/bin/env bash\n")
    assert (tmp_path / "out" / "report.html").is_file()


def test_table_resume_and_escaped_names(tmp_path, capsys):
    args = ["convert", str(FIXTURES / "restart-service.md"), str(FIXTURES / "malicious.md"),
            "--no-dryrun", "--workspace", str(tmp_path / "ws")]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr()
    assert "restart-service.md" in out.out and "converted" in out.out
    assert "2 converted, 0 unchanged (--resume)" in out.out
    assert "\x1b" not in out.out + out.err  # no terminal escape from the runbook reaches us
    assert main([*args, "--resume"]) == 0
    assert "0 converted, 2 unchanged (--resume)" in capsys.readouterr().out
    report = json.loads((tmp_path / "ws" / "convert" / "report.json").read_text())
    assert {r["status"] for r in report["runbooks"]} == {"skipped"}


def test_playbooks_pass_ansible_lint(tmp_path, capsys):
    code = main(["convert", str(FIXTURES / "restart-service.md"), "--lang", "ansible",
                 "--no-dryrun", "--workspace", str(tmp_path / "ws"), "--json"])  # fmt: skip
    assert code == 0
    (row,) = json.loads(capsys.readouterr().out)["runbooks"]
    assert (row["status"], row["lang"], row["findings"]) == (
        "converted", "ansible", {"error": 0, "warning": 0, "info": 0, "style": 0}
    )  # fmt: skip


def test_no_runbook_is_a_usage_problem(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("not markdown")
    assert main(["convert", str(tmp_path), "--no-dryrun", "--workspace", str(tmp_path / "w")]) == 3
    assert "no *.md runbook" in capsys.readouterr().err
    missing = Path(tmp_path / "nope.md")
    assert main(["convert", str(missing), "--workspace", str(tmp_path / "w")]) == 3
    assert "no such file or folder" in capsys.readouterr().err
