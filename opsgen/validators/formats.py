"""Machine-readable reports: opsgen JSON and SARIF 2.1.0 (for GitHub code scanning).

Both are built from the findings alone, which are already redacted, so no secret can reach
them. SARIF notes: levels are error/warning/note; suppressed findings carry an ``inSource``
suppression with the directive's reason; ``helpUri`` is only set for absolute URLs (the
wrapped tools' pages), opsgen's own rules carry their help text instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from opsgen import __version__
from opsgen.findings import Finding, Severity
from opsgen.validators.report import LintReport
from opsgen.validators.rules import RULE_CODES, get_rule

__all__ = ["SARIF_SCHEMA", "json_document", "sarif_document"]

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note",
          Severity.STYLE: "note"}


def json_document(reports: Sequence[LintReport]) -> dict[str, Any]:
    """opsgen's JSON: one entry per file plus totals."""
    return {
        "tool": "opsgen",
        "version": __version__,
        "files": [r.to_dict() for r in reports],
        "summary": {
            "files": len(reports),
            "errors": sum(len(r.errors) for r in reports),
            "warnings": sum(len(r.warnings) for r in reports),
            "suppressed": sum(len(r.suppressed) for r in reports),
            "ok": all(r.ok for r in reports),
        },
    }


def _uri(path: str) -> str:
    p = Path(path)
    if p.is_absolute():
        try:
            p = p.relative_to(Path.cwd())
        except ValueError:
            return p.as_uri()
    return quote(p.as_posix(), safe="/")


def _rule(code: str, example: Finding) -> dict[str, Any]:
    if code in RULE_CODES:
        rule = get_rule(code)
        text = f"{rule.summary}\n\n{rule.rationale}\n\nFix: {rule.hint}"
        return {
            "id": code, "name": rule.name,
            "shortDescription": {"text": rule.summary},
            "fullDescription": {"text": rule.rationale},
            "help": {"text": text, "markdown": text},
            "defaultConfiguration": {"level": _LEVEL[rule.severity]},
            "properties": {"tags": list(rule.tags), "source": rule.source},
        }
    entry: dict[str, Any] = {
        "id": code,
        "shortDescription": {"text": example.message or code},
        "defaultConfiguration": {"level": _LEVEL[example.severity]},
        "properties": {"source": example.source},
    }
    if example.url.startswith(("https://", "http://")):
        entry["helpUri"] = example.url
    return entry


def _result(f: Finding, index: int) -> dict[str, Any]:
    loc = f.location
    region: dict[str, int] = {"startLine": max(loc.line, 1)}
    if loc.column:
        region["startColumn"] = loc.column
    if loc.end_line >= loc.line and loc.end_line:
        region["endLine"] = loc.end_line
        if loc.end_column:
            region["endColumn"] = loc.end_column
    message = f.message + (f" Hint: {f.hint}" if f.hint and f.source == "ops" else "")
    result: dict[str, Any] = {
        "ruleId": f.code,
        "ruleIndex": index,
        "level": _LEVEL[f.severity],
        "message": {"text": message},
        "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": _uri(loc.path)}, "region": region}}],
        "properties": {"source": f.source},
    }
    if f.suppressed:
        result["suppressions"] = [{"kind": "inSource", "justification": f.suppression_reason}]
    return result


def sarif_document(reports: Sequence[LintReport]) -> dict[str, Any]:
    """A SARIF 2.1.0 log with one run, the rules that fired, and every finding."""
    findings = [f for r in reports for f in r.findings]
    order: dict[str, int] = {}
    rules: list[dict[str, Any]] = []
    for f in findings:
        if f.code not in order:
            order[f.code] = len(rules)
            rules.append(_rule(f.code, f))
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "opsgen",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": rules,
            }},
            "results": [_result(f, order[f.code]) for f in findings],
            "columnKind": "unicodeCodePoints",
        }],
    }
