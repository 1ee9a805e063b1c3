"""The finding model shared by every stage: linters, the sandbox and the review.

Modelled on shellcheck's comments (stable code, one of four severities, one-sentence
message) and ansible-lint's ``MatchError`` (1-based positions). It lives at the package top
because the validators *and* the sandbox (OPS4xx outcomes) produce findings, and neither
should import the other.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Finding", "Location", "Severity", "sort_findings"]


class Severity(enum.StrEnum):
    """shellcheck's four levels; ``ERROR`` blocks sign-off."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
    STYLE = "style"

    @property
    def rank(self) -> int:
        """0 for the most severe, so findings sort errors first."""
        return list(Severity).index(self)


@dataclass(frozen=True, slots=True)
class Location:
    """Where a finding points; lines and columns start at 1 (0 means unknown)."""

    path: str
    line: int = 0
    column: int = 0
    end_line: int = 0
    end_column: int = 0

    def __post_init__(self) -> None:
        if min(self.line, self.column, self.end_line, self.end_column) < 0:
            raise ValueError("positions start at 1 (0 = unknown), never negative")


@dataclass(frozen=True, slots=True)
class Finding:
    """One diagnostic with a stable code (``OPS101``, ``SC2086``, ``risky-shell-pipe``)."""

    code: str
    severity: Severity
    message: str
    location: Location
    source: str = "ops"
    hint: str = ""
    url: str = ""
    suppressed: bool = False
    suppression_reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; the severity as its string value."""
        data = asdict(self)
        data["severity"] = self.severity.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        """Inverse of :meth:`to_dict`, used when findings are read back from the store."""
        values = dict(data)
        values["severity"] = Severity(values["severity"])
        values["location"] = Location(**values["location"])
        return cls(**values)


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Stable order for display: by path, line, column, then severity and code."""
    return sorted(
        findings,
        key=lambda f: (
            f.location.path,
            f.location.line,
            f.location.column,
            f.severity.rank,
            f.code,
        ),
    )
