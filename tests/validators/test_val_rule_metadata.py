"""The catalogue's own invariants (ansible-lint's test_rule_properties): codes are unique and
in their range, metadata is complete, and every code has its committed documentation page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from opsgen.findings import Severity
from opsgen.sandbox.outcomes import OUTCOMES
from opsgen.validators import RULES, Rule, get_rule
from opsgen.validators.catalogue import render_markdown

DOCS = Path(__file__).resolve().parents[2] / "docs" / "rules"
#: produced from the tools' run records, not from file text (tested in test_val_api.py)
NO_TEXT_EXAMPLES = {"OPS005"}


def test_codes_are_unique_and_sorted() -> None:
    codes = [r.code for r in RULES]
    assert len(codes) == len(set(codes))
    assert codes == sorted(codes)
    assert len({r.name for r in RULES}) == len(RULES)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_metadata_is_complete(rule: type[Rule]) -> None:
    assert re.fullmatch(r"OPS[0-356]\d\d", rule.code), "OPS4xx belongs to the sandbox"
    assert re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", rule.name)
    assert isinstance(rule.severity, Severity) and rule.severity in (Severity.ERROR,
                                                                     Severity.WARNING)
    assert rule.summary.endswith(".") and "\n" not in rule.summary
    assert rule.hint and rule.rationale and rule.tags
    assert set(rule.langs) <= {"bash", "ansible"} and rule.langs
    if rule.code[:4] == "OPS1":
        assert "bash" in rule.langs
    if rule.code[:4] == "OPS2":
        assert rule.langs == ("ansible",)
    if rule.code[:4] == "OPS6":  # scenario text: bash, and its examples are scenario parts
        assert rule.langs == ("bash",) and rule.example_part == "check"
        assert any(e.part for e in rule.examples(True))
        assert any(not e.part for e in rule.examples(False)), "show it ignores scripts"
    if rule.code not in NO_TEXT_EXAMPLES:
        assert rule.examples(True) and rule.examples(False), "needs bad and good examples"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_doc_page_is_committed_and_current(rule: type[Rule]) -> None:
    page = DOCS / f"{rule.code}.md"
    assert page.is_file(), "run: opsgen rules --write-docs docs/rules"
    text = page.read_text(encoding="utf-8")
    assert text == render_markdown(rule), "stale page; run: opsgen rules --write-docs docs/rules"
    for heading in ("## Rationale", "## Fix", "## Exceptions"):
        assert heading in text
    if rule.code not in NO_TEXT_EXAMPLES:
        assert "## Problematic code" in text and "## Correct code" in text
    assert f"disable={rule.code} reason=" in text


def test_outcome_codes_have_pages_too() -> None:
    for o in OUTCOMES:
        assert (DOCS / f"{o.code}.md").read_text(encoding="utf-8").startswith(f"# {o.code}: ")


def test_no_stray_doc_pages() -> None:
    known = {r.code for r in RULES} | {o.code for o in OUTCOMES}
    assert {p.stem for p in DOCS.glob("*.md")} == known


def test_get_rule() -> None:
    assert get_rule("OPS101").name == "pipe-to-shell"
    assert get_rule("ops107").code == "OPS107"
    with pytest.raises(KeyError):
        get_rule("OPS999")
