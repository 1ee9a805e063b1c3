"""The result of linting one file: findings (sorted) plus how each tool fared."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opsgen.findings import Finding, Severity
from opsgen.validators.artifact import Lang
from opsgen.validators.tools import ToolRun

__all__ = ["LintReport"]


@dataclass(frozen=True, slots=True)
class LintReport:
    """Everything one lint found, in display order.

    Suppressed findings stay in ``findings`` (marked ``suppressed`` with their reason) so
    that the review can show them; only unsuppressed errors make ``ok`` false.
    """

    path: str
    lang: Lang
    findings: tuple[Finding, ...]
    tools: tuple[ToolRun, ...] = ()

    @property
    def errors(self) -> tuple[Finding, ...]:
        """Unsuppressed error findings: these block sign-off."""
        return tuple(f for f in self.findings
                     if f.severity is Severity.ERROR and not f.suppressed)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        """Unsuppressed warning findings."""
        return tuple(f for f in self.findings
                     if f.severity is Severity.WARNING and not f.suppressed)

    @property
    def suppressed(self) -> tuple[Finding, ...]:
        """Findings silenced by an inline directive (shown to reviewers, marked)."""
        return tuple(f for f in self.findings if f.suppressed)

    @property
    def ok(self) -> bool:
        """True when no unsuppressed error remains."""
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (secrets in it are already redacted)."""
        return {
            "path": self.path,
            "lang": self.lang,
            "ok": self.ok,
            "counts": {"errors": len(self.errors), "warnings": len(self.warnings),
                       "suppressed": len(self.suppressed), "total": len(self.findings)},
            "findings": [f.to_dict() for f in self.findings],
            "tools": [{"name": t.name, "status": t.status, "seconds": t.seconds,
                       "detail": t.detail} for t in self.tools],
        }
