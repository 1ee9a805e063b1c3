"""``opsgen dryrun SCRIPT``: run a script in the sandbox and show what it changed."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from opsgen.commands.options import (
    ExpectOpt,
    GivenOpt,
    JsonOpt,
    LangOrAuto,
    ScenarioOpt,
    read_scenario,
)
from opsgen.inputs import read_text_file
from opsgen.ui import console, err_console

if TYPE_CHECKING:
    from opsgen.sandbox.models import DryRunReport
    from opsgen.scenario import Scenario


class Network(StrEnum):
    """Networks a dry-run may use; there is no host network."""

    #: The package path for a script that installs Debian packages, none otherwise.
    auto = "auto"
    none = "none"
    bridge = "bridge"
    #: Debian packages through the caching proxy, nothing else (issue 13).
    packages = "packages"



def _linted(report: DryRunReport, scenario: Scenario | None) -> DryRunReport:
    """The report with the findings of the scenario's own text (OPS6xx and the shell lint
    of its prepare and checks); the flow is loaded only when there is a scenario."""
    if scenario is None:
        return report
    from opsgen.flow.checks import with_scenario_findings

    return with_scenario_findings(report, scenario)


def register(app: typer.Typer) -> None:
    """Add the ``dryrun`` verb."""

    @app.command("dryrun")
    def dryrun_cmd(
        ctx: typer.Context,
        script: Path = typer.Argument(..., help="Bash script or Ansible playbook to dry-run."),
        image: str = typer.Option(
            "opsgen-sandbox:bookworm", help="Image to run in (never pulled)."
        ),
        timeout: float = typer.Option(120.0, min=1, max=3600, help="Wall-clock limit in seconds."),
        network: Network = typer.Option(
            Network.auto,
            help="auto: the package path (Debian packages through opsgen's proxy, nothing "
            "else) when the script installs packages, else none; bridge: Docker's network.",
        ),
        lang: LangOrAuto = typer.Option(
            LangOrAuto.auto, help="Force the language instead of detecting it."),
        twice: bool = typer.Option(False, "--twice", help="Run again; report what changed again."),
        as_json: JsonOpt = False,
        require_userns: bool = typer.Option(
            False, help="Refuse to run unless the engine remaps container root."
        ),
        given: GivenOpt = None,
        expect: ExpectOpt = None,
        scenario_file: ScenarioOpt = None,
        full: bool = typer.Option(
            False, "--full",
            help="List every changed file, also a package's own and apt's bookkeeping.",
        ),
    ) -> int:
        """Run SCRIPT in a fresh, locked-down container and report what it changed.

        With a scenario (--given, --expect, --scenario), the same container first runs
        the prepare script, then every check (before), then SCRIPT, then every check again
        (after); the diff shows what SCRIPT changed from the prepared state. A check that
        fails after SCRIPT is an error (OPS411), one that held before it proves nothing and
        is not counted (OPS412), a prepare that fails is the scenario's fault and SCRIPT is
        not run (OPS413). The scenario's text is linted like a script, and a check or
        prepare that reaches the network (OPS601), names host paths (OPS602) or touches
        opsgen's own runner (OPS603) is reported.

        The diff counts a package's own files (as it shipped them) under the package,
        and apt's and dpkg's bookkeeping and /run in one line; --full lists them all
        (--json always does, each file with its owner_package).

        Exit 0 when every run passed (and, with --twice, the second changed nothing),
        1 when a run failed, was stopped or was not idempotent, a check failed, or any
        finding is an error (a limit hit by a run that exited 0 too), 3 for a bad file or
        scenario, 4 when the sandbox is unavailable.

        The first run starts a warm worker in the background (it exits after 15 idle
        minutes) that runs later dryrun and lint commands without Python's half-second
        start-up; `opsgen worker stop` ends it, OPSGEN_WORKER_AUTOSTART=0 stops the
        automatic start, OPSGEN_NO_WORKER=1 runs everything in this process.
        """
        from opsgen.context import run_context
        from opsgen.sandbox import DryRunOptions, dryrun

        text = read_text_file(script)
        scenario = read_scenario(given, expect, scenario_file)
        defer = run_context(ctx.obj).defer()
        from opsgen.validators import detect_lang

        language = detect_lang(text, str(script)) if lang is LangOrAuto.auto else lang.value
        options = DryRunOptions(
            image=image,
            timeout=timeout,
            network=network.value,
            twice=twice,
            require_userns=require_userns,
        )
        if as_json:
            from opsgen.commands.options import print_json  # redacted: output is untrusted

            report = _linted(dryrun(text, language, options, scenario=scenario, defer=defer),
                             scenario)
            print_json(report.to_dict())
        else:
            from opsgen.render.dryrun import render_dryrun

            with err_console.status("dry-run: starting") as status:
                report = dryrun(
                    text,
                    language,
                    options,
                    scenario=scenario,
                    progress=lambda stage: status.update(f"dry-run: {stage}"),
                    defer=defer,
                )
            report = _linted(report, scenario)
            render_dryrun(report, console, full=full)
        raise typer.Exit(0 if report.ok else 1)
