"""One report row per runbook: small enough to keep a hundred in memory.

Scripts and dry-run reports are streamed to the store and to disk as each runbook finishes;
only this summary stays, so a batch's memory does not grow with its runbooks' sizes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from opsgen.findings import Finding, Severity
from opsgen.store.evidence import Evidence

__all__ = ["MAX_LISTED", "Status", "Summary", "dryrun_verdict", "severity_counts", "top_findings"]

Status = Literal["converted", "no-commands", "failed", "skipped"]
#: Findings and manual steps listed per runbook in the report (the store keeps them all).
MAX_LISTED = 25


@dataclass(frozen=True, slots=True)
class Summary:
    """What the report says about one runbook.

    Attributes:
        path: the runbook as shown (relative to the folder given).
        status: ``converted`` (a change was stored), ``no-commands`` (nothing to run),
            ``failed`` (could not be read or converted) or ``skipped`` (``--resume``).
        message: the reason for ``failed``/``skipped``/``no-commands``, one sentence.
        dryrun: ``passed``, ``failed``, ``killed``, ``needs parameters``, ``not run``.
        dryrun_note: why not run, or what stopped it.
        idempotent: the second run changed nothing (None: not run twice).
        findings: unsuppressed findings by severity, lint and dry-run (OPS4xx) together.
        lint_findings: the lint's share of ``findings``: "lint-clean" is judged on these.
        top_findings: the first findings (code, severity, line, message), errors first.
        manual: manual steps left (step, line, text, reason), at most :data:`MAX_LISTED`.
        seconds: wall time for this runbook; ``stages`` splits it per stage.
    """

    path: str
    status: Status
    title: str = ""
    message: str = ""
    sha256: str = ""
    lang: str = ""
    steps: int = 0
    commands: int = 0
    parameters: tuple[str, ...] = ()
    findings: dict[str, int] = field(default_factory=dict)
    lint_findings: dict[str, int] = field(default_factory=dict)
    top_findings: tuple[dict[str, Any], ...] = ()
    dryrun: str = "not run"
    dryrun_note: str = ""
    idempotent: bool | None = None
    manual: tuple[dict[str, Any], ...] = ()
    manual_count: int = 0
    warnings: tuple[str, ...] = ()
    seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)
    change_id: int | None = None
    script_file: str = ""

    @property
    def errors(self) -> int:
        """Unsuppressed error-level findings (each blocks sign-off)."""
        return self.findings.get(Severity.ERROR.value, 0)

    @property
    def lint_clean(self) -> bool:
        """Converted, and the linters found no unsuppressed error or warning."""
        lint = self.lint_findings
        return self.status == "converted" and not (lint.get("error") or lint.get("warning"))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the ``report.json`` row)."""
        data = asdict(self)
        data["lint_clean"] = self.lint_clean
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Summary:
        """Inverse of :meth:`to_dict` (the resume ledger stores rows)."""
        names = set(cls.__dataclass_fields__)
        values = {k: v for k, v in data.items() if k in names}
        for key in ("parameters", "top_findings", "manual", "warnings"):
            values[key] = tuple(values.get(key) or ())
        return cls(**values)


def severity_counts(findings: Iterable[Finding]) -> dict[str, int]:
    """Unsuppressed findings by severity, every severity present (0 when none)."""
    counts = {s.value: 0 for s in Severity}
    for finding in findings:
        if not finding.suppressed:
            counts[finding.severity.value] += 1
    return counts


def top_findings(evidence: Evidence) -> tuple[dict[str, Any], ...]:
    """The first findings for the report, most severe first."""
    ranked = sorted(
        (f for f in evidence.all_findings if not f.suppressed),
        key=lambda f: (f.severity.rank, f.location.line, f.code),
    )
    return tuple(
        {
            "code": f.code,
            "severity": f.severity.value,
            "line": f.location.line,
            "message": f.message,
        }
        for f in ranked[:MAX_LISTED]
    )


def dryrun_verdict(evidence: Evidence) -> tuple[str, str]:
    """(verdict, note) for the report; a script stopped by its parameter check says so."""
    report = evidence.dryrun
    if report is None:
        return "not run", evidence.dryrun_skipped
    runs = report.get("runs") or []
    if evidence.dryrun_ok:
        return "passed", ""
    first = runs[0] if runs else {}
    output = f"{first.get('stdout', '')}\n{first.get('stderr', '')}"
    if "missing parameter" in output and first.get("status") == "failed":
        return "needs parameters", "stopped by its parameter check: pass the parameters"
    bad = next((r for r in runs if r.get("status") != "passed"), first)
    if bad.get("stop_reason"):
        return str(bad.get("status", "killed")), f"stopped: {bad['stop_reason']}"
    said = [line for line in str(bad.get("stderr", "")).splitlines() if line.strip()]
    last = f": {said[-1].strip()[:160]}" if said else ""
    return str(bad.get("status", "failed")), f"exit {bad.get('exit_code')}{last}"
