"""The review in a terminal: request, numbered script with findings inline, dry-run, sign-off.

Every string from the change (request, script lines, finding messages, names, comments,
sandbox output) goes through :func:`opsgen.ui.safe` before it reaches rich, so escape
sequences show as ``\\x1b`` and ``[bold red]APPROVED`` shows literally (ADV-19).
"""

from __future__ import annotations

from collections import defaultdict

from rich.console import Console

from opsgen.findings import Finding, Severity, sort_findings
from opsgen.report_view import render_dryrun, render_findings
from opsgen.review.data import Review
from opsgen.review.report_model import report_from_dict
from opsgen.review.sysdiff import report_summary
from opsgen.ui import safe

__all__ = ["STATUS_STYLE", "render_review", "script_lines"]

STATUS_STYLE = {
    "draft": "dim",
    "failing": "red",
    "ready": "cyan",
    "approved": "green",
    "rejected": "bold red",
    "exported": "bold green",
}
_SEV = {
    Severity.ERROR: ("bold red", "✗"),
    Severity.WARNING: ("yellow", "!"),
    Severity.INFO: ("cyan", "i"),
    Severity.STYLE: ("dim", "·"),
}


def render_review(review: Review, console: Console, *, show_diffs: bool = True) -> None:
    """Print the whole review of one revision."""
    _header(review, console)
    console.print("\n[bold]Request[/]")
    for line in script_lines(review.change.request) or [""]:
        console.print(f"  {safe(line, keep_newlines=True)}", soft_wrap=True)
    console.print("\n[bold]Script[/]")
    lint = review.evidence.evidence.findings if review.evidence else ()
    _script(review.revision.script, lint, console)
    console.print()
    _dryrun(review, console, show_diffs)
    console.print()
    _signoff(review, console)


def _header(review: Review, console: Console) -> None:
    c, r, state = review.change, review.revision, review.state
    style = STATUS_STYLE[state.status]
    have = len(state.approvers)
    console.print(
        f"[bold]Change {c.id}[/] {safe(c.name)} · {c.lang} · [{style}]{state.status}[/] "
        f"({have} of {state.policy.require} approvals)"
    )
    current = "" if review.is_current else " [yellow](not the current revision)[/]"
    console.print(
        f"Revision {r.number} of {review.revision_count}{current} · by {safe(r.author)} at "
        f"{r.created_at[:19]} · sha256 {r.sha256}",
        soft_wrap=True,
    )
    if not r.intact:
        console.print("[bold red]The stored script no longer matches its sha256 (tampered).[/]")
    ev = review.evidence
    if ev is None:
        console.print("Evidence: [yellow]none yet[/]")
    else:
        verdict = report_summary(ev.evidence.dryrun, ev.evidence.dryrun_skipped)
        console.print(f"Evidence sha256 {ev.sha256} · dry-run {safe(verdict)}", soft_wrap=True)


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
        marker = (
            "[bold red]>[/]"
            if any(f.severity is Severity.ERROR and not f.suppressed for f in by_line[number])
            else " "
        )
        console.print(
            f"{marker}[dim]{number:>{width}} │[/] {safe(line, keep_newlines=True)}",
            soft_wrap=True,
            highlight=False,
        )
        for f in by_line[number]:
            _finding(f, console, indent=" " * (width + 2) + "[dim]│[/]   ")


def script_lines(text: str) -> list[str]:
    """Lines as bash and the linters count them: split on ``\n`` only.

    ``str.splitlines`` also breaks on ``\r``, form feeds and U+2028, which would show a
    reviewer two lines where bash sees one (``echo ok\rcurl x | sh``) and shift every
    finding after it; here a ``\r`` stays in its line and is shown escaped.
    """
    lines = text.split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def _finding(f: Finding, console: Console, *, indent: str) -> None:
    style, mark = _SEV[f.severity]
    ignored = " [dim](suppressed: " + safe(f.suppression_reason) + ")[/]" if f.suppressed else ""
    column = f":{f.location.column}" if f.location.column else ""
    console.print(
        f"{indent}[{style}]{mark} {f.severity.value} {safe(f.code)}[/]{column} "
        f"{safe(f.message)}{ignored}",
        soft_wrap=True,
    )
    if f.hint:
        console.print(f"{indent}  [dim]hint: {safe(f.hint)}[/]", soft_wrap=True)


def _dryrun(review: Review, console: Console, show_diffs: bool) -> None:
    ev = review.evidence
    if ev is None or ev.evidence.dryrun is None:
        why = ev.evidence.dryrun_skipped if ev else "no evidence recorded"
        console.print(f"[bold]Dry-run[/]: [yellow]not run[/] ({safe(why)})", soft_wrap=True)
        return
    try:
        report = report_from_dict(ev.evidence.dryrun)
    except (TypeError, KeyError, ValueError) as exc:  # stored by another opsgen version
        console.print(f"[yellow]The stored dry-run report cannot be shown ({safe(str(exc))}).[/]")
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
        console.print(f"  [red]blocks approval:[/] {safe(blocker)}", soft_wrap=True)
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
    console.print(text, soft_wrap=True)
