"""What the checks found, as a compact account a small model can act on.

Each :class:`Problem` is one line in the repair prompt: a code, where, and the evidence
(the offending line's text, a stderr tail, the paths a second run changed). Small models do
not count lines reliably, so a lint problem quotes the line it points at.

A scenario check that does not hold after the run (OPS411) is a problem like a failed run:
the script ran but did not do what was asked, and the model is told which postcondition
failed and what the check printed. A failed *prepare* (OPS413) is a ``scenario`` problem:
the scenario's fault, which the loop answers by rewriting the scenario, never the script.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from opsgen.findings import Finding, Severity
from opsgen.sandbox.models import CheckResult, DryRunReport, RunResult, SystemDiff
from opsgen.scenario import LOCATION_PREFIX

__all__ = ["CHECK_FAILED", "CHECK_VACUOUS", "PREPARE_FAILED", "SCENARIO_CODES", "LintLike",
           "Problem", "check_problems", "dryrun_problems", "lint_problems", "tail"]

_TAIL_LINES = 12
_TAIL_CHARS = 900
_MAX_PATHS = 8
# Sandbox outcome codes that restate a failed or stopped run (timeout, OOM, output flood,
# disk quota, crash, pids, non-zero exit).
_RUN_OUTCOMES = frozenset({"OPS401", "OPS402", "OPS403", "OPS405", "OPS406", "OPS407", "OPS408"})
#: the sandbox's findings for a scenario: a check failed, a check held before the script ran
#: (proves nothing; a warning), the prepare failed (the scenario's fault, the script not run)
CHECK_FAILED, CHECK_VACUOUS, PREPARE_FAILED = "OPS411", "OPS412", "OPS413"
SCENARIO_CODES = frozenset({CHECK_FAILED, CHECK_VACUOUS, PREPARE_FAILED})
_CHECK_OUTPUT_CHARS = 400


# What coreutils, findutils, grep and bash print when a command went wrong. A script that
# exits 0 with such lines on stderr did not do what it says: usually a wrong path or option
# whose failure `|| true`, a pipeline or a missing `set -e` swallowed.
_STDERR_ERROR = re.compile(
    r"No such file or directory|Is a directory|Not a directory|Permission denied"
    r"|command not found|[Ii]nvalid option|unrecognized option|illegal option"
    r"|missing operand|cannot access|cannot stat|cannot open|syntax error|unbound variable"
    r"|[Ii]nvalid argument|[Uu]sage: "
)


class LintLike(Protocol):
    """What the loop needs from a lint report (``opsgen.validators.LintReport``)."""

    @property
    def findings(self) -> tuple[Finding, ...]:
        """Every finding, suppressed ones included."""
        ...

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        ...


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing that keeps an attempt from being accepted.

    Attributes:
        kind: ``lint``, ``run``, ``stopped``, ``idempotence``, ``check`` (a scenario check
            failed), ``scenario`` (its prepare failed) or ``unparseable``.
        code: a stable code (``SC2086``, ``OPS404``, ``exit-1``).
        message: one line, already compact.
        line: 1-based line in the script, 0 when not tied to a line.
    """

    kind: str
    code: str
    message: str
    line: int = 0

    def describe(self, script: str = "") -> str:
        """The line shown to the model (and in the review): code, place, evidence."""
        where = ""
        if self.line:
            lines = script.splitlines()
            text = lines[self.line - 1].strip() if 0 < self.line <= len(lines) else ""
            where = f" at line {self.line}" + (f" `{text[:120]}`" if text else "")
        return f"{self.code}{where}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


def tail(text: str, lines: int = _TAIL_LINES, chars: int = _TAIL_CHARS) -> str:
    """The last few lines of output, joined with `` | `` so the problem stays one line."""
    kept = [ln.rstrip() for ln in text.strip().splitlines() if ln.strip()][-lines:]
    joined = " | ".join(kept)
    return joined if len(joined) <= chars else "..." + joined[-chars:]


def lint_problems(report: LintLike) -> list[Problem]:
    """Error-level findings, with our rules' fix hints (shellcheck's hint is only its wiki
    link, which a model cannot open); warnings are shown to the operator, not repaired.

    Suppression comments (``# ops: disable=...``) are the operator's tool, and a generated
    script's comments were written by the model, which reads the untrusted request: a
    suppressed error in a model's answer still counts, or a request could switch a check
    off by asking for the comment.
    """
    return [
        Problem(
            "lint",
            f.code,
            f.message
            + (f" Fix: {f.hint}" if f.hint and f.source != "shellcheck" else "")
            + (
                " (a suppression comment written by the model does not count)"
                if f.suppressed
                else ""
            ),
            f.location.line,
        )
        for f in report.findings
        if f.severity is Severity.ERROR
    ]


