"""One table-driven test over every rule's own examples (shellcheck's
prop_verifyOptionalExamples): each bad example must fire the rule, each good one must not."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from opsgen.validators import RULES, Example, Rule

CASES = [
    pytest.param(rule, ex, bad, id=f"{rule.code}-{'bad' if bad else 'good'}-{i}")
    for rule in RULES
    for bad in (True, False)
    for i, ex in enumerate(rule.examples(bad))
]


@pytest.mark.parametrize(("rule", "example", "bad"), CASES)
def test_rule_example(rule: type[Rule], example: Example, bad: bool,
                      run_rule: Callable[..., list]) -> None:
    found = run_rule(rule, example.text, example.lang, provenance=example.provenance,
                     part=example.part)
    if bad:
        assert found, f"{rule.code} did not fire on its bad example:\n{example.text}"
        assert all(f.severity is rule.severity and f.location.line >= 1 for f in found)
    else:
        assert not found, f"{rule.code} fired on its good example:\n{example.text}\n{found}"
