"""Presenting a loop result: the JSON object and the terminal review.

Everything the model wrote, and everything the sandbox saw, is untrusted text: it reaches
the terminal only through :func:`opsgen.ui.safe`/:func:`~opsgen.ui.sanitize`, redacted
(the script as a whole, so a private key's body lines are hidden too), and folded so the
terminal never wraps it to column 0: script lines continue behind ``↳`` in the line-number
gutter, our lines continue indented. The JSON object is redacted the same way.

The scenario's names, commands, prepare text and check output are untrusted too (the model
wrote them from the request, the sandbox printed them): the review shows them through the
dry-run report's scenario block (:func:`opsgen.render.dryrun.render_scenario`), and marks a
check every agreeing candidate failed as *disputed*.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.syntax import Syntax
from rich.text import Text

from opsgen.findings import Finding, sort_findings
from opsgen.flow.loop import Attempt, LoopResult
from opsgen.redact import redact, redact_tree
from opsgen.render.dryrun import render_scenario, render_system_diff
from opsgen.render.findings import render_findings
from opsgen.sandbox.models import DryRunReport
from opsgen.ui import print_folded, print_source_line, safe, sanitize

__all__ = ["final_findings", "print_review", "result_to_dict"]



def final_findings(attempt: Attempt) -> list[Finding]:
    """Lint findings plus dry-run outcome findings of one attempt, in display order."""
    found: list[Finding] = []
    if attempt.lint is not None:
        found += list(attempt.lint.findings)
    if attempt.dryrun is not None:
        found += list(attempt.dryrun.findings)
    return sort_findings(found)


def result_to_dict(result: LoopResult) -> dict[str, Any]:
    """The ``--json`` object: id, lang, script, findings, dryrun, attempts, status, ...

    Redacted (detect-secrets included): the exact script reaches disk only through the
    store and an approved export, never through ``--json``."""
    final = result.final
    data = {
        "id": result.change_id,
        "lang": result.lang,
        "request": result.request,
        "status": result.status,
        "script": final.script,
        "fixes": list(final.fixes),
        "findings": [f.to_dict() for f in final_findings(final)],
        "problems": [p.to_dict() for p in final.problems],
        "dryrun": final.dryrun.to_dict() if final.dryrun is not None else None,
        "final_attempt": final.number,
        "attempts": [a.to_dict() for a in result.attempts],
        "unchanged_repairs": result.unchanged_repairs,
        "consensus": result.consensus.to_dict() if result.consensus is not None else None,
        "verdict": result.verdict,
        "scenario": result.scenario.to_dict() if result.scenario is not None else None,
        "checks": [{**c.to_dict(), "disputed": c.name in result.disputed}
                   for c in result.checks],
        "disputed": list(result.disputed),
        **result.extra,
    }
    redacted: dict[str, Any] = redact_tree(data, scan=True)
    return redacted


def _print_dryrun(out: Console, report: DryRunReport) -> None:
    runs = ", ".join(
        f"run {i + 1}: {r.status} (exit {r.exit_code}, {r.duration_s:.1f}s)"
        for i, r in enumerate(report.runs)
    )
    unknown = "unknown" if len(report.runs) > 1 else "not checked"  # a failed run proves nothing
    idem = {None: unknown, True: "yes", False: "[bold red]no[/]"}[report.idempotent]
    print_folded(out, f"[bold]Dry-run[/] in {safe(report.image)}: {runs}; idempotent: {idem}")
    render_system_diff(report.diff, out, show_diffs=False)


def _print_scenario(out: Console, result: LoopResult) -> None:
    """The scenario and each check's result; what happened to the model's scenario; the
    disputed checks. A scenario that was not run is shown as such, never as passed."""
    record = result.scenario
    final = result.final
    if final.dryrun is not None and final.dryrun.scenario is not None:
        render_scenario(final.dryrun, out)
    elif record is not None and not record.scenario.empty:
        why = ("the dry-run was skipped (--no-dryrun)" if not result.dryrun_enabled
               else "the script was not run")
        out.print(f"[bold]Scenario[/]: {len(record.scenario.checks)} check(s), "
                  f"[yellow]not run: {why}[/]")
        for check in record.scenario.checks:
            print_folded(out, f"  [dim]-[/] {safe(check.name)}: {safe(check.run)}")
    elif result.dryrun_enabled and final.dryrun is not None:
        out.print("[bold]Scenario[/]: [yellow]no checks: nothing showed the script does what "
                  "was asked, only that it runs[/]")
    if record is not None:
        for note in record.notes:
            print_folded(out, f"  [dim]note: {safe(note)}[/]")
    for name in result.disputed:
        print_folded(out, f"[bold yellow]Disputed[/]: {safe(name)}: every candidate failed "
                     "it although they agreed; the check or the script may be wrong, review "
                     "both (not counted as passed)")


def _print_attempts(out: Console, result: LoopResult) -> None:
    for a in result.attempts:
        c = a.completion
        speed = f"{c.completion_tokens} tokens, {c.seconds:.1f}s, {c.tokens_per_s:.1f} tok/s"
        verdict = "[green]passed[/]" if a.passed else f"{len(a.problems)} problem(s)"
        kind = " (sampled candidate)" if a.sampled else ""
        if a.repeat_of is not None:
            again = "" if a.lint is not None and not a.sampled else ", not checked again"
            kind += f" [yellow](same script as attempt {a.repeat_of}{again})[/]"
        out.print(f"  attempt {a.number}{kind}: {verdict} ({speed})")
        for p in a.problems:
            print_folded(out, f"    - {safe(p.describe(redact(a.script or '')))}")


def _print_script(out: Console, script: str, lang: str, lexer: str) -> None:
    """The script, highlighted, one numbered row per line; a long line is folded behind a
    ``↳`` in the gutter rather than wrapped by the terminal."""
    text = sanitize(redact(script, scan=True, lang=lang), keep_newlines=True)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    syntax = Syntax("", lexer, theme="ansi_dark")
    highlighted: list[Text] = list(syntax.highlight("\n".join(lines)).split("\n"))
    width = len(str(len(lines)))
    for number, line in enumerate(highlighted[: len(lines)], 1):
        print_source_line(out, number, width, line)


def print_review(result: LoopResult, out: Console) -> None:
    """Print the script, opsgen's corrections, findings, the system diff and the change id."""
    final = result.final
    lexer = "bash" if result.lang == "bash" else "yaml"
    out.rule(f"opsgen · {result.lang} · attempt {final.number} of {len(result.attempts)}")
    _print_script(out, final.script or "", result.lang, lexer)
    if final.fixes:
        out.print("[bold]Corrected by opsgen[/] (not by the model):")
        for fix in final.fixes:
            print_folded(out, f"  - {safe(fix)}")
    findings = final_findings(final)
    out.print(f"[bold]Findings[/]: {len(findings) or 'none'}")
    render_findings(findings, out)
    if final.dryrun is not None:
        _print_dryrun(out, final.dryrun)
    elif result.dryrun_enabled:
        out.print("[bold]Dry-run[/]: [yellow]not run: lint errors are fixed first[/]")
    else:
        out.print("[bold]Dry-run[/]: [yellow]skipped (--no-dryrun)[/]")
    _print_scenario(out, result)
    out.print("[bold]Attempts[/]:")
    _print_attempts(out, result)
    if result.consensus is not None:
        # describe() names disputed checks: untrusted text, escaped like the rest
        print_folded(out, f"[bold]Consensus[/]: {safe(result.consensus.describe())}")
    colour = {"vetted": "green", "runs-clean": "yellow", "unverified": "yellow"}.get(
        result.status, "bold red")
    print_folded(out, f"[bold]Change[/] {result.change_id}: [{colour}]{result.status}[/] "
                 f"({safe(result.verdict)})")
