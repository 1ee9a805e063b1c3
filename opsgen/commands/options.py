"""Shared pieces of the review verbs: the workspace option, JSON output, the acting user.

Kept out of :mod:`opsgen.commands` so that package holds only verbs (one per module).
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from opsgen.redact import redact_tree

if TYPE_CHECKING:  # the YAML parser is loaded only by a verb given a scenario
    from opsgen.scenario import Scenario
    from opsgen.store.repo import Store

__all__ = ["ExpectOpt", "GivenOpt", "JsonOpt", "LangChoice", "LangOrAuto", "ScenarioOpt",
           "WorkspaceOpt", "current_user", "open_store", "print_json", "read_scenario"]


class LangChoice(StrEnum):
    """``--lang`` where the language must be named: the values of :data:`opsgen.lang.LANGS`."""

    bash = "bash"
    ansible = "ansible"


class LangOrAuto(StrEnum):
    """``--lang`` with ``auto``: detected from the input (or, for ``new``, the request)."""

    auto = "auto"
    bash = "bash"
    ansible = "ansible"

WorkspaceOpt = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        envvar="OPSGEN_WORKSPACE",
        help="Workspace folder holding the change store (default: ./.opsgen).",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
GivenOpt = Annotated[
    Path | None,
    typer.Option(
        "--given",
        metavar="FILE",
        help="Bash script that makes the state the request presupposes; runs as root in "
        "the sandbox before the script (the scenario's prepare).",
        show_default=False,
    ),
]
ExpectOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--expect",
        metavar="CMD",
        help="A shell command that must exit 0 after the script (and should not before); "
        "repeat for more. A query's checks read its output from $OPSGEN_STDOUT.",
        show_default=False,
    ),
]
ScenarioOpt = Annotated[
    Path | None,
    typer.Option(
        "--scenario",
        metavar="FILE.yml",
        help="YAML file with 'prepare' (a script) and 'checks' (commands, or name/run).",
        show_default=False,
    ),
]


def read_scenario(
    given: Path | None, expect: list[str] | None, scenario: Path | None
) -> Scenario | None:
    """The operator's scenario from ``--scenario``, ``--given`` and ``--expect``, merged in
    that order (an ``--expect`` replaces a check of the same name); None when none is given.

    Raises :class:`InputError` (exit 3, one line) for a file or command that cannot be used,
    before anything runs.
    """
    from opsgen.errors import InputError
    from opsgen.inputs import read_text_file
    from opsgen.scenario import MAX_CHECKS, merge_scenarios, parse_scenario, scenario_from_parts

    parts: list[Scenario] = []
    if scenario is not None:
        text = read_text_file(scenario)
        try:
            parts.append(parse_scenario(text, "operator"))
        except InputError as exc:
            raise InputError(f"{scenario}: {exc.message}", reference=exc.reference,
                             hint="see `opsgen dryrun --help` for the YAML form") from None
    if given is not None or expect:
        prepare = read_text_file(given) if given is not None else ""
        parts.append(scenario_from_parts(prepare, expect or (), "operator"))
    if not parts:
        return None
    merged = merge_scenarios(parts)
    total = len({c.name for part in parts for c in part.checks})
    if total > MAX_CHECKS:
        raise InputError(f"a scenario has at most {MAX_CHECKS} checks, these options give "
                         f"{total}", reference="bad-scenario")
    return merged


def open_store(workspace: Path | None, *, create: bool = False) -> Store:
    # imported here: every verb imports this module, and `dryrun`/`lint` never open a store
    from opsgen.store.repo import Store
    from opsgen.store.workspace import resolve_workspace

    """Open the store of the workspace given on the command line (or the default)."""
    return Store.open(resolve_workspace(workspace), create=create)


def print_json(value: Any) -> None:
    """Write ``value`` as JSON to stdout, secrets redacted, never through rich markup.

    Every string is redacted whole (a private key spans lines), detect-secrets included:
    JSON output is what scripts and CI logs keep. ``ensure_ascii`` turns every control and
    non-ASCII character into a ``\\u`` escape, so no raw escape sequence reaches the
    terminal from JSON output either; values JSON cannot hold are written as strings.
    """
    text = json.dumps(
        redact_tree(value, scan=True), indent=2, sort_keys=True, ensure_ascii=True, default=str
    )
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def current_user() -> str:
    """Who is acting, for audit entries of non-approval actions: ``$OPSGEN_USER`` or login."""
    name = os.environ.get("OPSGEN_USER")
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
