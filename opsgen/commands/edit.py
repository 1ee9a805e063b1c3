"""``opsgen edit ID``: edit the script in $EDITOR; saving makes a new, re-checked revision.

The change's scenario (prepare and checks) goes with it: every new revision and every
``--recheck`` runs the scenario of the latest evidence. ``--scenario``/``--given``/
``--expect`` replace it and ``--no-scenario`` drops it; either makes a new revision, even
of the same bytes, so an approval of the old checks stops applying.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from opsgen.approval import sign_off
from opsgen.commands.options import (
    ExpectOpt,
    GivenOpt,
    JsonOpt,
    ScenarioOpt,
    WorkspaceOpt,
    current_user,
    open_store,
    print_json,
    read_scenario,
)
from opsgen.errors import InputError, OpsError
from opsgen.flow.record import recheck, revise, stored_scenario
from opsgen.inputs import read_text_file
from opsgen.render.findings import render_findings
from opsgen.review.sysdiff import report_summary
from opsgen.scenario import LOCATION_PREFIX, Scenario
from opsgen.store.models import EvidenceRecord
from opsgen.store.repo import Store, check_person
from opsgen.ui import console, print_folded, safe

_SCENARIO_OPTS = "--given/--expect/--scenario"


def register(app: typer.Typer) -> None:
    """Add the ``edit`` verb."""

    @app.command()
    def edit(
        change_id: Annotated[int, typer.Argument(metavar="ID", help="The change.")],
        file: Annotated[
            Path | None, typer.Option("--file", help="Take the new text from FILE, no editor.")
        ] = None,
        recheck_only: Annotated[
            bool, typer.Option("--recheck", help="Re-run lint and dry-run on the current text, "
                               "with its stored scenario.")
        ] = False,
        note: Annotated[str, typer.Option(help="Why this revision was made.")] = "",
        dryrun: Annotated[
            bool, typer.Option("--dryrun/--no-dryrun", help="Dry-run the new revision.")
        ] = True,
        author: Annotated[str | None, typer.Option(help="Author (default: $OPSGEN_USER).")] = None,
        workspace: WorkspaceOpt = None,
        json_out: JsonOpt = False,
        given: GivenOpt = None,
        expect: ExpectOpt = None,
        scenario_file: ScenarioOpt = None,
        no_scenario: Annotated[
            bool,
            typer.Option("--no-scenario", help="Drop the change's scenario: the new revision "
                         "is checked without one."),
        ] = False,
    ) -> None:
        """Edit a change. Any approval of an earlier revision stops applying.

        The change's scenario (what to prepare, which checks must hold) is kept: the new
        revision, or --recheck, runs the scenario of the latest evidence. --scenario,
        --given and --expect replace it (merged as in `opsgen import`), --no-scenario drops
        it; without --file the text stays as it is, and the new scenario still makes a new
        revision (same bytes, note "scenario replaced") with its own evidence. The
        scenario's text is linted like a script (OPS6xx: network, host paths, opsgen's own
        runner).
        """
        who = check_person(author or current_user(), "--author")
        scenario = _new_scenario(given, expect, scenario_file, no_scenario, recheck_only, dryrun)
        with open_store(workspace) as store:
            if recheck_only:
                record = recheck(store, change_id, actor=who, dryrun=dryrun)
                headline = f"Re-checked change {change_id}: evidence {record.sha256[:12]}"
            else:
                current = store.revision(change_id)
                if file:
                    text = read_text_file(file)
                elif scenario is not None:
                    text = current.script  # only the scenario changes: no editor
                else:
                    text = _run_editor(store, change_id)
                if scenario is not None and _unchanged(store, change_id, scenario):
                    scenario = None  # the same checks again: not a change of its own
                if text == current.script and scenario is None:
                    if json_out:
                        print_json({"id": change_id, "changed": False, "revision": current.number})
                    else:
                        console.print(
                            f"No changes; change {change_id} stays at revision {current.number}."
                        )
                    return
                if scenario is not None and not note:
                    note = "scenario dropped" if scenario.empty else "scenario replaced"
                revision, record = revise(
                    store, change_id, text, author=who, note=note, dryrun=dryrun,
                    scenario=scenario,
                )
                same = " (same script)" if text == current.script else ""
                headline = (
                    f"Change {change_id}: revision {revision.number} stored{same}, "
                    f"sha256 {revision.sha256[:12]}"
                )
            state = sign_off(store, change_id)
        ran = _ran_scenario(record)
        if json_out:
            print_json(
                {
                    "id": change_id,
                    "changed": not recheck_only,
                    "evidence_sha256": record.sha256,
                    "scenario": ran.to_dict() if ran is not None else None,
                    "scenario_replaced": scenario is not None,
                    "findings": [f.to_dict() for f in record.evidence.all_findings],
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
        _print_scenario(ran, scenario, record)
        if state.stale:
            console.print(f"  {len(state.stale)} earlier approval(s) no longer apply")


def _new_scenario(
    given: Path | None, expect: list[str] | None, scenario_file: Path | None,
    no_scenario: bool, recheck_only: bool, dryrun: bool,
) -> Scenario | None:
    """The scenario the options ask for: None keeps the stored one, an empty one drops it.
    Refuses combinations that cannot mean anything, before the store is opened."""
    scenario = read_scenario(given, expect, scenario_file)
    if no_scenario and scenario is not None:
        raise typer.BadParameter("--no-scenario drops the scenario; do not also give one",
                                 param_hint=_SCENARIO_OPTS)
    if no_scenario:
        scenario = Scenario()
    if scenario is not None and recheck_only:
        raise typer.BadParameter("--recheck keeps the stored scenario; to replace it, edit "
                                 "without --recheck", param_hint=_SCENARIO_OPTS)
    if scenario is not None and not dryrun:
        raise typer.BadParameter("a scenario runs in the dry-run: drop --no-dryrun",
                                 param_hint=_SCENARIO_OPTS + "/--no-scenario")
    return scenario


def _unchanged(store: Store, change_id: int, scenario: Scenario) -> bool:
    """True when ``scenario`` is the one the change already runs (a stored scenario that
    cannot be trusted is never "the same": giving one again replaces it)."""
    try:
        return scenario.same_as(stored_scenario(store, change_id))
    except OpsError:
        return False


def _ran_scenario(record: EvidenceRecord) -> Scenario | None:
    """The scenario the new evidence's dry-run prepared and checked (None: none ran)."""
    dryrun: dict[str, Any] | None = record.evidence.dryrun
    scenario = Scenario.from_dict(dryrun.get("scenario") if dryrun else None)
    return None if scenario.empty else scenario


def _print_scenario(ran: Scenario | None, given: Scenario | None, record: EvidenceRecord) -> None:
    """One line on the scenario that ran (kept, replaced or dropped) and its text's findings,
    every string escaped (a check's name and command are untrusted)."""
    how = "kept" if given is None else ("dropped" if given.empty else "replaced")
    if ran is None:
        console.print(f"  scenario: none{' (dropped)' if how == 'dropped' else ''}")
        return
    console.print(f"  scenario ({how}): {len(ran.checks)} check(s)"
                  + (", a prepare script" if ran.prepare.strip() else ""))
    for check in ran.checks:
        print_folded(console, f"    [dim]-[/] {safe(check.name)}: {safe(check.run)}")
    own = [f for f in record.evidence.all_findings
           if f.location.path.startswith(LOCATION_PREFIX)]
    if own:
        console.print(f"  scenario findings: {len(own)}")
        render_findings(own, console)


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
