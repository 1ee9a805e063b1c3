"""Rendering a dry-run report for a terminal: the observed system diff, escaped.

Every string that came out of the sandbox (paths, diff text, output, unit names) is
untrusted and goes through :func:`opsgen.ui.safe` (security.md §3.13, ADV-19). Run output
and diff text are redacted as whole texts (a private key spans lines) and then printed in
the frame of :func:`opsgen.ui.print_framed`; our own lines that embed untrusted text are
folded by :func:`opsgen.ui.print_folded`, so nothing from the sandbox can wrap to column 0
and pass for a line of ours (``Verdict: OK``). Pass a console made with ``emoji=False`` (as
:data:`opsgen.ui.console` is): rich otherwise turns ``:x:`` in ``/etc/group`` lines into an
emoji.
"""

from __future__ import annotations

import re

from rich.console import Console
from rich.table import Table
from rich.text import Text

from opsgen.redact import redact
from opsgen.render.findings import render_findings
from opsgen.sandbox.dpkgfiles import is_package_state, is_runtime
from opsgen.sandbox.models import (
    CheckResult,
    DryRunReport,
    FileChange,
    PackageChange,
    RunResult,
    SystemDiff,
)
from opsgen.ui import print_folded, print_framed, safe, sanitize

__all__ = ["render_dryrun", "render_scenario", "render_system_diff"]

_CHANGE_STYLE = {"added": "green", "modified": "yellow", "deleted": "red"}
_TAIL_LINES = 15
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _render_run(i: int, run: RunResult, console: Console, *, label: str = "") -> None:
    style = {"passed": "green", "failed": "red", "killed": "bold red"}[run.status]
    why = f" ({run.stop_reason})" if run.stop_reason else ""
    console.print(
        f"[bold]{label or f'Run {i}'}[/]: [{style}]{run.status}{why}[/], exit {run.exit_code}, "
        f"{run.duration_s:.2f}s"
        + (f", limits hit: {', '.join(run.limits_hit)}" if run.limits_hit else "")
    )
    if run.disk_bytes is not None:
        inodes = f", {run.disk_inodes:,} inodes" if run.disk_inodes is not None else ""
        console.print(
            f"  [dim]disk: {_mib(run.disk_bytes)}{inodes} in the writable layer "
            f"({safe(run.disk_accounting or 'apparent')})[/]"
        )
    if run.leftover_processes:
        console.print(
            f"  [yellow]{len(run.leftover_processes)} process(es) still running when the "
            "script ended (killed with the container):[/]"
        )
        print_framed(console, list(run.leftover_processes))
    for name, text, cut in (
        ("stdout", run.stdout, run.stdout_truncated),
        ("stderr", run.stderr, run.stderr_truncated),
    ):
        # Redact the whole text first: a private key's body lines are secret only as a block.
        # Split on \r too (a terminal would overwrite the line: show both); U+2028 and the
        # like are not line breaks here, they are shown escaped inside their line.
        whole = redact(text, scan=True).rstrip("\r\n")
        lines = _LINE_BREAK.split(whole) if whole else []
        if not lines:
            continue
        shown = lines[-_TAIL_LINES:]
        more = f" (last {len(shown)} of {len(lines)} lines)" if len(lines) > len(shown) else ""
        console.print(f"  [dim]{name}{more}{' [truncated]' if cut else ''}:[/]")
        print_framed(console, shown)
    if run.ansible_tasks:
        counts: dict[str, int] = {}
        for t in run.ansible_tasks:
            counts[t.get("status", "?")] = counts.get(t.get("status", "?"), 0) + 1
        console.print(
            "  ansible tasks: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items()))
        )
        for t in run.ansible_tasks:
            if t.get("status") in ("changed", "failed"):
                print_folded(console, f"    {safe(t.get('status', ''))}: {safe(t.get('task', ''))}")


def _mib(n: int) -> str:
    return f"{n / (1 << 20):,.1f} MiB"


def _reviewed(diff: SystemDiff, full: bool) -> tuple[list[FileChange], int, int]:
    """(files listed, apt/dpkg state counted, /run counted): the default view lists what
    the script itself changed; a package's files as shipped are counted under it."""
    if full:
        return list(diff.files), 0, 0
    listed, state, runtime = [], 0, 0
    for f in diff.files:
        if f.packaged:
            continue
        if is_package_state(f.path):
            state += 1
        elif is_runtime(f.path):
            runtime += 1
        else:
            listed.append(f)
    return listed, state, runtime


