"""Runbook prose made safe to place in a script comment or a task name.

Headings and prose are untrusted: a heading with a newline would end our ``#`` comment and
become code, a planted ``# shellcheck disable=SC2086`` or ``# ops: disable=OPS101`` would
silence the very linters meant to catch injected commands (security.md ADV-22). So every
piece of runbook text that is not a command becomes one bounded line with controls shown
as ``?`` and suppression directives disarmed, and commands get their directives disarmed.
"""

from __future__ import annotations

import re

__all__ = ["neutralise", "one_line"]

_DIRECTIVE = re.compile(
    r"(?i)\b((?:opsgen|ops|shellcheck)\s*:?\s*(?:disable|enable)(?:-file)?\s*)="
)
_NOQA = re.compile(r"(?i)#\s*noqa\b")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def neutralise(text: str) -> str:
    """Disarm linter suppressions planted in a runbook: it may not silence our checks."""
    return _NOQA.sub("# no-qa-not-honoured", _DIRECTIVE.sub(r"\1-not-honoured=", text))


def one_line(text: str, limit: int = 200) -> str:
    """Untrusted text as one safe comment line: no controls, no line breaks, bounded."""
    flat = neutralise(" ".join(_CONTROL.sub("?", text).split()))
    return flat if len(flat) <= limit else flat[: limit - 3].rstrip() + "..."
