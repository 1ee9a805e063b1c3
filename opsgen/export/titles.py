"""Test titles from check names: the names are untrusted text (a model's, an operator's).

A title lands in a ``@test "..."`` line of a bats file and in a task name of a Molecule
playbook; both are shown in CI logs. So it is one line without control or bidi characters,
and distinct from the others (a test runner may refuse two tests of one name).
"""

from __future__ import annotations

import unicodedata

from opsgen.scenario import Check

__all__ = ["display_name", "titles"]


def display_name(name: str) -> str:
    """A check's name as a test title: one line, no control or bidi characters (``?``)."""
    cleaned = "".join(
        "?" if unicodedata.category(c) in {"Cc", "Cf", "Zl", "Zp"} and not c.isspace() else c
        for c in name
    )
    return " ".join(cleaned.split())[:200]


def titles(checks: tuple[Check, ...]) -> list[str]:
    """One distinct title per check (``check: NAME``, `` (2)`` on a repeated name)."""
    used: set[str] = set()
    out: list[str] = []
    for check in checks:
        base = "check: " + (display_name(check.name) or display_name(check.run))
        title, n = base, 1
        while title in used:
            n += 1
            title = f"{base} ({n})"
        used.add(title)
        out.append(title)
    return out
