"""``opsgen show ID``: the review of a change, in the terminal, as HTML or as JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from opsgen.commands.options import JsonOpt, WorkspaceOpt, open_store, print_json
from opsgen.errors import InputError
from opsgen.render.html import render_html
from opsgen.render.review import render_review
from opsgen.review.data import load_review
from opsgen.store.integrity import intact_snapshot
from opsgen.ui import console, safe


def register(app: typer.Typer) -> None:
    """Add the ``show`` verb."""

    @app.command()
    def show(
        change_id: Annotated[int, typer.Argument(metavar="ID", help="The change.")],
        revision: Annotated[
            int | None, typer.Option(help="Show this revision (default: the current one).")
        ] = None,
        html: Annotated[
            Path | None, typer.Option("--html", help="Write a self-contained HTML page here.")
        ] = None,
        diffs: Annotated[
            bool, typer.Option("--diffs/--no-diffs", help="Show file contents diffs.")
        ] = True,
        workspace: WorkspaceOpt = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Review a change: request, script with findings, dry-run system diff, sign-off."""
        # Verified first, on the snapshot it is read from: never "approved by" beside bytes
        # rewritten in the database behind opsgen's back.
        with open_store(workspace) as store, intact_snapshot(store.conn):
            review = load_review(store, change_id, revision)
        if html is not None:
            if html.is_dir():
                raise InputError(f"{html} is a folder; give a file name for the HTML page")
            html.write_text(render_html(review), encoding="utf-8")
            console.print(f"wrote {safe(str(html))}")
            return
        if json_out:
            print_json(review.to_dict())
            return
        render_review(review, console, show_diffs=diffs)