def _package_line(p: PackageChange, diff: SystemDiff, full: bool) -> str:
    ver = f"{p.before} -> {p.after}" if p.change == "upgraded" else (p.after or p.before)
    line = f"  package [bold]{safe(p.name)}[/] {p.change} {safe(ver)}"
    if p.files:
        line += f": {p.files:,} file(s) as shipped" + (" (listed above)" if full else "")
    if p.conffiles:
        edited = [f.path for f in diff.files if f.path in p.conffiles and not f.packaged]
        line += f", {len(p.conffiles)} conffile(s)"
        if edited:
            line += ", changed after install: " + ", ".join(safe(e) for e in edited[:5])
    return line


def render_system_diff(
    diff: SystemDiff, console: Console, *, show_diffs: bool = True, full: bool = False
) -> None:
    """Files, users, groups, packages, cron and services, in that order.

    Without ``full``, a package's own files (as it shipped them), apt's and dpkg's
    bookkeeping and runtime state under /run are counted, not listed, so the files the
    script itself wrote stand out; what the script changed in a package's files after
    installing it is listed like any other file. The report itself (JSON) has them all.
    """
    if diff.empty:
        console.print("  [dim]no changes observed[/]")
        return
    files, state, runtime = _reviewed(diff, full)
    if files:
        table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
        table.add_column("change")
        table.add_column("path", overflow="fold")
        table.add_column("details", overflow="fold")
        for f in files:
            kind = (f.after or f.before).ftype if (f.after or f.before) else "?"  # type: ignore[union-attr]
            details = ", ".join(f.notes) or ("" if kind == "file" else kind)
            if f.owner_package and not f.packaged:
                ours = f"from {f.owner_package}, not as shipped"
                details = f"{details}, {ours}" if details else ours
            table.add_row(f"[{_CHANGE_STYLE[f.change]}]{f.change}[/]", safe(f.path), safe(details))
        console.print(table)
    for title, items in (("Users", diff.users), ("Groups", diff.groups)):
        for a in items:
            details = ", ".join(f"{k}={v}" for k, v in a.details.items())
            print_folded(
                console,
                f"  {title[:-1].lower()} [bold]{safe(a.name)}[/] {a.change}"
                + (f": {safe(details)}" if details else ""),
            )
    for p in diff.packages:
        print_folded(console, _package_line(p, diff, full))
    if state or runtime:
        counted = [f"{state:,} of apt's and dpkg's own state" if state else "",
                   f"{runtime:,} runtime under /run" if runtime else ""]
        console.print(f"  [dim]... and {' and '.join(c for c in counted if c)} "
                      "(--full lists them)[/]")
    for c in diff.cron:
        for line in c.added:
            print_folded(console, f"  cron {safe(c.path)}: [green]+ {safe(line)}[/]")
        for line in c.removed:
            print_folded(console, f"  cron {safe(c.path)}: [red]- {safe(line)}[/]")
    for s in diff.services:
        print_folded(console, f"  service: {safe(s.describe())} [dim]({safe(s.tool)})[/]")
    if diff.summarised:
        # Only counted, never read: a run that changed more than is listed (issue 14).
        counts = ", ".join(f"{safe(d)} {n:,}" for d, n in diff.summarised if n)
        print_folded(
            console,
            f"  [yellow]... {diff.summarised_count:,} more changed entries not listed "
            f"(summarised){': ' + counts if counts else ''}[/]",
        )
        if any(n == 0 for _, n in diff.summarised):
            console.print("  [yellow]... the walk stopped at its bound: there may be more[/]")
    if show_diffs:
        for f in files:
            if f.diff:
                print_folded(console, f"  [dim]{safe(f.path)}[/]")
                print_framed(console, [
                    Text(sanitize(line), style=_diff_style(line))
                    for line in redact(f.diff, scan=True).rstrip("\n").split("\n")
                ])


_PREPARE_LINES = 30


def render_scenario(report: DryRunReport, console: Console, *, part: str = "all") -> None:
    """The scenario block: its prepare script and run (``part="prepare"``), each check
    before and after the script (✓ holds, ✗ does not, ~ vacuous: held before, not counted)
    and the verdict (``part="checks"``); both by default.

    Names, commands, prepare text and check output are untrusted (a model or an operator's
    file wrote them, the sandbox printed them): folded or framed, escaped.
    """
    if report.scenario is None:
        return
    if part in ("all", "prepare"):
        _render_prepare(report, console)
    if part in ("all", "checks"):
        not_run = report.prepare is not None and report.prepare.status != "passed"
        if report.checks:
            console.print("[bold]Checks[/] [dim](exit status before and after the script)[/]:")
        for check in report.checks:
            _render_check(check, console, not_run=not_run)
        console.print(f"[bold]Scenario verdict[/]: {_verdict_markup(report)}")


