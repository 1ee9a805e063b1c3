"""``opsgen export ID --to DIR | --repo PATH``: write an approved change out, verified."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from opsgen.commands.options import JsonOpt, WorkspaceOpt, current_user, open_store, print_json
from opsgen.export import export_change
from opsgen.ui import console, safe


def register(app: typer.Typer) -> None:
    """Add the ``export`` verb."""

    @app.command()
    def export(
        change_id: Annotated[int, typer.Argument(metavar="ID", help="The change.")],
        to: Annotated[
            Path | None,
            typer.Option("--to", help="Write script, tests and manifest into this folder."),
        ] = None,
        repo: Annotated[
            Path | None, typer.Option("--repo", help="Commit them to this git repository.")
        ] = None,
        branch: Annotated[
            str | None,
            typer.Option(help="Branch to commit to (default opsgen/NAME; created from HEAD)."),
        ] = None,
        path: Annotated[
            str | None,
            typer.Option(
                "--path",
                metavar="REL",
                help="Folder inside the target (git default: scripts/, playbooks/ or roles/).",
            ),
        ] = None,
        name: Annotated[
            str | None, typer.Option(help="File name stem (default: the change name).")
        ] = None,
        as_role: Annotated[
            bool,
            typer.Option(
                "--as-role", help="Lay a one-play playbook out as a role (with Molecule tests)."
            ),
        ] = False,
        force: Annotated[
            bool,
            typer.Option(
                "--force",
                help="With --to: replace existing files there that no earlier export wrote.",
            ),
        ] = False,
        workspace: WorkspaceOpt = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Export the approved current revision; refused unless approved bytes match.

        Writes the script (NAME.sh, NAME.yml, or with --as-role the role folder NAME/) and
        its manifest NAME.opsgen.json. When the approved dry-run ran a scenario, its checks
        are written as tests too: NAME.bats (and NAME.prepare.sh) beside a bash script, a
        Molecule scenario in molecule/default/ of a role; a plain playbook gets none (the
        manifest says so). `opsgen verify` proves every file is what the approval implies.
        """
        if (to is None) == (repo is None):
            raise typer.BadParameter("give exactly one of --to DIR or --repo PATH")
        if force and repo is not None:
            # A branch keeps what it replaces in history; nothing there needs forcing.
            raise typer.BadParameter("--force applies to --to DIR only", param_hint="--force")
        with open_store(workspace) as store:
            result = export_change(
                store,
                change_id,
                actor=current_user(),
                to=to,
                repo=repo,
                branch=branch,
                path=path,
                name=name,
                as_role=as_role,
                force=force,
            )
        if json_out:
            print_json(asdict(result))
            return
        where = safe(result.target)
        if result.kind == "git":
            verb = "already on" if result.unchanged else "committed to"
            console.print(
                f"Change {change_id} revision {result.revision} {verb} branch "
                f"[bold]{safe(result.branch)}[/] of {where} ({result.commit[:12]})",
                soft_wrap=True,
            )
        else:
            console.print(
                f"Exported change {change_id} revision {result.revision} to {where}",
                soft_wrap=True,
            )
        for p in result.paths:
            console.print(f"  {safe(p)}")
