"""Rendering a dry-run report for a terminal: the observed system diff, escaped.

Every string that came out of the sandbox (paths, diff text, output, unit names) is
untrusted and goes through :func:`opsgen.ui.safe` (security.md §3.13, ADV-19). Pass a
console made with ``emoji=False`` (as :data:`opsgen.ui.console` is): rich otherwise turns
``:x:`` in ``/etc/group`` lines into an emoji.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from opsgen.findings import Finding, Severity
from opsgen.sandbox.models import DryRunReport, RunResult, SystemDiff
from opsgen.ui import safe

__all__ = ["render_dryrun", "render_findings", "render_system_diff"]

_SEV_STYLE = {
    Severity.ERROR: "bold red",
    Severity.WARNING: "yellow",
    Severity.INFO: "cyan",
    Severity.STYLE: "dim",
}
_CHANGE_STYLE = {"added": "green", "modified": "yellow", "deleted": "red"}
_TAIL_LINES = 15


def render_findings(findings: tuple[Finding, ...] | list[Finding], console: Console) -> None:
    """One line per finding: ``severity CODE message`` and its hint."""
    for f in findings:
        style = _SEV_STYLE.get(f.severity, "")
        where = f"{safe(f.location.path)}:{f.location.line}: " if f.location.line else ""
        console.print(
            f"  {where}[{style}]{f.severity.value}[/] {safe(f.code)} {safe(f.message)}",
            soft_wrap=True,
        )
        if f.hint:
            console.print(f"      [dim]hint: {safe(f.hint)}[/]", soft_wrap=True)


def _render_run(i: int, run: RunResult, console: Console) -> None:
    style = {"passed": "green", "failed": "red", "killed": "bold red"}[run.status]
    why = f" ({run.stop_reason})" if run.stop_reason else ""
    console.print(
        f"[bold]Run {i}[/]: [{style}]{run.status}{why}[/], exit {run.exit_code}, "
        f"{run.duration_s:.2f}s"
        + (f", limits hit: {', '.join(run.limits_hit)}" if run.limits_hit else "")
    )
    for name, text, cut in (
        ("stdout", run.stdout, run.stdout_truncated),
        ("stderr", run.stderr, run.stderr_truncated),
    ):
        lines = text.rstrip("\n").splitlines()
        if not lines:
            continue
        shown = lines[-_TAIL_LINES:]
        more = f" (last {len(shown)} of {len(lines)} lines)" if len(lines) > len(shown) else ""
        console.print(f"  [dim]{name}{more}{' [truncated]' if cut else ''}:[/]")
        for line in shown:
            console.print(f"    {safe(line)}", soft_wrap=True)
    if run.ansible_tasks:
        counts: dict[str, int] = {}
        for t in run.ansible_tasks:
            counts[t.get("status", "?")] = counts.get(t.get("status", "?"), 0) + 1
        console.print(
            "  ansible tasks: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items()))
        )
        for t in run.ansible_tasks:
            if t.get("status") in ("changed", "failed"):
                console.print(f"    {safe(t.get('status', ''))}: {safe(t.get('task', ''))}")


def render_system_diff(diff: SystemDiff, console: Console, *, show_diffs: bool = True) -> None:
    """Files, users, groups, packages, cron and services, in that order."""
    if diff.empty:
        console.print("  [dim]no changes observed[/]")
        return
    if diff.files:
        table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
        table.add_column("change")
        table.add_column("path", overflow="fold")
        table.add_column("details", overflow="fold")
        for f in diff.files:
            kind = (f.after or f.before).ftype if (f.after or f.before) else "?"  # type: ignore[union-attr]
            details = ", ".join(f.notes) or ("" if kind == "file" else kind)
            table.add_row(f"[{_CHANGE_STYLE[f.change]}]{f.change}[/]", safe(f.path), safe(details))
        console.print(table)
    for title, items in (("Users", diff.users), ("Groups", diff.groups)):
        for a in items:
            details = ", ".join(f"{k}={v}" for k, v in a.details.items())
            console.print(
                f"  {title[:-1].lower()} [bold]{safe(a.name)}[/] {a.change}"
                + (f": {safe(details)}" if details else ""),
                soft_wrap=True,
            )
    for p in diff.packages:
        ver = f"{p.before} -> {p.after}" if p.change == "upgraded" else (p.after or p.before)
        console.print(f"  package [bold]{safe(p.name)}[/] {p.change} {safe(ver)}")
    for c in diff.cron:
        for line in c.added:
            console.print(f"  cron {safe(c.path)}: [green]+ {safe(line)}[/]", soft_wrap=True)
        for line in c.removed:
            console.print(f"  cron {safe(c.path)}: [red]- {safe(line)}[/]", soft_wrap=True)
    for s in diff.services:
        console.print(f"  service: {safe(s.describe())} [dim]({safe(s.tool)})[/]")
    if show_diffs:
        for f in diff.files:
            if f.diff:
                console.print(f"[dim]{safe(f.path)}[/]")
                for line in f.diff.splitlines():
                    style = (
                        "green"
                        if line.startswith("+")
                        else "red"
                        if line.startswith("-")
                        else "dim"
                    )
                    console.print(f"  [{style}]{safe(line)}[/]", soft_wrap=True)


def render_dryrun(report: DryRunReport, console: Console, *, show_diffs: bool = True) -> None:
    """The whole report: header, runs, system diff, idempotence verdict, findings."""
    what = "an Ansible playbook" if report.lang == "ansible" else "a bash script"
    console.print(
        f"[bold]Dry-run[/] of {what} in {safe(report.image)} "
        f"[dim]({safe(report.image_id[:19])}, network {report.network})[/]"
    )
    for w in report.engine_warnings:
        console.print(f"  [yellow]engine: {safe(w)}[/]", soft_wrap=True)
    for i, run in enumerate(report.runs, 1):
        _render_run(i, run, console)
    console.print("[bold]Observed system diff[/] (first run):")
    render_system_diff(report.diff, console, show_diffs=show_diffs)
    if report.second_diff is not None:
        if report.idempotent:
            console.print("[bold]Idempotence[/]: [green]second run changed nothing[/]")
        else:
            console.print("[bold]Idempotence[/]: [red]second run changed the system again[/]")
            render_system_diff(report.second_diff, console, show_diffs=show_diffs)
    elif len(report.runs) == 1 and report.first.status != "passed":
        console.print("[dim]Idempotence not checked: the first run did not pass.[/]")
    if report.findings:
        console.print("[bold]Findings[/]:")
        render_findings(report.findings, console)
    verdict = "[green]OK[/]" if report.ok else "[red]NOT OK[/]"
    console.print(f"Verdict: {verdict}")
