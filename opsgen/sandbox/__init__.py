"""The Docker sandbox: hardened, disposable dry-runs that report what a script changed.

Public API::

    from opsgen.sandbox import dryrun, DryRunOptions
    report = dryrun(script_text, "bash", DryRunOptions(twice=True))
    report.ok, report.idempotent, report.diff.files, report.findings
"""

from __future__ import annotations

from opsgen.sandbox.dryrun import DryRunOptions, dryrun, outcome_findings
from opsgen.sandbox.engine import DEFAULT_IMAGE, connect
from opsgen.sandbox.models import (
    AccountChange,
    CronChange,
    DryRunReport,
    FileChange,
    FileMeta,
    PackageChange,
    RunResult,
    ServiceIntent,
    SystemDiff,
)
from opsgen.sandbox.policy import OPS, SandboxPolicy

__all__ = [
    "DEFAULT_IMAGE",
    "OPS",
    "AccountChange",
    "CronChange",
    "DryRunOptions",
    "DryRunReport",
    "FileChange",
    "FileMeta",
    "PackageChange",
    "RunResult",
    "SandboxPolicy",
    "ServiceIntent",
    "SystemDiff",
    "connect",
    "dryrun",
    "outcome_findings",
]
