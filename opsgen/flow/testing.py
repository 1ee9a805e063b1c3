"""Builders of realistic evidence and changes: the fake twin of lint + dry-run (style §7.7).

Tests and demos inject :class:`~opsgen.store.evidence.Evidence` built here instead of running
the linters and Docker. Dry-run reports are made from the sandbox's real dataclasses and
their ``to_dict()``, so they have exactly the shape the sandbox stores.
"""

from __future__ import annotations

from typing import Any

from opsgen.findings import Finding, Location, Severity
from opsgen.sandbox.models import DryRunReport, FileChange, FileMeta, RunResult, SystemDiff
from opsgen.store.canonical import sha256_text
from opsgen.store.evidence import Evidence
from opsgen.store.models import Change, EvidenceRecord, Revision
from opsgen.store.repo import Store

__all__ = ["error_finding", "fake_report", "make_evidence", "seed_change"]

SCRIPT = "#!/bin/bash\nset -euo pipefail\necho 'hello' > /etc/motd\n"


def fake_report(
    script: str = SCRIPT,
    *,
    status: str = "passed",
    files: tuple[FileChange, ...] | None = None,
    idempotent: bool = True,
    lang: str = "bash",
) -> DryRunReport:
    """A two-run report; by default the script wrote ``/etc/motd`` once and was idempotent."""
    if files is None:
        after = FileMeta("file", 0o644, 0, 0, 6, sha256_text("hello\n"))
        files = (FileChange("/etc/motd", "modified", after, after, "-\n+hello", notes=()),)
    exit_code = 0 if status == "passed" else 2
    run = RunResult(exit_code, status, 0.25, "", "" if status == "passed" else "boom")  # type: ignore[arg-type]
    second = SystemDiff() if idempotent else SystemDiff(files=files)
    return DryRunReport(
        lang=lang,  # type: ignore[arg-type]
        image="opsgen-sandbox:test",
        image_id="sha256:" + "ab" * 32,
        script_sha256=sha256_text(script),
        runs=(run, run),
        diff=SystemDiff(files=files),
        second_diff=second,
    )


def error_finding(
    code: str = "OPS101", line: int = 3, message: str = "Do not pipe to a shell."
) -> Finding:
    """An error-level lint finding (blocks sign-off)."""
    return Finding(code, Severity.ERROR, message, Location("<script>", line), hint="fix it")


def make_evidence(
    *,
    findings: tuple[Finding, ...] = (),
    report: DryRunReport | None = None,
    dryrun: bool = True,
    script: str = SCRIPT,
) -> Evidence:
    """Evidence from findings and a report (a passing :func:`fake_report` of ``script``)."""
    if not dryrun:
        return Evidence(findings, None, "", "dry-run not requested")
    report = report or fake_report(script)
    return Evidence(findings, report.to_dict(), report.image_id, "")


def seed_change(
    store: Store,
    *,
    script: str = SCRIPT,
    lang: str = "bash",
    name: str = "motd",
    request: str = "Set the message of the day",
    author: str = "alice",
    evidence: Evidence | None = None,
) -> tuple[Change, Revision, EvidenceRecord]:
    """Create a change with one revision and its evidence (passing by default)."""
    with store.write():
        change, revision = store.create_change(
            name=name,
            request=request,
            lang=lang,
            image="",
            script=script,
            actor=author,
            source="import",
        )
        evidence = evidence or make_evidence(report=fake_report(script, lang=lang))
        record = store.add_evidence(revision, evidence, actor=author)
    return change, revision, record


def passing_evaluate(text: str, lang: str, **_: Any) -> Evidence:
    """A stand-in for :func:`opsgen.flow.checks.evaluate`: clean lint, a passing dry-run of
    exactly ``text`` (tests of review, approval and export need evidence, not Docker)."""
    return make_evidence(report=fake_report(text, lang=lang))
