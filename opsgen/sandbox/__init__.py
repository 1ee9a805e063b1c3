"""The Docker sandbox: hardened, disposable dry-runs that report what a script changed.

Public API::

    from opsgen.sandbox import dryrun, DryRunOptions
    report = dryrun(script_text, "bash", DryRunOptions(twice=True))
    report.ok, report.idempotent, report.diff.files, report.findings

    # with a scenario: prepare, checks before, the run(s), checks after, in one container
    report = dryrun(script_text, "bash", scenario=Scenario(prepare, checks))
    report.prepare, report.checks, report.verdict, report.vetted
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opsgen.sandbox.engine import DEFAULT_IMAGE, connect
    from opsgen.sandbox.models import (
        AccountChange,
        CheckResult,
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
    from opsgen.sandbox.stage import DryRunOptions, dryrun, outcome_findings

# Lazy re-exports (PEP 562): reading a stored report needs the models, not the docker SDK,
# and every CLI start imports this package.
_WHERE = {
    "DryRunOptions": "stage",
    "dryrun": "stage",
    "outcome_findings": "stage",
    "DEFAULT_IMAGE": "engine",
    "connect": "engine",
    "OPS": "policy",
    "SandboxPolicy": "policy",
    **{
        name: "models"
        for name in (
            "AccountChange",
            "CheckResult",
            "CronChange",
            "DryRunReport",
            "FileChange",
            "FileMeta",
            "PackageChange",
            "RunResult",
            "ServiceIntent",
            "SystemDiff",
        )
    },
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(f"opsgen.sandbox.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'opsgen.sandbox' has no attribute {name!r}")


__all__ = [
    "DEFAULT_IMAGE",
    "OPS",
    "AccountChange",
    "CheckResult",
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
