"""``bash -n``: bash's own parser, the final word on syntax."""

from __future__ import annotations

import re

from opsgen.validators.artifact import Artifact
from opsgen.validators.tools import Job, tool_path

__all__ = ["bash_syntax_errors", "bash_syntax_job"]

_LINE = re.compile(r"^[^:]*: line (\d+): (.*)$")


def bash_syntax_job(art: Artifact) -> Job:
    """``bash -n script.sh``: parses, never runs (and sources no ``BASH_ENV``: clean env)."""
    script = art.write("script.sh")
    argv = [tool_path("bash"), "-n", script.name]
    return Job("bash -n", argv, cwd=art.workdir, env=art.env, timeout=10,
               ok_codes=(0, 1, 2), inputs=(script.name,))


def bash_syntax_errors(art: Artifact) -> list[tuple[int, str]]:
    """(line, message) for each syntax error or warning bash reports."""
    res = art.job(bash_syntax_job).result()
    if res.run.status != "ok" or (res.returncode == 0 and not res.stderr.strip()):
        return []
    out: list[tuple[int, str]] = []
    for text in res.stderr.splitlines():
        m = _LINE.match(text)
        if m and not m.group(2).startswith("`"):  # the second line only quotes the code
            out.append((int(m.group(1)), m.group(2)))
    return out
