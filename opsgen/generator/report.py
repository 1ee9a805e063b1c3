"""Presenting a loop result: the JSON object and the terminal review.

Everything the model wrote, and everything the sandbox saw, is untrusted text: it reaches
the terminal only through :func:`opsgen.ui.safe`/:func:`~opsgen.ui.sanitize`.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.syntax import Syntax

from opsgen.findings import Finding, sort_findings
from opsgen.generator.loop import Attempt, LoopResult
from opsgen.sandbox.models import DryRunReport, SystemDiff
from opsgen.ui import safe, sanitize

__all__ = ["final_findings", "print_review", "result_to_dict"]

_SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan", "style": "dim"}


def final_findings(attempt: Attempt) -> list[Finding]:
    """Lint findings plus dry-run outcome findings of one attempt, in display order."""
    found: list[Finding] = []
    if attempt.lint is not None:
        found += list(attempt.lint.findings)
    if attempt.dryrun is not None:
        found += list(attempt.dryrun.findings)
    return sort_findings(found)


def result_to_dict(result: LoopResult) -> dict[str, Any]:
    """The ``--json`` object: id, lang, script, findings, dryrun, attempts, status, ..."""
    final = result.final
    return {
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
        "consensus": result.consensus.to_dict() if result.consensus is not None else None,
        **result.extra,
    }


def _print_diff(out: Console, diff: SystemDiff) -> None:
    if diff.empty:
        out.print("  no observable change")
    for f in diff.files:
        notes = f" ({safe('; '.join(f.notes))})" if f.notes else ""
        out.print(f"  {f.change:>8}  {safe(f.path)}{notes}")
    for acc in (*diff.users, *diff.groups):
        out.print(f"  {acc.change:>8}  {acc.kind} {safe(acc.name)}")
    for pkg in diff.packages:
        out.print(f"  {pkg.change:>8}  package {safe(pkg.name)} {safe(pkg.after or pkg.before)}")
    for cron in diff.cron:
        for line in cron.added:
            out.print(f"  cron add  {safe(cron.path)}: {safe(line)}")
        for line in cron.removed:
            out.print(f"  cron del  {safe(cron.path)}: {safe(line)}")
    for svc in diff.services:
        out.print(f"   service  {safe(svc.describe())}")


def _print_dryrun(out: Console, report: DryRunReport) -> None:
    runs = ", ".join(
        f"run {i + 1}: {r.status} (exit {r.exit_code}, {r.duration_s:.1f}s)"
        for i, r in enumerate(report.runs)
    )
    idem = {None: "not checked", True: "yes", False: "[bold red]no[/]"}[report.idempotent]
    out.print(f"[bold]Dry-run[/] in {safe(report.image)}: {runs}; idempotent: {idem}")
    _print_diff(out, report.diff)


def _print_attempts(out: Console, result: LoopResult) -> None:
    for a in result.attempts:
        c = a.completion
        speed = f"{c.completion_tokens} tokens, {c.seconds:.1f}s, {c.tokens_per_s:.1f} tok/s"
        verdict = "[green]passed[/]" if a.passed else f"{len(a.problems)} problem(s)"
        kind = " (sampled candidate)" if a.sampled else ""
        out.print(f"  attempt {a.number}{kind}: {verdict} ({speed})")
        for p in a.problems:
            out.print(f"    - {safe(p.describe(a.script or ''))}", soft_wrap=True)


def print_review(result: LoopResult, out: Console) -> None:
    """Print the script, opsgen's corrections, findings, the system diff and the change id."""
    final = result.final
    lexer = "bash" if result.lang == "bash" else "yaml"
    out.rule(f"opsgen · {result.lang} · attempt {final.number} of {len(result.attempts)}")
    script = sanitize(final.script or "", keep_newlines=True)
    out.print(Syntax(script, lexer, line_numbers=True, word_wrap=True, theme="ansi_dark"))
    if final.fixes:
        out.print("[bold]Corrected by opsgen[/] (not by the model):")
        for fix in final.fixes:
            out.print(f"  - {safe(fix)}")
    findings = final_findings(final)
    out.print(f"[bold]Findings[/]: {len(findings) or 'none'}")
    for f in findings:
        style = _SEVERITY_STYLE.get(f.severity.value, "")
        where = f"line {f.location.line}" if f.location.line else "-"
        out.print(
            f"  [{style}]{f.severity.value:>7}[/] {safe(f.code)} {where}: {safe(f.message)}",
            soft_wrap=True,
        )
    if final.dryrun is not None:
        _print_dryrun(out, final.dryrun)
    elif result.dryrun_enabled:
        out.print("[bold]Dry-run[/]: [yellow]not run: lint errors are fixed first[/]")
    else:
        out.print("[bold]Dry-run[/]: [yellow]skipped (--no-dryrun)[/]")
    out.print("[bold]Attempts[/]:")
    _print_attempts(out, result)
    if result.consensus is not None:
        out.print(f"[bold]Consensus[/]: {result.consensus.describe()}")
    colour = {"vetted": "green", "unverified": "yellow"}.get(result.status, "bold red")
    out.print(f"[bold]Change[/] {result.change_id}: [{colour}]{result.status}[/]")
