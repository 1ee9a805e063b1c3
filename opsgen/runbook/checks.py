"""Lint and dry-run a converted runbook into :class:`~opsgen.evaluate.Evidence`.

The same evidence :func:`opsgen.evaluate.evaluate` builds, in two calls instead of one so
the batch can show "lint" and "dry-run" as separate stages, and with one addition: the lint
gets the runbook itself as *provenance*, which turns on OPS501 (a command that an
injection-like paragraph of the runbook asked for, security.md ADV-22). A sandbox that
cannot run at all is recorded as missing evidence, as ``evaluate`` does, so the change can
still be reviewed (its approval then needs ``--override``).

:class:`Checks` is the seam tests replace: a fake lint and dry-run need no Docker.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from opsgen.errors import InputError, OpsError, SandboxError
from opsgen.evaluate import Evidence, lint_findings
from opsgen.findings import Finding

__all__ = ["DEFAULT_TIMEOUT", "Checks", "SandboxChecks"]

#: Runbook scripts are short; a minute per run keeps a 100-runbook batch bounded.
DEFAULT_TIMEOUT = 60.0
Progress = Callable[[str], None]


class Checks(Protocol):
    """Lint and dry-run; ``dryrun`` is called only when the batch runs dry-runs."""

    def lint(self, script: str, lang: str, path: str, *, request: str, source: str) -> (
        tuple[Finding, ...]
    ):  # fmt: skip
        """Findings for ``script``; ``source`` is the runbook text (provenance)."""
        ...

    def dryrun(
        self, script: str, lang: str, findings: tuple[Finding, ...], progress: Progress
    ) -> Evidence:
        """Evidence with the dry-run report, or with the reason there is none."""
        ...


@dataclass
class SandboxChecks:
    """The real checks: :func:`opsgen.validators.lint_text` and :func:`opsgen.sandbox.dryrun`.

    Args:
        image: sandbox image ("" for the default).
        timeout: wall-clock limit of each run, in seconds.
        twice: run twice, for the idempotence verdict.
    """

    image: str = ""
    timeout: float = DEFAULT_TIMEOUT
    twice: bool = True
    unavailable: str = ""  # set once the engine is known to be missing: later runs skip it

    def lint(
        self, script: str, lang: str, path: str, *, request: str, source: str
    ) -> tuple[Finding, ...]:
        """Every lint finding, with the runbook as provenance (enables OPS501/OPS502)."""
        from opsgen.validators import Provenance

        return lint_findings(
            script, lang, path, provenance=Provenance(request=request, sources=(source,))
        )

    def dryrun(
        self, script: str, lang: str, findings: tuple[Finding, ...], progress: Progress
    ) -> Evidence:
        """Dry-run in a fresh container; "could not run" is evidence, not an exception."""
        if self.unavailable:
            return Evidence(findings, None, "", f"dry-run could not run: {self.unavailable}")
        sandbox = importlib.import_module("opsgen.sandbox")
        options: dict[str, Any] = {"timeout": self.timeout, "twice": self.twice}
        if self.image:
            options["image"] = self.image
        try:
            report = sandbox.dryrun(script, lang, sandbox.DryRunOptions(**options),
                                    progress=progress)  # fmt: skip
        except (SandboxError, InputError) as exc:
            if isinstance(exc, SandboxError) and exc.reference in (
                "docker-unavailable",
                "image-missing",
            ):
                self.unavailable = exc.message
            return Evidence(findings, None, "", f"dry-run could not run: {exc.message}")
        except OpsError as exc:
            return Evidence(findings, None, "", f"dry-run could not run: {exc.message}")
        return Evidence(findings, report.to_dict(), str(report.image_id), "")
