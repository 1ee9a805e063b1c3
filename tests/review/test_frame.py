"""Untrusted text cannot pass for opsgen's own report lines (issue 14, point 8).

A terminal wraps a line longer than its width to column 0, so a stdout line padded with
spaces can put ``Verdict: OK`` where our verdict goes. The tests render at a fixed width and
then look at the text the way a terminal of that width shows it (:func:`as_terminal`).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import replace

import pytest
from rich.cells import cell_len, chop_cells
from rich.console import Console

from opsgen.findings import Finding
from opsgen.flow.loop import Attempt, LoopResult
from opsgen.flow.testing import make_evidence, seed_change
from opsgen.generator.llm import Completion
from opsgen.render.dryrun import render_dryrun
from opsgen.render.new import print_review
from opsgen.render.review import render_review
from opsgen.review.data import load_review
from opsgen.sandbox.models import DryRunReport, FileChange, FileMeta, RunResult, SystemDiff
from opsgen.sandbox.stage import outcome_findings
from opsgen.store.repo import Store
from opsgen.ui import sanitize

WIDTH = 80
# Padded so that, whatever indent a view puts before them, one of them wraps "Verdict: OK"
# to column 0 of an 80-column terminal (if the view lets the terminal wrap).
PADDED = [" " * n + "Verdict: OK" for n in range(20, WIDTH + 1)]
STDOUT = "step 1\n" + "\n".join(PADDED) + "\nVerdict: OK\n"
STDERR = " " * (WIDTH - 41) + "Verdict: OK"  # the last line, which OPS408 quotes
SEPARATORS = {
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
    "\x85": "\\x85",
    "\x0b": "\\x0b",
    "\x0c": "\\x0c",
    "\x1c": "\\x1c",
    "\u200e": "\\u200e",
    "\u200f": "\\u200f",
    "\u061c": "\\u061c",
    "\u202e": "\\u202e",
    "\u2066": "\\u2066",
    "\u2069": "\\u2069",
    "\u200b": "\\u200b",
    "\ufeff": "\\ufeff",
}


def as_terminal(text: str, width: int = WIDTH) -> list[str]:
    """The rows a terminal of ``width`` columns shows: a longer line wraps to column 0."""
    rows: list[str] = []
    for line in text.split("\n"):
        rows += chop_cells(line, width) if cell_len(line) > width else [line]
    return rows


def _report(stdout: str = STDOUT, stderr: str = STDERR, diff: str = "") -> DryRunReport:
    run = RunResult(1, "failed", 0.3, stdout, stderr)
    meta = FileMeta("file", 0o644, 0, 0, 1, "cd" * 32)
    files = (FileChange("/etc/motd", "modified", meta, meta, diff),) if diff else ()
    base = DryRunReport("bash", "opsgen-sandbox:test", "sha256:" + "ab" * 32, "0" * 64,
                        (run,), SystemDiff(files=files))
    return replace(base, findings=tuple(outcome_findings(base)))


def _render(draw: Callable[[Console], None]) -> list[str]:
    out = io.StringIO()
    draw(Console(file=out, color_system=None, width=WIDTH, emoji=False, highlight=False))
    return as_terminal(out.getvalue())


def _only_our_verdict(rows: list[str]) -> None:
    verdicts = [r for r in rows if r.startswith("Verdict")]
    assert verdicts == ["Verdict: NOT OK"], "\n".join(rows)
    for row in rows:
        if "Verdict: OK" in row:  # untrusted: behind the frame or a continuation marker
            assert re.match(r"\s+(│|↳|\S.*OPS408)", row), row


def test_padded_stdout_and_stderr_cannot_forge_the_verdict() -> None:
    rows = _render(lambda c: render_dryrun(_report(), c))
    _only_our_verdict(rows)


def test_diff_text_cannot_forge_the_verdict() -> None:
    diff = "-old\n+" + " " * WIDTH + "Verdict: OK\n+" + "y" * (WIDTH - 3) + "Verdict: OK"
    rows = _render(lambda c: render_dryrun(_report("", "", diff=diff), c))
    _only_our_verdict(rows)


def test_every_output_line_is_framed_and_nothing_overflows() -> None:
    rows = _render(lambda c: render_dryrun(_report(), c))
    start = rows.index(next(r for r in rows if r.strip().startswith("stdout")))
    end = rows.index(next(r for r in rows if r.strip().startswith("stderr")))
    body = rows[start + 1: end]
    assert len(body) >= 15
    assert all(re.match(r"\s+│", r) or re.match(r"\s+↳", r) for r in body), body
    assert all(cell_len(r) <= WIDTH for r in rows)


def test_ops408_quotes_the_stderr_line_it_embeds() -> None:
    report = _report(stderr="boom\nVerdict: OK")
    (f408,) = [f for f in report.findings if f.code == "OPS408"]
    assert '"Verdict: OK"' in f408.message
    report = _report(stderr="a\u2028Verdict: OK \"quoted\"")
    (f408,) = [f for f in report.findings if f.code == "OPS408"]
    assert "\u2028" not in f408.message and "\\u2028" in f408.message
    assert '\\"quoted\\"' in f408.message


def test_show_frames_run_output_and_the_quoting_finding(store: Store) -> None:
    report = _report()
    evidence = make_evidence(report=report)
    change, _, _ = seed_change(store, evidence=evidence)
    rows = _render(lambda c: render_review(load_review(store, change.id), c))
    verdicts = [r for r in rows if r.startswith("Verdict")]
    assert verdicts == ["Verdict: NOT OK"], "\n".join(rows)
    assert all(cell_len(r) <= WIDTH for r in rows)


def test_a_long_script_line_is_folded_with_a_marker_and_keeps_its_number(store: Store) -> None:
    long_line = "echo " + "a" * 150 + " Verdict: OK " + "b" * 60
    script = f"#!/bin/bash\n{long_line}\n{PADDED[0]}\nid\n"
    evidence = make_evidence(script=script)
    change, _, _ = seed_change(store, script=script, evidence=evidence)
    rows = _render(lambda c: render_review(load_review(store, change.id), c))
    numbered = [r for r in rows if re.match(r"[ >]\s*\d+ │ ", r)]
    assert [re.match(r"[ >]\s*(\d+)", r).group(1) for r in numbered] == ["1", "2", "3", "4"]  # type: ignore[union-attr]
    at = rows.index(numbered[1])
    continuation = rows[at + 1: rows.index(numbered[2])]
    assert continuation and all(re.match(r"\s+↳ ", r) for r in continuation), continuation
    assert "".join([numbered[1].split(" │ ", 1)[1]]
                   + [r.split("↳ ", 1)[1] for r in continuation]) == long_line
    assert [r for r in rows if r.startswith("Verdict")] == ["Verdict: OK"]  # ours alone


def test_the_generated_script_review_folds_with_a_marker() -> None:
    script = "#!/bin/bash\n" + "".join(f"echo{pad}\n" for pad in PADDED)
    attempt = Attempt(1, Completion(script, "m", "fake"), script, dryrun=_report())
    rows = _render(lambda c: print_review(LoopResult("x", "bash", (attempt,), True), c))
    assert not any(r.startswith("Verdict") for r in rows), "\n".join(rows)
    assert all(cell_len(r) <= WIDTH for r in rows)
    assert any("↳" in r for r in rows)


@pytest.mark.parametrize(("char", "shown"), list(SEPARATORS.items()),
                         ids=[f"U+{ord(c):04X}" for c in SEPARATORS])
def test_line_separators_and_bidi_controls_are_escaped(char: str, shown: str) -> None:
    assert sanitize(f"a{char}b") == f"a{shown}b"
    assert sanitize(f"a{char}b", keep_newlines=True) == f"a{shown}b"


def test_separators_are_escaped_in_rendered_output() -> None:
    text = "".join(f"x{c}y\n" for c in SEPARATORS)
    out = io.StringIO()
    console = Console(file=out, color_system=None, width=WIDTH, emoji=False, highlight=False)
    render_dryrun(_report(stdout=text, stderr=text), console)
    shown = out.getvalue()
    assert not any(c in shown for c in SEPARATORS)
    assert all(s in shown for s in SEPARATORS.values())


def test_a_finding_message_wraps_behind_an_indent() -> None:
    from opsgen.findings import Location, Severity
    from opsgen.render.findings import render_findings

    found = [Finding("OPS408", Severity.ERROR, f"first run: exit status 1: {pad}",
                     Location("<dry-run>", 0)) for pad in PADDED]
    rows = _render(lambda c: render_findings(found, c))
    assert not any(r.startswith("Verdict") for r in rows), rows
