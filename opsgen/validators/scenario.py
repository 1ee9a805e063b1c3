"""Lint a scenario like a script: its prepare and each check, plus the OPS6xx rules.

A scenario's text is data (the operator's, or the model's, which read the untrusted
request), and it runs as root in the dry-run container. So it gets the lint a script gets:
``bash -n``, shellcheck and opsgen's OPS rules on the prepare script and on each check,
and the scenario rules (:mod:`opsgen.validators.rules.scenario`: network, host paths,
opsgen's own runner). Each finding's location names the part: ``scenario:prepare`` with
the prepare's line, ``scenario:check 'NAME'`` (line 1: a check is one line).

Two differences from a script's lint, both because a scenario is evidence, not a change:

- a suppression comment in scenario text does not count ("a check cannot switch anything
  off"): every finding stays active, and says the comment was ignored;
- a check is one assertion, not a program, so what only makes sense for a whole script
  (strict mode, a shebang) is not asked of it.
"""

from __future__ import annotations

import dataclasses

from opsgen.findings import Finding, Location
from opsgen.scenario import Scenario, check_location, prepare_location
from opsgen.validators.api import lint_text

__all__ = ["SCRIPT_ONLY", "lint_scenario"]

#: codes that ask something of a whole script, not of a one-line check
SCRIPT_ONLY = frozenset({"OPS114", "SC2148"})
_IGNORED = " (a suppression comment in scenario text does not count)"


def lint_scenario(scenario: Scenario, *, cache: bool = True) -> tuple[Finding, ...]:
    """Every finding in ``scenario``'s text, the prepare's first, then each check's.

    Args:
        scenario: the prepare script and the checks.
        cache: reuse shellcheck's and ``bash -n``'s answers for identical text.
    """
    found: list[Finding] = []
    if scenario.prepare.strip():
        found += _lint_part(scenario.prepare, prepare_location(), "prepare", cache)
    for check in scenario.checks:
        found += _lint_part(check.run, check_location(check.name), "check", cache)
    return tuple(found)


def _lint_part(text: str, where: str, part: str, cache: bool) -> list[Finding]:
    report = lint_text(text, "bash", where, ansible_lint=False, cache=cache, part=part)
    return [_active(f, where) for f in report.findings
            if not (part == "check" and f.code in SCRIPT_ONLY)]


def _active(finding: Finding, where: str) -> Finding:
    """The finding unsuppressed, pointing at ``where`` (a tool may name its temp file)."""
    location = Location(where, finding.location.line, finding.location.column,
                        finding.location.end_line, finding.location.end_column)
    if not finding.suppressed:
        return dataclasses.replace(finding, location=location)
    return dataclasses.replace(finding, location=location, suppressed=False,
                               suppression_reason="", message=finding.message + _IGNORED)
