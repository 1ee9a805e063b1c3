"""Helpers of the runbook tests (a plain module: ``conftest`` names are ambiguous)."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

from opsgen.findings import Finding, Location, Severity
from opsgen.flow.testing import fake_report
from opsgen.store.evidence import Evidence

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "runbooks"


class FakeChecks:
    """Lint flags pipes into a shell (as OPS101 does); every dry-run passes, idempotent."""

    def __init__(self, payload: int = 0) -> None:
        self.payload = payload
        self.threads: set[str] = set()
        self.scenarios: dict[str, object] = {}

    def lint(self, script, lang, path, *, request, source):
        assert source and request.startswith("Converted from the runbook")
        return tuple(
            Finding("OPS101", Severity.ERROR, "pipe to a shell", Location(path, n))
            for n, line in enumerate(script.splitlines(), 1)
            if "| sh" in line or "| bash" in line
        )

    def dryrun(self, script, lang, findings, progress, *, scenario=None):
        self.threads.add(threading.current_thread().name)
        self.scenarios[script] = scenario
        progress("run")
        report = fake_report(script).to_dict()
        report["runs"][0]["stdout"] = "x" * self.payload  # a chatty script
        return Evidence(findings, report, "sha256:" + "ab" * 32, "")


class NullStore:
    """A store that keeps nothing: isolates the batch's own memory use from SQLite's."""

    def __init__(self, workspace_path: Path) -> None:
        from opsgen.store.workspace import Workspace

        self.workspace = Workspace(workspace_path)
        self.count = 0

    @contextmanager
    def write(self):
        yield

    def create_change(self, **fields):
        self.count += 1
        return SimpleNamespace(id=self.count), SimpleNamespace(id=self.count)

    def add_evidence(self, revision, evidence, *, actor):
        evidence.canonical  # noqa: B018 (serialised, as the real store does)
