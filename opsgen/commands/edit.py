"""``opsgen edit ID``: edit the script in $EDITOR; saving makes a new, re-checked revision."""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from opsgen.approval import sign_off
from opsgen.commands.options import JsonOpt, WorkspaceOpt, current_user, open_store, print_json
from opsgen.errors import InputError
from opsgen.flow.record import recheck, revise
from opsgen.inputs import read_text_file
from opsgen.review.sysdiff import report_summary
from opsgen.store.repo import Store, check_person
from opsgen.ui import console, safe


def register(app: typer.Typer) -> None:
    """Add the ``edit`` verb."""

    @app.command()
    def edit(
        change_id: Annotated[int, typer.Argument(metavar="ID", help="The change.")],
        file: Annotated[
            Path | None, typer.Option("--file", help="Take the new text from FILE, no editor.")
        ] = None,
        recheck_only: Annotated[
            bool, typer.Option("--recheck", help="Re-run lint and dry-run on the current text.")
        ] = False,
        note: Annotated[str, typer.Option(help="Why this revision was made.")] = "",
        dryrun: Annotated[
            bool, typer.Option("--dryrun/--no-dryrun", help="Dry-run the new revision.")
        ] = True,
        author: Annotated[str | None, typer.Option(help="Author (default: $OPSGEN_USER).")] = None,
        workspace: WorkspaceOpt = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Edit a change. Any approval of an earlier revision stops applying."""
        who = check_person(author or current_user(), "--author")
        with open_store(workspace) as store:
            if recheck_only:
                record = recheck(store, change_id, actor=who, dryrun=dryrun)
                headline = f"Re-checked change {change_id}: evidence {record.sha256[:12]}"
            else:
                current = store.revision(change_id)
                text = read_text_file(file) if file else _run_editor(store, change_id)
                if text == current.script:
                    if json_out:
                        print_json({"id": change_id, "changed": False, "revision": current.number})
                    else:
                        console.print(
                            f"No changes; change {change_id} stays at revision {current.number}."
                        )
                    return
                revision, record = revise(
                    store, change_id, text, author=who, note=note, dryrun=dryrun
                )
                headline = (
                    f"Change {change_id}: revision {revision.number} stored, "
                    f"sha256 {revision.sha256[:12]}"
                )
            state = sign_off(store, change_id)
        if json_out:
            print_json(
                {
                    "id": change_id,
                    "changed": not recheck_only,
                    "evidence_sha256": record.sha256,
                    **state.to_dict(),
                }
            )
            return
        ev = record.evidence
        console.print(headline)
        console.print(
            f"  [bold]{state.status}[/]: {len(ev.errors)} error(s); dry-run "
            f"{safe(report_summary(ev.dryrun, ev.dryrun_skipped))}",
            soft_wrap=True,
        )
        if state.stale:
            console.print(f"  {len(state.stale)} earlier approval(s) no longer apply")


def _run_editor(store: Store, change_id: int) -> str:
    """Open the current text in $VISUAL/$EDITOR in a private temp file; return the result."""
    command = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not command:
        raise InputError(
            "no editor: set $EDITOR (or $VISUAL), or pass --file FILE", reference="no-editor"
        )
    change = store.change(change_id)
    suffix = ".yml" if change.lang == "ansible" else ".sh"
    with tempfile.TemporaryDirectory(prefix="opsgen-edit-") as tmp:
        path = Path(tmp) / f"{change.name}{suffix}"
        path.write_text(store.revision(change_id).script, encoding="utf-8")
        result = subprocess.run([*shlex.split(command), str(path)], check=False)
        if result.returncode != 0:
            raise InputError(
                f"the editor exited with status {result.returncode}; nothing was stored"
            )
        return read_text_file(path)