def _run_problem(run: RunResult, which: str, lang: str) -> Problem | None:
    if run.status == "passed":
        return None
    output = run.stderr
    if lang == "ansible" or not output.strip():
        output = f"{run.stdout}\n{run.stderr}"
    if run.status == "killed":
        reason = run.stop_reason or "unknown"
        return Problem("stopped", f"stopped-{reason}", f"the {which} run was stopped: {reason}")
    evidence = tail(output) or "(no output)"
    return Problem("run", f"exit-{run.exit_code}", f"the {which} run failed: {evidence}")


def _swallowed_errors(run: RunResult) -> Problem | None:
    """A bash run that passed although commands in it reported errors on stderr."""
    if run.status != "passed":
        return None
    errors = "\n".join(ln for ln in run.stderr.splitlines() if _STDERR_ERROR.search(ln))
    if not errors:
        return None
    return Problem(
        "run",
        "stderr-errors",
        "the run exited 0 but commands in it reported errors (a wrong path or option whose "
        f"failure was swallowed): {tail(errors, lines=4)}",
    )


def _paths(paths: Iterable[str]) -> str:
    items = list(paths)
    more = f" and {len(items) - _MAX_PATHS} more" if len(items) > _MAX_PATHS else ""
    return ", ".join(items[:_MAX_PATHS]) + more


def _second_run_evidence(second: SystemDiff) -> str:
    """What the second run added, so the model sees *how* it repeated itself."""
    lines = [f"added cron line `{line}`" for c in second.cron for line in c.added]
    for change in second.files:
        added = [
            ln[1:]
            for ln in change.diff.splitlines()
            if ln.startswith("+") and not ln.startswith("+++")
        ]
        lines += [f"{change.path} got `{ln.strip()}` again" for ln in added[:2]]
    return ("; " + "; ".join(lines[:4])) if lines else ""


def _check_problem(check: CheckResult) -> Problem:
    """One failed check, worded for the model: the postcondition, the command, the output."""
    if check.after is None:
        status = "did not run to an answer"
    else:
        status = f"exited {check.after}"
    broke = " (it held before the script ran: the script broke it)" if check.vacuous else ""
    output = tail(check.output, lines=6, chars=_CHECK_OUTPUT_CHARS)
    printed = f"; it printed: {output}" if output else ""
    return Problem(
        "check",
        CHECK_FAILED,
        f"the request's postcondition \"{' '.join(check.name.split())}\" does not hold after "
        f"the script ran{broke}: the check `{check.run}` {status}{printed}",
    )


def check_problems(report: DryRunReport) -> list[Problem]:
    """The scenario's failed checks (OPS411) and a failed prepare (OPS413).

    When the prepare failed the script was not run and the checks carry no answer: only the
    ``scenario`` problem is reported, so the model is never asked to repair a script for a
    state it was not given.
    """
    if report.prepare is not None and report.prepare.status != "passed":
        evidence = tail(f"{report.prepare.stdout}\n{report.prepare.stderr}") or "(no output)"
        return [Problem("scenario", PREPARE_FAILED,
                        f"the scenario's prepare failed (exit {report.prepare.exit_code}), so "
                        f"the script was not run: {evidence}")]
    if not report.runs:
        return []
    return [_check_problem(c) for c in report.checks if not c.passed]


def dryrun_problems(report: DryRunReport, lang: str) -> list[Problem]:
    """Failed or stopped runs, errors a passing bash run swallowed, OPS4xx outcomes, a
    non-idempotent second run, and the scenario's failed checks and prepare."""
    problems: list[Problem] = []
    for index, run in enumerate(report.runs):
        found = _run_problem(run, "first" if index == 0 else "second", lang)
        if found is not None:
            problems.append(found)
    if lang == "bash" and report.runs:
        swallowed = _swallowed_errors(report.runs[0])
        if swallowed is not None:
            problems.append(swallowed)
    if report.idempotent is False and report.second_diff is not None:
        second = report.second_diff
        changed = _paths(second.paths())
        detail = f"it changed {changed}" if changed else "it changed the system again"
        if report.runs[1].ansible_changed:
            detail = f"{report.runs[1].ansible_changed} task(s) reported changed"
        detail += _second_run_evidence(second)
        problems.append(
            Problem("idempotence", "OPS404", f"not idempotent: on the second run {detail}")
        )
    problems += check_problems(report)
    seen = {p.code for p in problems}
    ran_badly = any(p.kind in ("run", "stopped") for p in problems)
    for finding in report.findings:
        if finding.code in seen or finding.suppressed or finding.code in SCENARIO_CODES:
            continue
        if finding.location.path.startswith(LOCATION_PREFIX):
            continue  # the scenario's own text (OPS6xx...): shown, but no script repair fixes it
        if ran_badly and finding.code in _RUN_OUTCOMES:
            continue  # the same failure, already described with its evidence
        if finding.severity is Severity.ERROR and finding.code != "OPS404":
            problems.append(Problem("stopped", finding.code, finding.message))
    return problems
