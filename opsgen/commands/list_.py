"""``opsgen list``: every change with its status."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from opsgen.approval import sign_off
from opsgen.commands.options import JsonOpt, WorkspaceOpt, open_store, print_json
from opsgen.render.review import STATUS_STYLE
from opsgen.store.integrity import intact_snapshot
from opsgen.ui import console, safe

STATUSES = tuple(STATUS_STYLE)


def register(app: typer.Typer) -> None:
    """Add the ``list`` verb."""

    @app.command("list")
    def list_(
        status: Annotated[str | None, typer.Option(help="Only changes with this status.")] = None,
        workspace: WorkspaceOpt = None,
        json_out: JsonOpt = False,
    ) -> None:
        """List changes: draft, failing, ready, approved, rejected, exported."""
        if status is not None and status not in STATUSES:
            raise typer.BadParameter(f"use one of {', '.join(STATUSES)}", param_hint="--status")
        # A status computed from a forged row is a lie: verify the snapshot we list from.
        with open_store(workspace) as store, intact_snapshot(store.conn):
            policy = store.workspace.policy()
            states = [sign_off(store, c.id, policy) for c in store.changes()]
        states = [s for s in states if status is None or s.status == status]
        if json_out:
            print_json(
                [
                    {
                        "id": s.change.id,
                        "name": s.change.name,
                        "lang": s.change.lang,
                        "request": s.change.request,
                        "created_at": s.change.created_at,
                        **s.to_dict(),
                    }
                    for s in states
                ]
            )
            return
        if not states:
            console.print("no changes" + (f" with status {status}" if status else ""))
            return
        table = Table(box=None, header_style="bold", pad_edge=False)
        for column in ("ID", "NAME", "LANG", "REV", "STATUS", "APPROVALS", "REQUEST"):
            table.add_column(column, overflow="ellipsis", no_wrap=column == "REQUEST")
        for s in states:
            first = (s.change.request.splitlines() or [""])[0][:60]
            table.add_row(
                str(s.change.id),
                safe(s.change.name),
                s.change.lang,
                str(s.revision.number),
                f"[{STATUS_STYLE[s.status]}]{s.status}[/]",
                f"{len(s.approvers)}/{s.policy.require}",
                safe(first),
            )
        console.print(table)
