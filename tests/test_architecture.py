"""The import rules of docs/architecture.md, read from the code: a forbidden arrow fails.

Every ``import`` and ``from ... import`` in ``opsgen/`` (function-level ones included: a
lazy import is still a dependency) is mapped to the part it comes from and the part it
reaches, and checked against the allowed arrows below.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "opsgen"

#: shared modules every part may use: values and pure helpers, no tools, no terminal
SHARED = {"errors", "findings", "lang", "names", "redact", "scenario", "secretscan", "yamlsafe",
          "contained", "inputs", "context", "cachedir", "opsgen"}
#: the presentation layer and the CLI: nothing below may import them
CLI_LAYER = {"commands", "cli", "render", "ui", "launcher", "worker"}
#: third-party packages that belong to the terminal or the CLI
TERMINAL = {"rich", "typer"}

#: what each part may import besides itself and SHARED (None: anything)
ALLOWED: dict[str, set[str] | None] = {
    # leaves: know nothing of each other
    "generator": set(),
    "validators": set(),
    "sandbox": set(),
    "store": set(),
    # approval is the store's sign-off rules
    "approval": {"store"},
    # the only part that composes the leaves
    "flow": {"generator", "validators", "sandbox", "store", "approval"},
    # users of flow and store (review rebuilds the sandbox's report values for show)
    "review": {"flow", "store", "approval", "sandbox.models"},
    "export": {"flow", "store", "approval"},
    "runbook": {"flow", "store", "generator"},
    # the presentation layer and the CLI
    **dict.fromkeys(CLI_LAYER, None),
}


def _imports() -> list[tuple[str, str, str, int]]:
    """(module, part, imported name, line) for every import of opsgen's own code."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "shims" in path.parts or path.name == "runtools.py":
            continue  # run inside the sandbox image, not part of the package's graph
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        module = module.removesuffix(".__init__")
        part = module.split(".")[1] if module.count(".") else "opsgen"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            else:
                continue
            found += [(module, part, name, node.lineno) for name in names]
    return found


def _violation(part: str, name: str) -> str | None:
    top = name.split(".")[0]
    if top in TERMINAL and part not in CLI_LAYER:
        return f"{part} imports the terminal package {top}"
    if top != "opsgen" or "." not in name:
        return None
    target = name.split(".")[1]
    if target == part or target in SHARED:
        return None
    allowed = ALLOWED.get(part, set())
    if allowed is None:
        return None
    dotted = ".".join(name.split(".")[1:3])
    if target in allowed or dotted in allowed:
        return None
    return f"{part} -> {target}"


def test_the_import_graph_has_only_allowed_arrows() -> None:
    bad = [f"{module}:{line}: {why} ({name})" for module, part, name, line in _imports()
           if (why := _violation(part, name))]
    assert bad == [], "forbidden imports:\n" + "\n".join(bad)


@pytest.mark.parametrize(("part", "name", "forbidden"), [
    ("generator", "opsgen.sandbox.models", True),
    ("generator", "opsgen.review.cliutil", True),
    ("validators", "opsgen.sandbox.toolbox", True),
    ("store", "opsgen.flow.checks", True),
    ("sandbox", "rich.console", True),
    ("flow", "opsgen.commands.options", True),
    ("export", "opsgen.ui", True),
    ("flow", "opsgen.sandbox.stage", False),
    ("commands", "opsgen.flow.new", False),
    ("validators", "opsgen.findings", False),
])
def test_the_rules_catch_what_they_should(part: str, name: str, forbidden: bool) -> None:
    """The checker itself can fail: the arrows the issue names are refused."""
    assert (_violation(part, name) is not None) is forbidden


def test_every_part_is_known() -> None:
    parts = {part for _m, part, _n, _l in _imports()}
    unknown = parts - set(ALLOWED) - SHARED
    assert unknown == set(), f"add these parts to ALLOWED and docs/architecture.md: {unknown}"


def test_the_sequences_are_what_new_and_import_run() -> None:
    """The declared sequences drive the runs: the loop reports its stages in NEW's order."""
    from opsgen.flow.loop import Events, run_loop
    from opsgen.flow.sequences import CHECKS, NEW
    from opsgen.generator.llm import FakeLLM
    from opsgen.sandbox.models import DryRunReport, RunResult, SystemDiff

    class Lint:
        findings: tuple[object, ...] = ()
        errors: tuple[object, ...] = ()

        def to_dict(self) -> dict[str, object]:
            return {}

    def dryrun(script: str, lang: str) -> DryRunReport:
        run = RunResult(exit_code=0, status="passed", duration_s=0.1, stdout="", stderr="")
        return DryRunReport(lang="bash", image="i", image_id="i", script_sha256="s",
                            runs=(run, run), diff=SystemDiff(), second_diff=SystemDiff())

    seen: list[str] = []

    class Record(Events):
        def stage(self, name: str, attempt: int, total: int) -> None:
            seen.append(name)

    def answer(messages: list[object]) -> str:
        if "acceptance checks" in str(messages[0]):  # the scenario prompt
            return "```yaml\nprepare: ''\nchecks:\n  - test -e /srv/hi\n```"
        return "```bash\n#!/bin/bash\nset -euo pipefail\necho hi\n```"

    def scenario_dryrun(script: str, lang: str, *, scenario: object) -> DryRunReport:
        return dryrun(script, lang)

    llm = FakeLLM(answer)
    lint = lambda script, lang: Lint()  # noqa: E731 - a stand-in with the report's shape
    run_loop("say hi", "bash", llm, lint=lint, dryrun=scenario_dryrun, events=Record(),  # type: ignore[arg-type]
             model_scenario=True)
    assert seen == ["scenario", "generate", *CHECKS]
    assert [s for s in NEW if s in seen] == seen
