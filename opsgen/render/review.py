"""The review in a terminal: request, numbered script with findings inline, dry-run, sign-off.

Every string from the change (request, script lines, finding messages, names, comments,
sandbox output) goes through :func:`opsgen.ui.safe` before it reaches rich, so escape
sequences show as ``\\x1b`` and ``[bold red]APPROVED`` shows literally (ADV-19). The script
and the request are redacted as whole texts first (a private key spans lines; redaction
keeps every line break, so line numbers stay right). Nothing is left for the terminal to
wrap: the request is framed, a long script line is folded behind its number's gutter with
a ``↳`` on each continuation row (never into lines the script does not have), and our own
lines are folded with an indent, so no untrusted character lands at column 0.
"""

from __future__ import annotations

from collections import defaultdict

from rich.console import Console
from rich.text import Text

from opsgen.findings import Finding, Severity, sort_findings
from opsgen.redact import redact
from opsgen.render.dryrun import render_dryrun
from opsgen.render.findings import SEVERITY_MARK, SEVERITY_STYLE, render_findings
from opsgen.review.data import Review, script_lines
from opsgen.review.report_model import report_from_dict
from opsgen.review.sysdiff import report_summary
from opsgen.ui import print_folded, print_framed, print_source_line, safe, sanitize

__all__ = ["STATUS_STYLE", "render_review"]

STATUS_STYLE = {
    "draft": "dim",
    "failing": "red",
    "ready": "cyan",
    "approved": "green",
    "rejected": "bold red",
    "exported": "bold green",
}


def render_review(review: Review, console: Console, *, show_diffs: bool = True) -> None:
    """Print the whole review of one revision."""
    _header(review, console)
    console.print("\n[bold]Request[/]")
    request = redact(review.change.request, scan=True)
    print_framed(console, script_lines(request) or [""], indent="  ")
    console.print("\n[bold]Script[/]")
    lint = review.evidence.evidence.findings if review.evidence else ()
    _script(redact(review.revision.script, scan=True, lang=review.change.lang), lint, console)
    console.print()
    _dryrun(review, console, show_diffs)
    console.print()
    _signoff(review, console)


def _header(review: Review, console: Console) -> None:
    c, r, state = review.change, review.revision, review.state
    style = STATUS_STYLE[state.status]
    have = len(state.approvers)
    print_folded(
        console,
        f"[bold]Change {c.id}[/] {safe(c.name)} · {c.lang} · [{style}]{state.status}[/] "
        f"({have} of {state.policy.require} approvals)",
    )
    current = "" if review.is_current else " [yellow](not the current revision)[/]"
    print_folded(
        console,
        f"Revision {r.number} of {review.revision_count}{current} · by {safe(r.author)} at "
        f"{r.created_at[:19]} · sha256 {r.sha256}",
    )
    if not r.intact:
        console.print("[bold red]The stored script no longer matches its sha256 (tampered).[/]")
    ev = review.evidence
    if ev is None:
        console.print("Evidence: [yellow]none yet[/]")
    else:
        verdict = report_summary(ev.evidence.dryrun, ev.evidence.dryrun_skipped)
        print_folded(console, f"Evidence sha256 {ev.sha256} · dry-run {safe(verdict)}")


def _script(text: str, findings: tuple[Finding, ...], console: Console) -> None:
    lines = script_lines(text)
    by_line: dict[int, list[Finding]] = defaultdict(list)
    loose: list[Finding] = []
    for f in sort_findings(list(findings)):
        (by_line[f.location.line] if 1 <= f.location.line <= len(lines) else loose).append(f)
    for f in loose:
        _finding(f, console, indent="  ")
    width = len(str(len(lines)))
    for number, line in enumerate(lines, 1):
        bad = any(f.severity is Severity.ERROR and not f.suppressed for f in by_line[number])
        print_source_line(console, number, width, Text(sanitize(line, keep_newlines=True)),
                          marker=Text(">", style="bold red") if bad else Text(" "))
        for f in by_line[number]:
            _finding(f, console, indent=" " * (width + 2) + "[dim]│[/]   ")



def _finding(f: Finding, console: Console, *, indent: str) -> None:
    style, mark = SEVERITY_STYLE[f.severity], SEVERITY_MARK[f.severity]
    ignored = " [dim](suppressed: " + safe(f.suppression_reason) + ")[/]" if f.suppressed else ""
    column = f":{f.location.column}" if f.location.column else ""
    print_folded(
        console,
        f"{indent}[{style}]{mark} {f.severity.value} {safe(f.code)}[/]{column} "
        f"{safe(f.message)}{ignored}",
    )
    if f.hint:
        print_folded(console, f"{indent}  [dim]hint: {safe(f.hint)}[/]")


def _dryrun(review: Review, console: Console, show_diffs: bool) -> None:
    ev = review.evidence
    if ev is None or ev.evidence.dryrun is None:
        why = ev.evidence.dryrun_skipped if ev else "no evidence recorded"
        print_folded(console, f"[bold]Dry-run[/]: [yellow]not run[/] ({safe(why)})")
        return
    try:
        report = report_from_dict(ev.evidence.dryrun)
    except (TypeError, KeyError, ValueError) as exc:  # stored by another opsgen version
        print_folded(
            console, f"[yellow]The stored dry-run report cannot be shown ({safe(str(exc))}).[/]"
        )
        render_findings(ev.evidence.dryrun_findings, console)
        return
    render_dryrun(report, console, show_diffs=show_diffs)


def _signoff(review: Review, console: Console) -> None:
    state = review.state
    console.print("[bold]Sign-off[/]")
    for d in state.approvals:
        _decision("[green]approved[/]", d.by, d.created_at, d.comment, d.override, console)
    for d in state.stale:
        _decision("[dim]stale approval[/]", d.by, d.created_at, d.comment, d.override, console)
    if state.rejection:
        r = state.rejection
        _decision("[bold red]rejected[/]", r.by, r.created_at, r.comment, "", console)
    if not (state.approvals or state.stale or state.rejection):
        console.print("  no approvals yet")
    for blocker in state.blockers:
        print_folded(console, f"  [red]blocks approval:[/] {safe(blocker)}")
    c = review.change
    if state.status in {"ready", "failing", "draft"} and review.is_current:
        override = " --override REASON" if state.blockers else ""
        console.print(
            f"  next: opsgen approve {c.id} --by NAME --revision {state.revision.number}{override}"
        )
    elif state.status == "approved":
        console.print(f"  next: opsgen export {c.id} --to DIR  (or --repo PATH)")


def _decision(label: str, by: str, at: str, comment: str, override: str, console: Console) -> None:
    text = f"  {label} by {safe(by)} at {at[:19]}"
    if comment:
        text += f": {safe(comment)}"
    if override:
        text += f" [yellow](override: {safe(override)})[/]"
    print_folded(console, text)
