"""Rebuild a :class:`~opsgen.sandbox.models.DryRunReport` from its stored ``to_dict()`` JSON.

The store keeps plain JSON (it is what the evidence hash covers); the terminal renderer in
:mod:`opsgen.render.dryrun` takes the dataclass. Rebuilding keeps one renderer for both the
``dryrun`` verb and the review, so they cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from opsgen.findings import Finding
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

__all__ = ["report_from_dict"]

_DERIVED = {"idempotent", "ok", "vetted", "verdict"}


def report_from_dict(data: dict[str, Any]) -> DryRunReport:
    """Inverse of ``DryRunReport.to_dict()``; raises ``TypeError``/``KeyError`` on drift."""
    values = {k: v for k, v in data.items() if k not in _DERIVED}
    values["runs"] = tuple(_run(r) for r in values.get("runs", ()))
    values["diff"] = _diff(values["diff"])
    if values.get("second_diff") is not None:
        values["second_diff"] = _diff(values["second_diff"])
    values["findings"] = tuple(Finding.from_dict(f) for f in values.get("findings", ()))
    values["engine_warnings"] = tuple(values.get("engine_warnings", ()))
    values["dropped"] = tuple(tuple(d) for d in values.get("dropped", ()))
    # Reports stored before scenarios (issue 16) have none of these keys.
    if values.get("prepare") is not None:
        values["prepare"] = _run(values["prepare"])
    values["checks"] = tuple(CheckResult.from_dict(c) for c in values.get("checks", ()))
    return DryRunReport(**values)


def _run(data: dict[str, Any]) -> RunResult:
    values = dict(data)
    values["limits_hit"] = tuple(values.get("limits_hit", ()))
    values["ansible_tasks"] = tuple(values.get("ansible_tasks", ()))
    return RunResult(**values)


def _meta(data: dict[str, Any] | None) -> FileMeta | None:
    return FileMeta(**data) if data else None


def _file(data: dict[str, Any]) -> FileChange:
    values = dict(data)
    values["before"] = _meta(values.get("before"))
    values["after"] = _meta(values.get("after"))
    values["notes"] = tuple(values.get("notes", ()))
    return FileChange(**values)


def _diff(data: dict[str, Any]) -> SystemDiff:
    return SystemDiff(
        files=tuple(_file(f) for f in data.get("files", ())),
        users=tuple(AccountChange(**a) for a in data.get("users", ())),
        groups=tuple(AccountChange(**a) for a in data.get("groups", ())),
        packages=tuple(PackageChange(**p) for p in data.get("packages", ())),
        cron=tuple(
            CronChange(c["path"], tuple(c.get("added", ())), tuple(c.get("removed", ())))
            for c in data.get("cron", ())
        ),
        services=tuple(
            ServiceIntent(**{**s, "argv": tuple(s.get("argv", ()))})
            for s in data.get("services", ())
        ),
        summarised=tuple(data.get("summarised", ())),
    )
