"""``opsgen diff ID [REV_A REV_B]``: the script diff and the difference of the system diffs."""

from __future__ import annotations

from typing import Annotated

import typer

from opsgen.commands.options import JsonOpt, WorkspaceOpt, open_store, print_json
from opsgen.review.revdiff import compare_revisions
from opsgen.store.integrity import intact_snapshot
from opsgen.ui import console, print_folded, safe


def register(app: typer.Typer) -> None:
    """Add the ``diff`` verb."""

    @app.command()
    def diff(
        change_id: Annotated[int, typer.Argument(metavar="ID", help="The change.")],
        rev_a: Annotated[
            int | None, typer.Argument(help="Older revision (default: the one before B).")
        ] = None,
        rev_b: Annotated[
            int | None, typer.Argument(help="Newer revision (default: the current one).")
        ] = None,
        workspace: WorkspaceOpt = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Compare two revisions: script text, observed system changes, findings."""
        # The diff shows stored bytes: verify they are the ones the audit log recorded.
        with open_store(workspace) as store, intact_snapshot(store.conn):
            result = compare_revisions(store, change_id, rev_a, rev_b)
        if json_out:
            print_json(result.to_dict())
            return
        a, b = result.a.number, result.b.number
        console.print(f"[bold]Change {change_id}: revision {a} -> {b}[/]")
        console.print(f"[bold]Script[/] ({result.a.sha256[:12]} -> {result.b.sha256[:12]})")
        if not result.script_diff:
            console.print("  identical")
        for line in result.script_diff:
            style = "green" if line.startswith("+") else "red" if line.startswith("-") else "dim"
            print_folded(console, f"  [{style}]{safe(line)}[/]")  # never wrapped to column 0
        console.print(f"[bold]Dry-run[/]: {safe(result.dryrun_a)} -> {safe(result.dryrun_b)}")
        console.print("[bold]System changes[/] (observed in the sandbox)")
        if not (result.system_only_a or result.system_only_b):
            console.print("  the same in both revisions")
        for item in result.system_only_a:
            print_folded(console, f"  [red]- only in {a}: {safe(item)}[/]")
        for item in result.system_only_b:
            print_folded(console, f"  [green]+ only in {b}: {safe(item)}[/]")
        console.print("[bold]Findings[/]")
        if not (result.findings_fixed or result.findings_new):
            console.print("  unchanged")
        for item in result.findings_fixed:
            print_folded(console, f"  [green]fixed: {safe(item)}[/]")
        for item in result.findings_new:
            print_folded(console, f"  [red]new: {safe(item)}[/]")
