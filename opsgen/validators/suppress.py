"""Inline suppressions: ``# opsgen: disable=OPS103 reason="..."``, as shellcheck does it.

A directive names the codes it silences and must give a reason; one without a reason is
ignored and reported (OPS001), because an unexplained suppression cannot be reviewed.
Suppressed findings stay in the report, marked, with their reason (style.md §7.5).

Scope, like ``# shellcheck disable=`` directives: a directive at the end of a line covers
that line; on a line of its own it covers the next statement (its continuation lines and
every more-indented line under it, so a whole ``if`` block or Ansible task);
``disable-file=`` covers the whole file. ``# ops:`` is accepted as a short prefix.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from opsgen.findings import Finding

__all__ = ["Directive", "DirectiveProblem", "apply_suppressions", "parse_directives"]

_DIRECTIVE = re.compile(
    r"#\s*(?:opsgen|ops)\s*:\s*(?P<kind>disable(?:-file)?)\s*=\s*(?P<codes>[^\s]*)(?P<rest>.*)$"
)
_REASON = re.compile(r"""reason\s*=\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>.*))""")
_CODE = re.compile(r"OPS\d{3}|SC\d{4}|[a-z][a-z0-9-]*(\[[^\]]+\])?")
_OPS_CODE = re.compile(r"OPS\d{3}")


@dataclass(frozen=True, slots=True)
class Directive:
    """One valid suppression: codes, the reason, and the lines it covers (inclusive)."""

    codes: frozenset[str]
    reason: str
    line: int
    first: int
    last: int  # 0 = to the end of the file


@dataclass(frozen=True, slots=True)
class DirectiveProblem:
    """A directive that cannot be honoured, and why (reported as OPS001)."""

    line: int
    col: int
    message: str


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _scope(lines: list[str], at: int) -> tuple[int, int]:
    """Lines covered by an own-line directive on line ``at`` (1-based)."""
    n = at
    while n < len(lines) and (not lines[n].strip() or lines[n].lstrip().startswith("#")):
        n += 1
    if n >= len(lines):
        return at, at
    first = last = n + 1
    base = _indent(lines[n])
    while last < len(lines):
        prev, nxt = lines[last - 1], lines[last]
        if prev.rstrip().endswith("\\") or (nxt.strip() and _indent(nxt) > base) or (
            not nxt.strip() and last + 1 < len(lines) and _indent(lines[last + 1]) > base
        ):
            last += 1
        else:
            break
    return first, last


def parse_directives(
    lines: list[str], known: frozenset[str]
) -> tuple[list[Directive], list[DirectiveProblem]]:
    """Find the directives in ``lines``; ``known`` are the OPS codes that exist."""
    found: list[Directive] = []
    problems: list[DirectiveProblem] = []
    for i, text in enumerate(lines, start=1):
        m = _DIRECTIVE.search(text)
        if m is None:
            continue
        codes = frozenset(c for c in m.group("codes").split(",") if c)
        r = _REASON.search(m.group("rest"))
        reason = ((r.group("dq") or r.group("sq") or r.group("bare") or "") if r else "").strip()
        bad = sorted(c for c in codes if c == "all" or not _CODE.fullmatch(c)
                     or (_OPS_CODE.fullmatch(c) and c not in known))
        col = m.start() + 1
        if not codes or bad:
            what = ", ".join(bad) if bad else "nothing"
            problems.append(DirectiveProblem(i, col, f"The suppression names {what}: give the "
                                             "exact codes to disable (no 'all')."))
            continue
        if not reason:
            problems.append(DirectiveProblem(i, col, "The suppression has no reason=...: it is "
                                             "ignored until it says why."))
            continue
        if m.group("kind") == "disable-file":
            first, last = 1, 0
        elif text[: m.start()].strip():
            first = last = i
        else:
            first, last = _scope(lines, i)
        found.append(Directive(codes, reason, i, first, last))
    return found, problems


def apply_suppressions(findings: list[Finding], directives: list[Directive]) -> list[Finding]:
    """Mark each finding a directive covers as suppressed, with the directive's reason."""
    out: list[Finding] = []
    for f in findings:
        line = f.location.line
        hit = next((d for d in directives if f.code in d.codes and (
            (d.last == 0) or (line and d.first <= line <= d.last))), None)
        out.append(dataclasses.replace(f, suppressed=True, suppression_reason=hit.reason)
                   if hit else f)
    return out
