"""The checks of one revision: lint and dry-run, in one place, for every sequence.

``opsgen new`` (the repair loop), ``import``/``edit``/``recheck`` (evidence for the store)
and ``convert`` (a runbook batch) all check a script the same way; this module is the one
seam where the validators and the Docker sandbox meet:

- :func:`lint_report`: every validator, the Ansible tools in a sandbox container
  (:class:`~opsgen.sandbox.toolbox.ContainerTools`), never on this host;
- :func:`dryrun_report`: the sandbox, run twice for idempotence by default; with a
  scenario, the scenario's own text is linted too (:func:`scenario_findings`: the shell lint
  and OPS6xx on its prepare and each check) and those findings join the report's, since the
  scenario is part of the dry-run;
- :func:`evaluate`: both, as :class:`~opsgen.store.evidence.Evidence` the store can hash,
  with "could not run" recorded as evidence rather than raised;
- :class:`Checks` / :class:`SandboxChecks`: the same for a batch, in two calls (so it can
  show "lint" and "dry-run" as stages) and remembering a missing engine.

Tests replace :func:`evaluate` (or pass their own :class:`Checks`) to run without Docker.
The linters and the sandbox are imported inside the functions, so loading the flow never
loads Docker or the linters' start-up cost.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol, cast

from opsgen.errors import InputError, OpsError, SandboxError
from opsgen.findings import Finding
from opsgen.flow.loop import FixFn, LintFn
from opsgen.flow.problems import LintLike
from opsgen.flow.scenario import ScenarioDryRunFn
from opsgen.flow.sequences import CHECKS, run_sequence
from opsgen.lang import Lang
from opsgen.sandbox.models import DryRunReport
from opsgen.scenario import Scenario
from opsgen.store.evidence import Evidence

if TYPE_CHECKING:
    from opsgen.validators.report import LintReport

__all__ = ["DEFAULT_TIMEOUT", "Checks", "SandboxChecks", "dryrun_options", "dryrun_report",
           "evaluate", "lint_file_report", "lint_findings", "lint_report", "make_dryrun",
           "make_fix", "make_lint", "scenario_findings", "stored_evidence", "tools_sandbox",
           "with_scenario_findings"]

#: Runbook scripts are short; a minute per run keeps a 100-runbook batch bounded.
DEFAULT_TIMEOUT = 60.0
Progress = Callable[[str], None]


def lint_report(
    text: str, lang: str, path: str = "<script>", *, provenance: Any = None,
    tools: Any = None,
) -> LintLike:
    """Every lint finding of ``text``; ``provenance`` (request and source documents) turns
    on the OPS5xx rules. The Ansible tools run in ``tools`` (default: a new
    :class:`~opsgen.sandbox.toolbox.ContainerTools`), never here."""
    from opsgen.sandbox.toolbox import ContainerTools
    from opsgen.validators import lint_text

    if lang == "ansible" and tools is None:
        tools = ContainerTools()
    # lint_text refuses a language other than bash or ansible with a clear InputError.
    report: LintLike = lint_text(text, lang=cast("Lang", lang), path=path,
                                 provenance=provenance, sandbox=tools)
    return report


def tools_sandbox() -> Any:
    """Where the Ansible tools of a lint run: a :class:`~opsgen.sandbox.toolbox.ContainerTools`
    (one engine connection, shared by the lints of one command)."""
    from opsgen.sandbox.toolbox import ContainerTools

    return ContainerTools()


def lint_file_report(
    path: Any, lang: str | None = None, *, ansible_lint: bool = True, cache: bool = True,
    tools: Any = None,
) -> LintReport:
    """``opsgen lint FILE``: read the file (refusing bad input with an ``InputError``) and
    lint it, the Ansible tools in ``tools`` (default: a new sandbox)."""
    from opsgen.validators import lint_file

    return lint_file(path, cast("Lang | None", lang), ansible_lint=ansible_lint, cache=cache,
                     sandbox=tools or tools_sandbox())


def lint_findings(
    text: str, lang: str, path: str = "<script>", *, provenance: Any = None
) -> tuple[Finding, ...]:
    """The findings of :func:`lint_report`."""
    return tuple(lint_report(text, lang, path, provenance=provenance).findings)


def dryrun_options(image: str | None = None, *, twice: bool = True) -> Any:
    """``DryRunOptions`` for review evidence: run twice (the idempotence verdict) in ``image``.

    Built lazily so that importing this module never loads the Docker SDK.
    """
    from opsgen.sandbox import DryRunOptions

    kwargs: dict[str, Any] = {"twice": twice}
    if image:
        kwargs["image"] = image
    return DryRunOptions(**kwargs)


@functools.lru_cache(maxsize=32)
def scenario_findings(scenario: Scenario | None) -> tuple[Finding, ...]:
    """The lint of a scenario's own text (:func:`opsgen.validators.scenario.lint_scenario`):
    its prepare and each check through the shell lint, plus the OPS6xx rules (network,
    host paths, opsgen's runner). Each finding's path names the part (``scenario:prepare``,
    ``scenario:check 'NAME'``); none can be suppressed from inside the scenario. Memoised:
    the loop dry-runs every attempt and candidate with the same scenario."""
    if scenario is None or scenario.empty:
        return ()
    from opsgen.validators.scenario import lint_scenario

    return lint_scenario(scenario)


def with_scenario_findings(report: DryRunReport, scenario: Scenario | None) -> DryRunReport:
    """``report`` with the findings of ``scenario``'s text added to its own: the scenario
    ran in this dry-run, so what its text tried is part of the same evidence (and an error
    in it makes the verdict NOT OK, like any error finding)."""
    found = scenario_findings(scenario)
    if not found:
        return report
    return replace(report, findings=(*report.findings, *found))


def dryrun_report(
    text: str, lang: str, options: Any = None, *, progress: Progress | None = None,
    scenario: Scenario | None = None,
) -> DryRunReport:
    """Dry-run ``text`` in a fresh sandbox container (raises when the sandbox cannot run),
    with ``scenario`` prepared and checked in the same container when given, and its text's
    findings added to the report (:func:`with_scenario_findings`)."""
    from opsgen.sandbox import dryrun

    extra: dict[str, Any] = {"scenario": scenario} if scenario is not None else {}
    if progress is not None:
        extra["progress"] = progress
    return with_scenario_findings(dryrun(text, lang, options, **extra), scenario)


def evaluate(
    text: str,
    lang: str,
    *,
    dryrun: bool = True,
    options: Any = None,
    path: str = "<script>",
    provenance: Any = None,
    scenario: Scenario | None = None,
) -> Evidence:
    """Lint ``text`` and (unless ``dryrun`` is False) dry-run it in the sandbox.

    A sandbox that cannot run at all (no Docker engine, image missing) is recorded as
    missing evidence rather than raised, so a change can still be imported and reviewed;
    its approval then needs ``--override``.

    Args:
        text: the script or playbook.
        lang: ``bash`` or ``ansible``.
        dryrun: run the sandbox too.
        options: passed to :func:`opsgen.sandbox.dryrun` unchanged.
        path: the name findings point at.
        provenance: an :class:`opsgen.validators.Provenance` for the OPS5xx rules.
        scenario: prepared and checked with the dry-run; it is part of the report, so the
            evidence (and the hash an approval is bound to) covers it, and so are the
            findings of its text. When the sandbox cannot run, those findings are kept with
            the lint's: the scenario was given, even if it could not run.
    """
    def run_lint(evidence: Evidence) -> Evidence:
        return Evidence(lint_findings(text, lang, path, provenance=provenance), None, "",
                        "dry-run not requested")

    def run_dryrun(evidence: Evidence) -> Evidence:
        try:
            report = dryrun_report(text, lang, options, scenario=scenario)
        except SandboxError as exc:
            return replace(evidence, findings=evidence.findings + scenario_findings(scenario),
                           dryrun_skipped=f"dry-run could not run: {exc.message}")
        return stored_evidence(evidence.findings, report)

    return run_sequence(CHECKS, Evidence(), {"lint": run_lint, "dryrun": run_dryrun},
                        ready={"dryrun": lambda _: dryrun})


def stored_evidence(findings: tuple[Finding, ...], report: DryRunReport) -> Evidence:
    """Evidence of a finished dry-run, its outputs redacted like every stored run output
    (the script itself is stored exactly: approvals are bound to its bytes)."""
    from opsgen.redact import redact_tree

    return Evidence(findings, redact_tree(report.to_dict(), scan=True), str(report.image_id), "")


def make_lint(request: str = "") -> LintFn:
    """The repair loop's lint stage: every validator for the language, given the request
    so the provenance rules (OPS5xx) can check that the script only reaches for what the
    operator asked for. One tools sandbox serves every attempt."""
    from opsgen.sandbox.toolbox import ContainerTools
    from opsgen.validators import Provenance

    provenance = Provenance(request=request) if request else None
    tools = ContainerTools()

    def lint(script: str, lang: str) -> LintLike:
        path = "script.sh" if lang == "bash" else "playbook.yml"
        return lint_report(script, lang, path, provenance=provenance, tools=tools)

    return lint


def make_fix(tools: Any = None) -> FixFn:
    """The repair loop's ``fix`` stage for a playbook: first the known wrong module names,
    options and values corrected (:func:`opsgen.validators.ansible.argfix.
    correct_arguments`, a parse and line edits, nothing run), then ansible-lint's own
    ``--fix`` (safe transforms only) in the tools sandbox ``tools`` (default: a new one),
    never on this host; a bash answer passes unchanged (its fixes are the extraction's).
    When the sandbox cannot run, the lint's part is left out and the note says so; the
    lint then reports what it reports. The same text is fixed once (a repeated answer
    costs nothing)."""
    from opsgen.validators.adapters.ansible_fix import fix_playbook
    from opsgen.validators.ansible.argfix import correct_arguments

    sandbox = tools if tools is not None else tools_sandbox()
    done: dict[str, tuple[str, tuple[str, ...]]] = {}

    def fix(script: str, lang: str) -> tuple[str, tuple[str, ...]]:
        if lang != "ansible":
            return script, ()
        if script not in done:
            corrected = correct_arguments(script)
            result = fix_playbook(corrected.text, sandbox)
            notes = corrected.notes + (result.fixes or (
                (f"not applied: ansible-lint --fix ({result.skipped})",) if result.skipped
                else ()))
            done[script] = (result.text, notes)
        return done[script]

    return fix


def make_dryrun(image: str | None = None, timeout: float | None = None) -> ScenarioDryRunFn:
    """The repair loop's dry-run stage: twice in a fresh sandbox container (idempotence),
    with the call's ``scenario`` prepared and checked in the same container when given (per
    call: the loop may rewrite the model's scenario and run the same script again). The
    network is ``auto``: a script that installs Debian packages gets the package path."""
    from opsgen.sandbox import DryRunOptions

    options = DryRunOptions(twice=True, network="auto")
    if image:
        options = replace(options, image=image)
    if timeout:
        options = replace(options, timeout=timeout)

    def run(script: str, lang: str, *, scenario: Scenario | None = None) -> DryRunReport:
        return dryrun_report(script, lang, options, scenario=scenario)

    return run


class Checks(Protocol):
    """Lint and dry-run in two calls; ``dryrun`` is called only when a batch runs dry-runs."""

    def lint(self, script: str, lang: str, path: str, *, request: str, source: str) -> (
        tuple[Finding, ...]
    ):  # fmt: skip
        """Findings for ``script``; ``source`` is the source document (provenance)."""
        ...

    def dryrun(
        self, script: str, lang: str, findings: tuple[Finding, ...], progress: Progress, *,
        scenario: Scenario | None = None,
    ) -> Evidence:
        """Evidence with the dry-run report, or with the reason there is none; ``scenario``
        (a runbook's own checks) is prepared and checked in the same container."""
        ...


@dataclass
class SandboxChecks:
    """The real :class:`Checks`: :func:`lint_findings` and :func:`dryrun_report`.

    The lint gets the runbook itself as *provenance*, which turns on OPS501 (a command that
    an injection-like paragraph of the runbook asked for, security.md ADV-22). A sandbox
    that cannot run at all is recorded as missing evidence, as :func:`evaluate` does, and
    remembered, so later runs of the batch skip it.

    Args:
        image: sandbox image ("" for the default).
        timeout: wall-clock limit of each run, in seconds.
        twice: run twice, for the idempotence verdict.
    """

    image: str = ""
    timeout: float = DEFAULT_TIMEOUT
    twice: bool = True
    unavailable: str = ""  # set once the engine is known to be missing: later runs skip it

    def lint(
        self, script: str, lang: str, path: str, *, request: str, source: str
    ) -> tuple[Finding, ...]:
        """Every lint finding, with the runbook as provenance (enables OPS501/OPS502)."""
        from opsgen.validators import Provenance

        return lint_findings(
            script, lang, path, provenance=Provenance(request=request, sources=(source,))
        )

    def dryrun(
        self, script: str, lang: str, findings: tuple[Finding, ...], progress: Progress, *,
        scenario: Scenario | None = None,
    ) -> Evidence:
        """Dry-run in a fresh container, with ``scenario`` when given; "could not run" is
        evidence, not an exception."""
        if self.unavailable:
            return Evidence(findings, None, "", f"dry-run could not run: {self.unavailable}")
        sandbox = importlib.import_module("opsgen.sandbox")
        options: dict[str, Any] = {"timeout": self.timeout, "twice": self.twice}
        if self.image:
            options["image"] = self.image
        try:
            report = dryrun_report(script, lang, sandbox.DryRunOptions(**options),
                                   progress=progress, scenario=scenario)  # fmt: skip
        except (SandboxError, InputError) as exc:
            if isinstance(exc, SandboxError) and exc.reference in (
                "docker-unavailable",
                "image-missing",
            ):
                self.unavailable = exc.message
            return Evidence(findings, None, "", f"dry-run could not run: {exc.message}")
        except OpsError as exc:
            return Evidence(findings, None, "", f"dry-run could not run: {exc.message}")
        return stored_evidence(findings, report)
