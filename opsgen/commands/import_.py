"""``opsgen import FILE``: make a reviewable change from a hand-written script or playbook."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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
from opsgen.flow.record import gather_evidence, record_change
from opsgen.inputs import read_text_file
from opsgen.lang import LANGS
from opsgen.names import check_name, slug
from opsgen.review.sysdiff import report_summary
from opsgen.store.repo import check_person
from opsgen.ui import console, safe


def register(app: typer.Typer) -> None:
    """Add the ``import`` verb."""

    @app.command("import")
    def import_(
        file: Annotated[Path, typer.Argument(help="The bash script or Ansible playbook.")],
        lang: Annotated[
            str | None, typer.Option(help="bash or ansible (default: detected).")
        ] = None,
        name: Annotated[
            str | None, typer.Option(help="Change name, used for exported files.")
        ] = None,
        request: Annotated[
            str | None, typer.Option(help="What the change is for (shown to reviewers).")
        ] = None,
        image: Annotated[str, typer.Option(help="Sandbox image for the dry-run.")] = "",
        dryrun: Annotated[
            bool, typer.Option("--dryrun/--no-dryrun", help="Dry-run it in the sandbox now.")
        ] = True,
        author: Annotated[str | None, typer.Option(help="Author (default: $OPSGEN_USER).")] = None,
        workspace: WorkspaceOpt = None,
        json_out: JsonOpt = False,
        given: GivenOpt = None,
        expect: ExpectOpt = None,
        scenario_file: ScenarioOpt = None,
        request_checks: Annotated[
            bool,
            typer.Option("--request-checks/--no-request-checks",
                         help="With --request: also check what its words say plainly (a "
                         "home directory, a mode, an owner, groups, a sysctl, a cron schedule, "
                         "a symlink, a setting, ...), on the state they presuppose, as opsgen "
                         "new does."),
        ] = True,
    ) -> None:
        """Import FILE as a new change: lint it, dry-run it, and store it for review.

        With a scenario (--given, --expect, --scenario) the dry-run also prepares the state
        the request presupposes and checks what it asks for; with --request, the checks its
        words state plainly are added (--no-request-checks: not). The scenario and each
        check's result are part of the evidence an approval is bound to.
        """
        text = read_text_file(file)
        scenario = read_scenario(given, expect, scenario_file)
        if request and request_checks and dryrun:
            from opsgen.flow.derive import derive_scenario
            from opsgen.scenario import merge_scenarios

            derived = derive_scenario(request)
            if not derived.empty:  # the operator's checks replace the request's by name
                scenario = merge_scenarios([derived, *([scenario] if scenario else [])])
        if scenario is not None and not dryrun:
            raise typer.BadParameter("a scenario runs in the dry-run: drop --no-dryrun",
                                     param_hint="--given/--expect/--scenario")
        if lang is not None and lang not in LANGS:
            raise typer.BadParameter(f"use one of {', '.join(LANGS)}", param_hint="--lang")
        from opsgen.validators import detect_lang

        lang = lang or detect_lang(text, str(file))
        who = check_person(author or current_user(), "--author")
        change_name = check_name(name if name is not None else slug(str(file)))
        # Evaluate before opening the store: a failed lint or sandbox leaves no workspace.
        evidence = gather_evidence(text, lang, image, dryrun, file.name, scenario=scenario)
        with open_store(workspace, create=True) as store:
            change, revision, record = record_change(
                store,
                text,
                lang=lang,
                name=change_name,
                image=image,
                author=who,
                request=request or f"Imported from {file.name}",
                evidence=evidence,
                source="import",
            )
            state = sign_off(store, change.id)
        ev = record.evidence
        if json_out:
            print_json({"id": change.id, "name": change.name, "lang": lang, **state.to_dict()})
            return
        console.print(
            f"Created change [bold]{change.id}[/] ({safe(change.name)}, {lang}), revision 1, "
            f"sha256 {revision.sha256[:12]}: [bold]{state.status}[/]"
        )
        console.print(
            f"  {len(ev.errors)} error(s), {len(ev.all_findings)} finding(s) in all; "
            f"dry-run {safe(report_summary(ev.dryrun, ev.dryrun_skipped))}",
            soft_wrap=True,
        )
        console.print(f"  next: opsgen show {change.id}")
