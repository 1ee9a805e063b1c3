"""``opsgen reject ID --reason TEXT``: refuse the current revision."""

from __future__ import annotations

from typing import Annotated

import typer

from opsgen.approval import reject as reject_change
from opsgen.commands.options import JsonOpt, WorkspaceOpt, current_user, open_store, print_json
from opsgen.ui import console, safe


def register(app: typer.Typer) -> None:
    """Add the ``reject`` verb."""

    @app.command()
    def reject(
        change_id: Annotated[int, typer.Argument(metavar="ID", help="The change.")],
        reason: Annotated[str, typer.Option("--reason", help="Why, for the author.")],
        by: Annotated[str | None, typer.Option(help="Your name (default: $OPSGEN_USER).")] = None,
        workspace: WorkspaceOpt = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Reject a change's current revision; only a new revision can then be approved."""
        with open_store(workspace) as store:
            decision = reject_change(store, change_id, by=by or current_user(), reason=reason)
            number = store.revision(change_id).number
        if json_out:
            print_json({"rejection": decision.to_dict(), "revision": number})
            return
        console.print(f"Rejected change {change_id} revision {number} as {safe(decision.by)}")
        console.print(f"  next: the author edits it (opsgen edit {change_id})")
