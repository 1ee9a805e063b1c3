"""``opsgen convert PATH...``: legacy Markdown runbooks -> reviewable changes, in bulk."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from opsgen.commands.options import JsonOpt, LangChoice, WorkspaceOpt, current_user, open_store
from opsgen.errors import InputError
from opsgen.store.repo import Store, check_person
from opsgen.ui import console, err_console, safe

if TYPE_CHECKING:  # the pipeline loads only when the verb runs, not at every CLI start
    from opsgen.flow.checks import SandboxChecks
    from opsgen.runbook.batch import BatchOptions
    from opsgen.runbook.convert import Generator
    from opsgen.runbook.sources import Source
    from opsgen.runbook.summary import Summary



def register(app: typer.Typer) -> None:
    """Add the ``convert`` verb."""

    @app.command()
    def convert(
        paths: Annotated[
            list[Path], typer.Argument(help="Runbook files, or folders searched for *.md.")
        ],
        lang: Annotated[
            LangChoice, typer.Option(help="Write bash scripts or Ansible playbooks.")
        ] = LangChoice.bash,
        jobs: Annotated[int, typer.Option(min=1, max=32, help="Runbooks at a time.")] = 2,
        out: Annotated[
            Path | None, typer.Option(help="Also write the scripts and reports to this folder.")
        ] = None,
        resume: Annotated[
            bool, typer.Option("--resume", help="Skip runbooks converted before, unchanged.")
        ] = False,
        dryrun: Annotated[
            bool, typer.Option("--dryrun/--no-dryrun", help="Dry-run each script twice.")
        ] = True,
        timeout: Annotated[
            float, typer.Option(min=5, max=3600, help="Seconds per dry-run run.")
        ] = 60.0,
        image: Annotated[str, typer.Option(help="Sandbox image (default: the built one).")] = "",
        generate: Annotated[
            bool,
            typer.Option("--generate", help="Let the model write commands for prose-only steps."),
        ] = False,
        model: Annotated[str | None, typer.Option(help="Model for --generate.")] = None,
        author: Annotated[str | None, typer.Option(help="Author (default: $OPSGEN_USER).")] = None,
        workspace: WorkspaceOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Convert runbooks into changes: parse, transcribe, lint, dry-run, store for review.

        Each runbook becomes one change (see `opsgen list`) whose script traces every block
        to the runbook's file, lines and step. Placeholders become parameters; interactive
        commands become what they mean or MANUAL steps. A runbook that cannot be read or
        converted is reported and the batch goes on. Exit 0 when every runbook was handled
        (converted, nothing to convert, or unchanged with --resume), 1 when any failed,
        3 when no runbook was found.
        """
        from opsgen.flow.checks import SandboxChecks
        from opsgen.render.convert import render_table
        from opsgen.runbook.batch import BatchOptions
        from opsgen.runbook.sources import discover

        sources, missing = discover(paths)
        if not sources and missing:
            raise InputError(
                f"no runbook found: {missing[0].message}", hint="give .md files or folders"
            )
        if not sources:
            raise InputError("no *.md runbook in the given folders", reference="no-runbooks")
        who = check_person(author or current_user(), "--author")
        gen, gen_id = _generator(model) if generate else (None, "")
        options = BatchOptions(lang=lang.value, jobs=jobs, dryrun=dryrun, resume=resume,
                               author=who, generate=gen, generate_id=gen_id)  # fmt: skip
        checks = SandboxChecks(image=image, timeout=timeout)
        rows, json_path, html_path = _run(sources, missing, options, checks, workspace, out)
        if as_json:
            print(json_path.read_text(encoding="utf-8"), end="")
        else:
            render_table(rows, console)
            console.print(f"reports: {safe(str(json_path))}, {safe(str(html_path))}")
            console.print("next: opsgen list, then opsgen show ID to review a change")
        raise typer.Exit(1 if any(r.status == "failed" for r in rows) else 0)


def _run(
    sources: list[Source],
    missing: list[Summary],
    options: BatchOptions,
    checks: SandboxChecks,
    workspace: Path | None,
    out: Path | None,
) -> tuple[list[Summary], Path, Path]:
    """Run the batch with live progress; write the reports (partial ones after Ctrl-C)."""
    from opsgen.render.convert import write_reports
    from opsgen.render.progress import RichEvents
    from opsgen.runbook.batch import run_batch
    from opsgen.runbook.ledger import Ledger
    from opsgen.runbook.output import OutputFiles

    with open_store(workspace, create=True) as store:
        ws = store.workspace.path
        files = OutputFiles(out, out if out is not None else ws / "convert")
        files.start()
        ledger = Ledger.load(ws, exists=lambda cid: _exists(store, cid))
        meta = {"lang": options.lang, "jobs": options.jobs, "dryrun": options.dryrun,
                "workspace": str(ws)}  # fmt: skip
        with RichEvents(err_console, len(sources) + len(missing)) as events:
            for row in missing:
                events.finished(row)
            try:
                rows = run_batch(sources, options, store=store, checks=checks, ledger=ledger,
                                 files=files, events=events)  # fmt: skip
            except KeyboardInterrupt:
                write_reports(events.done, files.reports, {**meta, "interrupted": True})
                raise  # the CLI prints "Operation cancelled by user", exit 130
    rows = missing + rows
    json_path, html_path = write_reports(rows, files.reports, meta)
    return rows, json_path, html_path


def _exists(store: Store, change_id: int) -> bool:
    try:
        store.change(change_id)
    except InputError:
        return False
    return True


def _generator(model: str | None) -> tuple[Generator, str]:
    from opsgen.generator.backends import load_client
    from opsgen.runbook.generate import model_generator

    with err_console.status("loading the model"):
        llm = load_client(model, None)
    return model_generator(llm), json.dumps([llm.runtime, llm.name])
