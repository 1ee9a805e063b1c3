"""Findings for a terminal: one severity style, the gcc-style line and the report list.

Every renderer (``lint``, ``dryrun``, ``new``'s review, ``show``) takes its severity
colours from :data:`SEVERITY_STYLE`, so an error looks the same wherever it appears. Every
string of a finding can carry untrusted text (a tool's message quoting the script, a
run's stderr), so each goes through :func:`opsgen.ui.safe`.
"""

from __future__ import annotations

from rich.console import Console

from opsgen.findings import Finding, Severity
from opsgen.ui import print_folded, safe

__all__ = ["SEVERITY_MARK", "SEVERITY_STYLE", "finding_line", "render_findings", "severity_tag"]

SEVERITY_STYLE: dict[Severity, str] = {
    Severity.ERROR: "bold red",
    Severity.WARNING: "yellow",
    Severity.INFO: "cyan",
    Severity.STYLE: "dim",
}
#: the one-character mark beside a finding under a script line (``show``)
SEVERITY_MARK: dict[Severity, str] = {
    Severity.ERROR: "✗",
    Severity.WARNING: "!",
    Severity.INFO: "i",
    Severity.STYLE: "·",
}


def severity_tag(severity: Severity, *, width: int = 0) -> str:
    """``[bold red]error[/]``: the severity word in its style (right-aligned to ``width``)."""
    return f"[{SEVERITY_STYLE.get(severity, '')}]{severity.value:>{width}}[/]"


def finding_line(f: Finding) -> str:
    """``file:line:col: severity CODE message`` with the hint below, all escaped (the
    format editors and CI logs read, one finding per line)."""
    loc = f.location
    text = (f"{safe(loc.path)}:{loc.line}:{loc.column}: {severity_tag(f.severity)} "
            f"{safe(f.code)} {safe(f.message)}")
    if f.suppressed:
        text += f" [dim]\\[suppressed: {safe(f.suppression_reason)}][/]"
    if f.hint and not f.suppressed:
        text += f"\n    [dim]hint:[/] {safe(f.hint)}"
    return text


def render_findings(findings: tuple[Finding, ...] | list[Finding], console: Console) -> None:
    """One folded line per finding: ``severity CODE message`` and its hint."""
    for f in findings:
        where = f"{safe(f.location.path)}:{f.location.line}: " if f.location.line else ""
        print_folded(console, f"  {where}{severity_tag(f.severity)} {safe(f.code)} "
                              f"{safe(f.message)}")
        if f.hint:
            print_folded(console, f"      [dim]hint: {safe(f.hint)}[/]")
