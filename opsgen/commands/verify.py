"""``opsgen verify FILE``: check an exported artifact against its manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from opsgen.export import verify_artifact
from opsgen.review.cliutil import JsonOpt, print_json
from opsgen.ui import console, safe


def register(app: typer.Typer) -> None:
    """Add the ``verify`` verb."""

    @app.command()
    def verify(
        file: Annotated[
            Path, typer.Argument(help="The exported script, role folder or NAME.opsgen.json.")
        ],
        json_out: JsonOpt = False,
    ) -> None:
        """Check the files against the manifest's hashes and approvals. Exit 1 on mismatch."""
        result = verify_artifact(file)
        if json_out:
            print_json(result.to_dict())
        else:
            m = result.manifest
            for w in result.warnings:
                console.print(f"[yellow]warning:[/] {safe(w)}", soft_wrap=True)
            for p in result.problems:
                console.print(f"[bold red]problem:[/] {safe(p)}", soft_wrap=True)
            if result.ok:
                who = ", ".join(str(a.get("by")) for a in m.get("approvals", []))
                console.print(
                    f"[green]OK[/]: {safe(str(result.manifest_path))} matches revision "
                    f"{m['revision']['number']} (sha256 {m['revision']['sha256'][:12]}), "
                    f"approved by {safe(who)}",
                    soft_wrap=True,
                )
        if not result.ok:
            raise typer.Exit(1)
