"""ansible-lint (production profile, offline): its findings keep their rule ids.

It runs where the syntax check runs, in the artifact's sandbox, never on this host, and
reads the same Jinja-neutralized copy (see :mod:`.ansible`), so its own Jinja rules
(``jinja[spacing]``, ``jinja[invalid]``) cannot fire: safety first.
"""

from __future__ import annotations

import json
from typing import Any

from opsgen.findings import Finding, Location, Severity
from opsgen.validators.adapters.ansible import (
    INPUTS,
    contained_batch,
    lint_target,
    target_name,
)
from opsgen.validators.artifact import Artifact
from opsgen.validators.isolation import CONTAINED_WORKDIR
from opsgen.validators.tools import ContainedJob, Job

__all__ = ["ansible_lint_findings", "ansible_lint_job"]

_SEVERITY = {"blocker": Severity.ERROR, "critical": Severity.ERROR, "major": Severity.ERROR,
             "minor": Severity.WARNING, "info": Severity.INFO}
#: reported by our own YAML parse (OPS003) and syntax check (OPS004): not twice
_OURS = ("syntax-check", "load-failure")


def ansible_lint_job(art: Artifact) -> Job:
    """``ansible-lint --offline --profile production -f json`` on the written file."""
    target = lint_target(art)
    argv = ["ansible-lint", "--offline", "--profile", "production", "-f", "json",
            "--nocolor", "--project-dir", CONTAINED_WORKDIR, target]
    return ContainedJob("ansible-lint", argv, batch=contained_batch(art), timeout=120,
                        ok_codes=(0, 2), inputs=INPUTS)


def ansible_lint_findings(art: Artifact) -> list[Finding]:
    """ansible-lint's issues as findings (none when it could not run: see OPS005)."""
    res = art.job(ansible_lint_job).result()
    if res.run.status != "ok":
        return []
    try:
        issues = json.loads(res.stdout or "[]")
    except json.JSONDecodeError:
        return []
    target = target_name(art)
    return [_finding(art, i) for i in issues if isinstance(i, dict) and not _ours(i)
            and str(i.get("location", {}).get("path", "")).endswith(target)]


def _ours(issue: dict[str, Any]) -> bool:
    """Issues our own YAML load and syntax check already report."""
    check = str(issue.get("check_name", ""))
    return check.split("[")[0] in _OURS or (
        check == "internal-error" and "syntax-check" in str(issue.get("description", "")))


def _finding(art: Artifact, issue: dict[str, Any]) -> Finding:
    loc = issue.get("location", {})
    begin = loc.get("positions", {}).get("begin", {})
    line = begin.get("line") or loc.get("lines", {}).get("begin", 0)
    return Finding(
        code=str(issue.get("check_name", "ansible-lint")),
        severity=_SEVERITY.get(str(issue.get("severity")), Severity.WARNING),
        message=str(issue.get("description", "")),
        location=Location(art.path, int(line or 0), int(begin.get("column") or 0)),
        source="ansible-lint",
        hint=f"See {issue['url']}" if issue.get("url") else "",
        url=str(issue.get("url", "")),
    )
