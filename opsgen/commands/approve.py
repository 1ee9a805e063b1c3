"""``opsgen approve ID --by NAME``: sign off the current revision and its evidence."""

from __future__ import annotations

from typing import Annotated

import typer

from opsgen.approval import approve as approve_change
from opsgen.commands.options import JsonOpt, WorkspaceOpt, open_store, print_json
from opsgen.ui import console, safe


def register(app: typer.Typer) -> None:
    """Add the ``approve`` verb."""

    @app.command()
    def approve(
        change_id: Annotated[int, typer.Argument(metavar="ID", help="The change.")],
        by: Annotated[str, typer.Option("--by", help="Your name, as the approver.")],
        comment: Annotated[str, typer.Option(help="Kept with the approval.")] = "",
        override: Annotated[
            str,
            typer.Option(
                metavar="REASON",
                help="Approve despite error findings or a failed dry-run; the reason is "
                "recorded in the audit log.",
            ),
        ] = "",
        revision: Annotated[
            int | None,
            typer.Option(help="Refuse unless this is still the current revision."),
        ] = None,
        workspace: WorkspaceOpt = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Approve a change, bound to the sha256 of its script bytes and of its evidence."""
        with open_store(workspace) as store:
            decision, state = approve_change(
                store,
                change_id,
                by=by,
                comment=comment,
                override=override,
                expect_revision=revision,
            )
        if json_out:
            print_json({"approval": decision.to_dict(), **state.to_dict()})
            return
        console.print(
            f"Approved change {change_id} revision {state.revision.number} as "
            f"[bold]{safe(decision.by)}[/]"
            + (f" [yellow](override: {safe(decision.override)})[/]" if decision.override else "")
        )
        console.print(f"  script   sha256 {decision.revision_sha256}", soft_wrap=True)
        console.print(f"  evidence sha256 {decision.evidence_sha256}", soft_wrap=True)
        have, need = len(state.approvers), state.policy.require
        if have < need:
            console.print(f"  {have} of {need} approvals: needs {need - have} more person(s)")
        else:
            console.print(
                f"  status [bold]{state.status}[/]; next: opsgen export {change_id} "
                "--to DIR (or --repo PATH)"
            )
