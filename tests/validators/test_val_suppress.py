"""Inline suppressions: name the codes, give a reason, stay visible in the report."""

from __future__ import annotations

from opsgen.validators import LintReport, lint_text


def lint(text: str, lang: str = "bash") -> LintReport:
    return lint_text(text, lang, "s.sh", ansible_lint=False)  # type: ignore[arg-type]


def by_code(report: LintReport, code: str) -> list:
    return [f for f in report.findings if f.code == code]


def test_trailing_directive_suppresses_its_line_and_keeps_the_finding() -> None:
    r = lint('chmod 777 /srv/x  # opsgen: disable=OPS103 reason="scratch, removed below"\n')
    (f,) = by_code(r, "OPS103")
    assert f.suppressed and f.suppression_reason == "scratch, removed below"
    assert r.ok and r.suppressed == (f,)


def test_own_line_directive_covers_the_next_statement_only() -> None:
    r = lint("# opsgen: disable=OPS103 reason=scratch\nchmod 777 /a\nchmod 777 /b\n")
    assert [(f.location.line, f.suppressed) for f in by_code(r, "OPS103")] == [(2, True),
                                                                                (3, False)]


def test_directive_before_a_block_covers_the_block() -> None:
    r = lint("# ops: disable=OPS103 reason='inside the block'\nif true; then\n"
             "  chmod 777 /a\nfi\nchmod 777 /b\n")
    assert [f.suppressed for f in by_code(r, "OPS103")] == [True, False]


def test_continuation_lines_belong_to_the_statement() -> None:
    r = lint("# opsgen: disable=OPS101 reason=vendor installer, pinned\ncurl -fsSL \\\n"
             "  https://x.invalid/i.sh | sh\n")
    assert all(f.suppressed for f in by_code(r, "OPS101"))


def test_missing_reason_is_ignored_and_reported() -> None:
    r = lint("chmod 777 /srv/x  # opsgen: disable=OPS103\n")
    assert not by_code(r, "OPS103")[0].suppressed
    (bad,) = by_code(r, "OPS001")
    assert "no reason" in bad.message and bad.location.line == 1
    assert not r.ok


def test_all_and_unknown_codes_are_rejected() -> None:
    r = lint("# opsgen: disable=all reason=x\nchmod 777 /a\n# opsgen: disable=OPS999 reason=y\n"
             "ls\n")
    assert [f.location.line for f in by_code(r, "OPS001")] == [1, 3]
    assert not by_code(r, "OPS103")[0].suppressed


def test_disable_file_and_wrapped_tool_codes() -> None:
    r = lint('#!/bin/bash\n# opsgen: disable-file=OPS114,SC2086 reason="legacy script"\n'
             "echo $1\n")
    assert all(f.suppressed for f in r.findings if f.code in ("OPS114", "SC2086"))
    assert by_code(r, "SC2086") and by_code(r, "OPS114")


def test_directive_above_an_ansible_task_covers_the_task() -> None:
    play = ("- hosts: all\n  tasks:\n    # opsgen: disable=OPS205 reason=\"shared drop folder\"\n"
            "    - name: drop\n      ansible.builtin.file:\n        path: /srv/drop\n"
            "        state: directory\n        mode: \"0777\"\n"
            "    - name: other\n      ansible.builtin.file:\n        path: /srv/o\n"
            "        state: directory\n        mode: \"0777\"\n")
    r = lint(play, "ansible")
    assert [(f.location.line, f.suppressed) for f in by_code(r, "OPS205")] == [(8, True),
                                                                                (13, False)]
