"""``opsgen audit``: list the hash-chained audit log; ``opsgen audit verify`` checks it."""

from __future__ import annotations

from typing import Annotated

import typer

from opsgen.commands.options import JsonOpt, WorkspaceOpt, open_store, print_json
from opsgen.store import audit as audit_log
from opsgen.store.integrity import intact_snapshot, read_snapshot, verify_store
from opsgen.ui import console, safe


def register(app: typer.Typer) -> None:
    """Add the ``audit`` group: list (default) and ``verify``."""
    group = typer.Typer(help="The append-only, hash-chained audit log.", no_args_is_help=False)

    @group.callback(invoke_without_command=True)
    def audit(
        ctx: typer.Context,
        change: Annotated[int | None, typer.Option(help="Only entries of this change.")] = None,
        limit: Annotated[int, typer.Option(help="Show the last N entries (0: all).")] = 0,
        workspace: WorkspaceOpt = None,
        json_out: JsonOpt = False,
    ) -> None:
        """List audit entries: who did what to which change, and when."""
        if ctx.invoked_subcommand is not None:
            ctx.obj = workspace
            return
        # A listing of a broken chain would present forged entries as history;
        # `opsgen audit verify` is the command that shows what is wrong.
        with open_store(workspace) as store, intact_snapshot(store.conn):
            entries = list(audit_log.entries(store.conn, change_id=change))
        entries = entries[-limit:] if limit > 0 else entries
        if json_out:
            print_json([e.to_dict() for e in entries])
            return
        for e in entries:
            target = f"change {e.change_id}" if e.change_id is not None else "-"
            detail = _detail(e)
            console.print(
                f"[dim]{e.seq:>5}[/] {e.ts[:19]} [bold]{e.action:<8}[/] {target:<10} "
                f"by {safe(e.actor)}{detail} [dim]{e.hash[:12]}[/]",
                soft_wrap=True,
            )

    @group.command("verify")
    def verify(
        ctx: typer.Context, workspace: WorkspaceOpt = None, json_out: JsonOpt = False
    ) -> None:
        """Check the chain and that every stored row matches its entry. Exit 1 if not."""
        with open_store(workspace or ctx.obj) as store, read_snapshot(store.conn):
            problems = verify_store(store.conn)
            seq, head = audit_log.head(store.conn)
        if json_out:
            print_json({"ok": not problems, "problems": problems, "entries": seq, "head": head})
        elif problems:
            for p in problems:
                console.print(f"[bold red]problem:[/] {safe(p)}", soft_wrap=True)
        else:
            console.print(f"[green]audit log intact[/]: {seq} entries, head {head}", soft_wrap=True)
        if problems:
            raise typer.Exit(1)

    app.add_typer(group, name="audit")


def _detail(entry: audit_log.AuditEntry) -> str:
    p = entry.payload
    if entry.action == "revise":
        return f": revision {p.get('number')} {str(p.get('sha256', ''))[:12]}"
    if entry.action == "dry-run":
        return f": {safe(str(p.get('dryrun')))}, {p.get('errors')} error(s)"
    if entry.action in {"approve", "reject"}:
        return f": revision sha {str(p.get('revision_sha256', ''))[:12]}"
    if entry.action == "override":
        return f": {safe(str(p.get('reason', '')))}"
    if entry.action == "export":
        return f": {p.get('kind')} {safe(str(p.get('target')))} {safe(str(p.get('ref') or ''))}"
    return f": {safe(str(p.get('name', '')))}" if entry.action == "create" else ""
