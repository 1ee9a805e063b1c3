"""``opsgen lint FILE...``: lint scripts and playbooks; gcc-style, JSON or SARIF output.

Exit codes: 0 no unsuppressed error, 1 at least one error finding, 3 a file could not be
read (each bad file gets one ``error[...]`` line and the others are still linted).
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path

import typer

from opsgen.commands.options import LangChoice
from opsgen.errors import InputError
from opsgen.render.findings import finding_line
from opsgen.ui import console, err_console, render_error


class Format(StrEnum):
    """Output formats."""

    text = "text"
    json = "json"
    sarif = "sarif"



def register(app: typer.Typer) -> None:
    """Add the ``lint`` verb."""

    @app.command("lint")
    def lint_cmd(
        files: list[Path] = typer.Argument(..., help="Bash scripts and Ansible playbooks."),
        lang: LangChoice | None = typer.Option(
            None, "--lang", help="Force the language instead of detecting it."),
        fmt: Format = typer.Option(Format.text, "--format", "-f", help="Output format."),
        no_ansible_lint: bool = typer.Option(
            False, "--no-ansible-lint", help="Skip ansible-lint (it takes seconds per file)."),
        no_cache: bool = typer.Option(
            False, "--no-cache",
            help="Run every tool even if its result for this input is cached "
                 "(also OPSGEN_NO_CACHE=1)."),
    ) -> int:
        """Lint FILES with bash -n, shellcheck, ansible-playbook --syntax-check, ansible-lint
        and opsgen's policy rules. Nothing is executed on this host: the Ansible tools
        (which evaluate Jinja while they load a playbook) run in a sandbox container
        without network.

        Prints file:line:col: severity CODE message (with a hint) per finding; exit 1 when
        any unsuppressed error is found, 3 when a file cannot be read.
        """
        from opsgen.flow.checks import lint_file_report, tools_sandbox
        from opsgen.validators.formats import json_document, sarif_document

        tools = tools_sandbox()  # one engine connection for every playbook
        reports = []
        bad_input = False
        for path in files:
            try:
                reports.append(lint_file_report(path, lang.value if lang else None,
                                                ansible_lint=not no_ansible_lint,
                                                cache=not no_cache, tools=tools))
            except InputError as exc:
                render_error(exc)
                bad_input = True
        if fmt is Format.text:
            for report in reports:
                for f in report.findings:
                    console.print(finding_line(f), soft_wrap=True, highlight=False)
            errors = sum(len(r.errors) for r in reports)
            warnings = sum(len(r.warnings) for r in reports)
            suppressed = sum(len(r.suppressed) for r in reports)
            err_console.print(f"opsgen lint: {len(reports)} file(s), {errors} error(s), "
                              f"{warnings} warning(s), {suppressed} suppressed", highlight=False)
        else:
            doc = json_document(reports) if fmt is Format.json else sarif_document(reports)
            sys.stdout.write(json.dumps(doc, indent=2) + "\n")
            sys.stdout.flush()
        if bad_input:
            return 3
        return 0 if all(r.ok for r in reports) else 1
