"""``opsgen verify FILE``: check an exported artifact against its manifest and the workspace.

The workspace is found like every other verb finds it (``--workspace``,
``$OPSGEN_WORKSPACE``, ``./.opsgen``). Named explicitly, it must exist; the default that does
not exist means the files can only be checked against their own manifest, and the output
says so instead of "OK" (issue 14): a manifest rewritten together with the script it
describes is self-consistent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from opsgen.commands.options import JsonOpt, WorkspaceOpt, print_json
from opsgen.export import verify_artifact
from opsgen.export.verify import Verification
from opsgen.store.repo import Store
from opsgen.store.workspace import resolve_workspace
from opsgen.ui import console, safe


def register(app: typer.Typer) -> None:
    """Add the ``verify`` verb."""

    @app.command()
    def verify(
        file: Annotated[
            Path, typer.Argument(help="The exported script, role folder or NAME.opsgen.json.")
        ],
        require_workspace: Annotated[
            bool,
            typer.Option(
                "--require-workspace",
                help="Fail (exit 3) when the workspace is not found, instead of checking the "
                "files against their own manifest only.",
            ),
        ] = False,
        workspace: WorkspaceOpt = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Check the files against the approval in the workspace (or, without one, against
        their manifest only). Exit 1 on any mismatch or an unsafe file mode."""
        where = resolve_workspace(workspace)
        store = None
        if workspace is not None or require_workspace or where.exists():
            store = Store.open(where)  # a named workspace that is not there: exit 3
        try:
            result = verify_artifact(file, store)
        finally:
            if store is not None:
                store.close()
        if json_out:
            print_json(result.to_dict())
        else:
            _print(result)
        if not result.ok:
            raise typer.Exit(1)


def _print(result: Verification) -> None:
    m = result.manifest
    for w in result.warnings:
        console.print(f"[yellow]warning:[/] {safe(w)}", soft_wrap=True)
    for p in result.problems:
        console.print(f"[bold red]problem:[/] {safe(p)}", soft_wrap=True)
    path = safe(str(result.manifest_path))
    if not result.ok:
        how = f"against the workspace {result.workspace}" if result.workspace else result.checked
        console.print(f"[bold red]FAILED[/]: {path} (checked {safe(how)})", soft_wrap=True)
        return
    rev = m.get("revision") or {}
    if not result.vetted:
        console.print(
            f"[yellow]NOT VETTED[/]: {path}: the files match their own manifest, which anyone "
            "who can change them can rewrite; the approval was not checked",
            soft_wrap=True,
        )
        console.print(f"  checked: {safe(result.checked)}", soft_wrap=True)
        console.print("  run it where the workspace is, or pass --workspace DIR", soft_wrap=True)
        return
    who = ", ".join(str(a.get("by")) for a in m.get("approvals", []) if isinstance(a, dict))
    anchor = (m.get("audit_anchor") or {}).get("seq")
    console.print(
        f"[green]OK[/]: {path} matches change {m['change']['id']} revision {rev['number']} "
        f"(sha256 {str(rev['sha256'])[:12]}), approved by {safe(who)}; checked against the "
        f"workspace {safe(str(result.workspace))} (audit anchor {anchor})",
        soft_wrap=True,
    )
