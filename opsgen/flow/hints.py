"""Fix hints for run failures whose cause is well known.

A small model told only "no crontab for root" tends to rewrite the same ``crontab -l``
pipeline three times. Our lint rules already carry a fix hint each; this table does the
same for the few runtime failures that generated scripts keep hitting in the sandbox, keyed
by what the run printed (or, for a silent failure, the command the trace named). Only the
first matching hint is added, so a repair prompt stays one short line per problem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from opsgen.flow.problems import Problem

__all__ = ["HINTS", "Hint", "with_hints"]


@dataclass(frozen=True, slots=True)
class Hint:
    """One known failure: a stable name, what identifies it, and how to fix the script."""

    name: str
    pattern: re.Pattern[str]
    fix: str


HINTS: tuple[Hint, ...] = (
    Hint(
        "no-crontab",
        re.compile(r"no crontab for|`crontab -l[^`]*`"),
        "`crontab -l` fails when the user has no crontab yet; install the job as a whole "
        "file instead: write /etc/cron.d/NAME with `0 3 * * * root COMMAND` (no crontab "
        "command at all), which is also idempotent.",
    ),
    Hint(
        "interactive-editor",
        re.compile(
            r"not (?:to|from) a terminal|sensible-editor|`(?:crontab -e|visudo|vim?|nano)\b"
        ),
        "the script runs with no terminal, so an editor cannot be used: write files "
        "directly (`cat > FILE <<'EOF'` ... `EOF`, or printf).",
    ),
    Hint(
        "find-lost-path",
        re.compile(r"find: [^|]*No such file or directory"),
        "find names a path that is not there: the start folder does not exist (use the "
        "path the request names), or `-exec rm`/`-exec rmdir` removed a folder before find "
        "descended into it (use `-delete`, which works depth-first).",
    ),
    Hint(
        "apt-unknown-package",
        re.compile(r"Unable to locate package|has no installation candidate"),
        "run `apt-get update` before `apt-get install -y`, and use the Debian bookworm "
        "package name.",
    ),
    Hint(
        "command-not-found",
        re.compile(r"command not found"),
        "install the Debian package that provides the command first "
        "(`DEBIAN_FRONTEND=noninteractive apt-get install -y PACKAGE`), or use a command "
        "Debian bookworm has.",
    ),
    Hint(
        "unbound-variable",
        re.compile(r"unbound variable"),
        "set -u stops at a variable that was never set: assign it first or write "
        '"${NAME:-default}".',
    ),
    Hint(
        "already-exists",
        re.compile(r"already exists|File exists"),
        "the script creates something that is already there on the second run: check "
        "first (`id -u NAME`, `getent group NAME`) or use the idempotent form "
        "(`mkdir -p`, `ln -sfn`).",
    ),
    Hint(
        "grep-no-match",
        re.compile(r"`grep (?:-\w+ )*-\w*q"),
        "grep exits 1 when nothing matches, which stops a set -e script: use it as an "
        "`if` condition (`if ! grep -q ...; then ... fi`).",
    ),
)


def with_hints(problems: list[Problem]) -> list[Problem]:
    """The problems, each failed run given the fix hint of the first known failure it shows."""
    out = []
    for problem in problems:
        if problem.kind == "run" and " Fix: " not in problem.message:
            for hint in HINTS:
                if hint.pattern.search(problem.message):
                    problem = Problem(
                        problem.kind, problem.code, f"{problem.message} Fix: {hint.fix}",
                        problem.line,
                    )
                    break
        out.append(problem)
    return out
