"""Find the command that failed silently, so the model is told more than "exit 1".

Under ``set -e`` a script stops at the first failing command; when that command's errors
went to /dev/null (``crontab -l 2>/dev/null`` without a crontab, ``grep -q`` without a
match) the dry-run shows an exit status and nothing else, and a small model cannot guess
which line to fix. The loop then dry-runs an *instrumented copy* once more, with an ERR
trap that names the line and command. The copy is only a diagnostic: the evidence kept
for review is always the run of the unmodified script.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["TraceHit", "instrument", "parse_trace"]

_MARK = "opsgen-trace"
# One inserted line (so every later line shifts by exactly one); set -E makes functions
# and subshells inherit the trap.
_TRAP = f"""set -E; trap 'echo "{_MARK}: line $LINENO: exit $?: $BASH_COMMAND" >&2' ERR"""
_HIT = re.compile(rf"^{_MARK}: line (\d+): exit (\d+): (.*)$", re.M)


@dataclass(frozen=True, slots=True)
class TraceHit:
    """The first failing command: its line in the *original* script, status and text."""

    line: int
    exit_code: int
    command: str


def instrument(script: str) -> str:
    """The script with the ERR trap inserted after the shebang (or at the top)."""
    lines = script.splitlines()
    at = 1 if lines and lines[0].startswith("#!") else 0
    return "\n".join([*lines[:at], _TRAP, *lines[at:]]) + "\n"


def parse_trace(stderr: str, script: str) -> TraceHit | None:
    """The first trap report in ``stderr``, mapped back to the original line numbers."""
    match = _HIT.search(stderr)
    if match is None:
        return None
    shifted = int(match.group(1))
    at = 1 if script.startswith("#!") else 0
    line = shifted - 1 if shifted > at else shifted
    return TraceHit(line, int(match.group(2)), match.group(3).strip()[:200])
