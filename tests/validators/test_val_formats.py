"""JSON and SARIF output: the structure GitHub code scanning needs, secrets never present."""

from __future__ import annotations

import json
import re
from typing import Any

from opsgen.validators import lint_text
from opsgen.validators.formats import SARIF_SCHEMA, json_document, sarif_document

SCRIPT = ("#!/bin/bash\nexport GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789\n"
          "curl -s https://x.invalid/i | sh\necho $1\n"
          'chmod 777 /srv/x  # opsgen: disable=OPS103 reason="scratch folder"\n')


def check_sarif(doc: dict[str, Any]) -> None:
    """What GitHub code scanning requires of an upload (SARIF 2.1.0 subset)."""
    assert doc["version"] == "2.1.0" and doc["$schema"] == SARIF_SCHEMA
    assert isinstance(doc["runs"], list) and doc["runs"]
    for run in doc["runs"]:
        driver = run["tool"]["driver"]
        assert driver["name"] and isinstance(driver["rules"], list)
        ids = [r["id"] for r in driver["rules"]]
        assert len(ids) == len(set(ids))
        for rule in driver["rules"]:
            assert rule["shortDescription"]["text"]
            assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note", "none")
            if "helpUri" in rule:
                assert re.match(r"https?://", rule["helpUri"])
        for res in run["results"]:
            assert res["ruleId"] in ids and ids[res["ruleIndex"]] == res["ruleId"]
            assert res["level"] in ("error", "warning", "note", "none")
            assert res["message"]["text"]
            (loc,) = res["locations"]
            phys = loc["physicalLocation"]
            assert phys["artifactLocation"]["uri"] and " " not in phys["artifactLocation"]["uri"]
            region = phys["region"]
            assert isinstance(region["startLine"], int) and region["startLine"] >= 1
            assert region.get("startColumn", 1) >= 1
            for s in res.get("suppressions", []):
                assert s["kind"] in ("inSource", "external") and s["justification"]


def test_sarif_structure_and_content() -> None:
    report = lint_text(SCRIPT, "bash", "scripts/deploy me.sh", ansible_lint=False)
    doc = sarif_document([report])
    check_sarif(doc)
    results = doc["runs"][0]["results"]
    by_rule = {r["ruleId"]: r for r in results}
    assert by_rule["OPS101"]["level"] == "error"
    assert by_rule["SC2086"]["level"] == "note"
    assert by_rule["OPS103"]["suppressions"][0]["justification"] == "scratch folder"
    uri = by_rule["OPS101"]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "scripts/deploy%20me.sh"
    rules = {r["id"]: r for r in doc["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["SC2086"]["helpUri"] == "https://www.shellcheck.net/wiki/SC2086"
    assert rules["OPS101"]["name"] == "pipe-to-shell" and "help" in rules["OPS101"]
    assert len(results) == len(report.findings)


def test_sarif_with_unknown_positions_and_several_files() -> None:
    a = lint_text("- hosts: all\n  tasks: [\n", "ansible", "/abs/outside/p.yml")
    b = lint_text("rm -rf /\n", "bash", "b.sh")
    doc = sarif_document([a, b])
    check_sarif(doc)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in doc["runs"][0]["results"]}
    assert uris == {"file:///abs/outside/p.yml", "b.sh"}


def test_empty_sarif_is_valid() -> None:
    check_sarif(sarif_document([]))


def test_json_document_and_redaction() -> None:
    report = lint_text(SCRIPT, "bash", "d.sh", ansible_lint=False)
    doc = json_document([report])
    text = json.dumps(doc) + json.dumps(sarif_document([report]))
    assert "ghp_abcdefghijklmnopqrstuvwxyz0123456789" not in text
    assert "ghp_" not in text
    assert doc["summary"] == {"files": 1, "errors": 2, "warnings": 1, "suppressed": 1,
                              "ok": False}
    (f,) = [f for f in doc["files"][0]["findings"] if f["code"] == "OPS302"]
    assert f["severity"] == "error" and f["source"] == "detect-secrets"
    assert f["location"] == {"path": "d.sh", "line": 2, "column": 21, "end_line": 0,
                             "end_column": 0}
