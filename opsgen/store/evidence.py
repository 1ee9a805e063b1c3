"""Evidence: what was observed about one revision, as one value the store can hash.

Review, approval and export never call the linters or the sandbox themselves; they take an
:class:`Evidence`. That keeps the trust boundary testable without Docker (tests build
Evidence directly) and gives the approval one thing to bind to: :attr:`Evidence.sha256`,
the sha256 of the canonical JSON of findings + dry-run report + image id. It lives beside
the store's models because the store keeps it; the stages that gather it are in
:mod:`opsgen.flow.checks`, and nothing here runs a tool.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opsgen.findings import Finding, Severity
from opsgen.store.canonical import canonical_json, normalise, sha256_text

__all__ = ["Evidence"]


@dataclass(frozen=True, slots=True)
class Evidence:
    """What was observed about one revision: lint findings and the dry-run report.

    Attributes:
        findings: lint findings (the dry-run's own OPS4xx findings live in ``dryrun``).
        dryrun: ``DryRunReport.to_dict()``, JSON-normalised; None when no dry-run ran.
        image_id: the sandbox image digest the dry-run used ("" without a dry-run).
        dryrun_skipped: why there is no dry-run ("" when there is one).
    """

    findings: tuple[Finding, ...] = ()
    dryrun: dict[str, Any] | None = None
    image_id: str = ""
    dryrun_skipped: str = ""

    def __post_init__(self) -> None:
        # Normalise once so the value in memory hashes exactly like the stored JSON.
        object.__setattr__(self, "dryrun", normalise(self.dryrun))
        if self.dryrun is None and not self.dryrun_skipped:
            object.__setattr__(self, "dryrun_skipped", "no dry-run recorded")

    @property
    def dryrun_findings(self) -> tuple[Finding, ...]:
        """Findings the sandbox reported (timeouts, failures, not idempotent...)."""
        if not self.dryrun:
            return ()
        return tuple(Finding.from_dict(f) for f in self.dryrun.get("findings", ()))

    @property
    def all_findings(self) -> tuple[Finding, ...]:
        """Lint and dry-run findings together, for display next to the script lines."""
        return self.findings + self.dryrun_findings

    @property
    def errors(self) -> tuple[Finding, ...]:
        """Unsuppressed error-level findings: each one blocks sign-off."""
        return tuple(
            f for f in self.all_findings if f.severity is Severity.ERROR and not f.suppressed
        )

    @property
    def dryrun_ok(self) -> bool | None:
        """None when no dry-run ran, else whether every run passed.

        Not being idempotent is the OPS404 *warning*, shown but not blocking (the sandbox's
        severity, not ours to raise); a run that failed or was killed blocks.
        """
        if self.dryrun is None:
            return None
        runs = self.dryrun.get("runs") or []
        return bool(runs) and all(r.get("status") == "passed" for r in runs)

    @property
    def idempotent(self) -> bool | None:
        """The dry-run's idempotence verdict; None when it ran once or not at all."""
        return None if self.dryrun is None else self.dryrun.get("idempotent")

    def blockers(self) -> list[str]:
        """Reasons this evidence cannot be approved without ``--override``; empty when clean."""
        reasons: list[str] = []
        if self.errors:
            codes = ", ".join(sorted({f.code for f in self.errors}))
            reasons.append(f"{len(self.errors)} error-level finding(s): {codes}")
        if self.dryrun is None:
            reasons.append(f"no dry-run evidence ({self.dryrun_skipped})")
        elif not self.dryrun_ok:
            reasons.append("the dry-run failed (a run exited non-zero or was killed)")
        return reasons

    def to_dict(self) -> dict[str, Any]:
        """The JSON form that is stored and hashed (sorted keys when serialised)."""
        value = {
            "findings": [f.to_dict() for f in self.findings],
            "dryrun": self.dryrun,
            "image_id": self.image_id,
            "dryrun_skipped": self.dryrun_skipped,
        }
        result: dict[str, Any] = normalise(value)
        return result

    @property
    def canonical(self) -> str:
        """Canonical JSON text of :meth:`to_dict`; the store keeps exactly this text."""
        return canonical_json(self.to_dict())

    @property
    def sha256(self) -> str:
        """The evidence hash an approval binds to."""
        return sha256_text(self.canonical)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Evidence:
        """Inverse of :meth:`to_dict`, used when evidence is read back from the store."""
        return cls(
            findings=tuple(Finding.from_dict(f) for f in data.get("findings", ())),
            dryrun=data.get("dryrun"),
            image_id=str(data.get("image_id", "")),
            dryrun_skipped=str(data.get("dryrun_skipped", "")),
        )