def _render_prepare(report: DryRunReport, console: Console) -> None:
    scenario = report.scenario or {}
    sources = ", ".join(str(s) for s in scenario.get("sources", ()))
    console.print(f"[bold]Scenario[/]{f' [dim]({safe(sources)})[/]' if sources else ''}:")
    prepare = str(scenario.get("prepare", ""))
    lines = prepare.rstrip("\n").split("\n") if prepare.strip() else []
    if lines:
        more = len(lines) - _PREPARE_LINES
        console.print("  [dim]prepare script" + (f" (first {_PREPARE_LINES} of "
                      f"{len(lines)} lines)" if more > 0 else "") + ":[/]")
        print_framed(console, lines[:_PREPARE_LINES])
    if report.prepare is not None:
        _render_run(0, report.prepare, console, label="  Prepare")
        if report.prepare.status != "passed":
            console.print("  [red]prepare failed: the scenario's fault; the script was not "
                          "run[/]")
    elif not lines:
        console.print("  [dim]nothing to prepare[/]")


def _status(code: int | None) -> str:
    return "-" if code is None else str(code)


def _render_check(check: CheckResult, console: Console, *, not_run: bool) -> None:
    if not_run:
        mark, note = "[dim]-[/]", "[dim]not run (prepare failed)[/]"
    elif not check.passed:
        mark, note = "[red]✗[/]", "[red]does not hold after the script[/]"
        if check.after is None:
            note = "[red]did not run to an end after the script[/]"
    elif check.vacuous:
        mark, note = "[yellow]~[/]", "[yellow]vacuous: held before the script, not counted[/]"
    else:
        mark, note = "[green]✓[/]", "[green]holds after the script[/]"
    print_folded(
        console,
        f"  {mark} {safe(check.name)} [dim](before {_status(check.before)}, "
        f"after {_status(check.after)}, {safe(check.source)})[/] {note}",
    )
    if check.run != check.name:
        print_folded(console, f"      [dim]run:[/] {safe(check.run)}")
    if check.output.strip() and not (check.passed or not_run):
        whole = redact(check.output, scan=True).rstrip("\r\n")
        print_framed(console, _LINE_BREAK.split(whole)[-_TAIL_LINES:], indent="      ")


def _verdict_markup(report: DryRunReport) -> str:
    style = "green" if report.vetted else "red" if report.checks_failed or (
        report.prepare is not None and report.prepare.status != "passed") else "yellow"
    return f"[{style}]{safe(report.verdict)}[/]"


def _diff_style(line: str) -> str:
    return "green" if line.startswith("+") else "red" if line.startswith("-") else "dim"


def render_dryrun(
    report: DryRunReport, console: Console, *, show_diffs: bool = True, full: bool = False
) -> None:
    """The whole report: header, runs, system diff, idempotence verdict, findings.

    ``full``: every changed file listed (see :func:`render_system_diff`)."""
    what = "an Ansible playbook" if report.lang == "ansible" else "a bash script"
    print_folded(
        console,
        f"[bold]Dry-run[/] of {what} in {safe(report.image)} "
        f"[dim]({safe(report.image_id[:19])}, network {report.network})[/]",
    )
    for w in report.engine_warnings:
        print_folded(console, f"  [yellow]engine: {safe(w)}[/]")
    render_scenario(report, console, part="prepare")
    for i, run in enumerate(report.runs, 1):
        _render_run(i, run, console)
    if report.runs:
        console.print("[bold]Observed system diff[/] (first run"
                      + (", from the prepared state" if report.prepare is not None else "")
                      + "):")
        render_system_diff(report.diff, console, show_diffs=show_diffs, full=full)
    if report.second_diff is not None:
        if report.idempotent:
            console.print("[bold]Idempotence[/]: [green]second run changed nothing[/]")
        elif report.idempotent is None:
            why = (
                "a run did not pass"
                if any(r.status != "passed" for r in report.runs)
                else "the diff was summarised"
            )
            console.print(f"[bold]Idempotence[/]: [yellow]unknown[/] [dim]({why})[/]")
        else:
            console.print("[bold]Idempotence[/]: [red]second run changed the system again[/]")
            render_system_diff(report.second_diff, console, show_diffs=show_diffs, full=full)
    elif len(report.runs) == 1 and report.first.status != "passed":
        console.print("[dim]Idempotence not checked: the first run did not pass.[/]")
    render_scenario(report, console, part="checks")
    if report.findings:
        console.print("[bold]Findings[/]:")
        render_findings(report.findings, console)
    verdict = "[green]OK[/]" if report.ok else "[red]NOT OK[/]"
    console.print(f"Verdict: {verdict}")
