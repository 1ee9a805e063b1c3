"""``opsgen new`` with a scenario: --given, --expect, --scenario, --no-model-scenario.

The model is the OpenAI-compatible stub; the dry-run is a fake that takes the scenario
(tests/generator/fakes.ScenarioDry), so no Docker is needed, except for the one end-to-end
test marked ``docker``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "generator"))
from fakes import ScenarioDry
from openai_stub import serve

from opsgen.cli import main
from opsgen.scenario import Check

SCENARIO = """```yaml
prepare: ""
checks:
  - name: user metrics exists
    run: id -u metrics
  - name: home is /srv/metrics
    run: test "$(getent passwd metrics | cut -d':' -f6)" = /srv/metrics
```"""
_USERADD = (
    "```bash\n#!/usr/bin/env bash\nset -euo pipefail\n# Add the user once.\n"
    "if ! id -u metrics >/dev/null 2>&1; then\n  useradd {}metrics\nfi\n```"
)
WRONG = _USERADD.format("-m ")  # runs cleanly, twice: but the home is /home/metrics
RIGHT = _USERADD.format("-m -d /srv/metrics ")
REQUEST = "create a user metrics with its home in /srv/metrics"


def _is_scenario(body: dict[str, Any]) -> bool:
    return "acceptance checks" in body["messages"][0]["content"]


@pytest.fixture(autouse=True)
def workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("OPSGEN_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.setenv("OPSGEN_USER", "tester")
    return tmp_path / "ws"


@pytest.fixture()
def model(monkeypatch):
    """Start the stub: scenario prompts get ``scenario``, generation prompts ``scripts``."""
    started: list[Any] = []

    def start(scripts: list[str], scenario: str = SCENARIO):
        count = {"n": 0}

        def answer(body: dict[str, Any]) -> str:
            if _is_scenario(body):
                return scenario
            count["n"] += 1
            return scripts[min(count["n"], len(scripts)) - 1]

        ctx = serve(answer)
        stub = ctx.__enter__()
        started.append(ctx)
        monkeypatch.setenv("OPSGEN_BACKEND", "openai")
        monkeypatch.setenv("OPSGEN_OPENAI_BASE_URL", stub.base_url)
        monkeypatch.setenv("OPSGEN_OPENAI_MODEL", "stub")
        return stub

    yield start
    for ctx in started:
        ctx.__exit__(None, None, None)


def _holds(script: str, check: Check) -> tuple[int, int]:
    if "getent" in check.run or "/srv/metrics" in check.run:
        return 1, 0 if "/srv/metrics" in script else 1
    return 1, 0 if "useradd" in script else 1


@pytest.fixture()
def sandbox(monkeypatch) -> ScenarioDry:
    """The dry-run the CLI gets: a fake that prepares nothing and answers the checks."""
    dry = ScenarioDry(_holds)
    monkeypatch.setattr("opsgen.flow.new.make_dryrun", lambda image=None: dry)
    return dry


def run_json(capsys, *args: str) -> tuple[int, dict]:
    """``opsgen new --json`` with the model's scenario (this file's subject) and without
    the checks read from the request (unless the test asks for them)."""
    wanted = [] if "--no-model-scenario" in args else ["--model-scenario"]
    if "--request-checks" not in args:
        wanted.append("--no-request-checks")
    code = main(["new", *args, *wanted, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_the_models_checks_catch_a_wrong_home_and_the_json_shows_them(model, sandbox, capsys):
    stub = model([WRONG, RIGHT])
    code, data = run_json(capsys, REQUEST, "--candidates", "1")
    assert code == 0 and data["status"] == "vetted"
    assert data["verdict"] == "runs-clean, 2 of 2 checks passed"
    assert _is_scenario(stub.requests[0]) and not _is_scenario(stub.requests[1])
    assert [c["name"] for c in data["scenario"]["checks"]] == [
        "user metrics exists", "home is /srv/metrics"]
    assert data["scenario"]["sources"] == ["model"] and data["scenario"]["model_asked"]
    assert [(c["before"], c["after"], c["passed"], c["vacuous"], c["disputed"])
            for c in data["checks"]] == [(1, 0, True, False, False)] * 2
    assert data["disputed"] == []
    first = data["attempts"][0]
    assert [p["code"] for p in first["problems"]] == ["OPS411"]
    assert first["checks"][1]["after"] == 1
    assert isinstance(data["id"], int)  # stored as a change


def test_operator_parts_add_to_and_replace_the_models(model, sandbox, capsys, tmp_path):
    given = tmp_path / "given.sh"
    given.write_text("mkdir -p /srv\n")
    scenario = tmp_path / "s.yml"
    scenario.write_text("checks:\n  - name: home is /srv/metrics\n    run: test -d /srv/metrics\n")
    model([RIGHT])
    code, data = run_json(capsys, REQUEST, "--candidates", "1", "--given", str(given),
                          "--scenario", str(scenario), "--expect", "getent passwd metrics")
    assert code == 0
    checks = [(c["name"], c["run"], c["source"]) for c in data["scenario"]["checks"]]
    assert checks == [
        ("user metrics exists", "id -u metrics", "model"),
        ("home is /srv/metrics", "test -d /srv/metrics", "operator"),
        ("getent passwd metrics", "getent passwd metrics", "operator"),
    ]
    assert data["scenario"]["prepare"] == "mkdir -p /srv\n"
    assert data["scenario"]["sources"] == ["model", "operator"]
    (_script, used), = sandbox.calls
    assert used is not None and used.prepare == "mkdir -p /srv\n"


def test_no_model_scenario_uses_only_the_operators(model, sandbox, capsys):
    stub = model([RIGHT])
    code, data = run_json(capsys, REQUEST, "--candidates", "1", "--no-model-scenario",
                          "--expect", "test -d /srv/metrics")
    assert code == 0 and not any(_is_scenario(r) for r in stub.requests)
    assert [c["source"] for c in data["scenario"]["checks"]] == ["operator"]
    assert data["verdict"] == "runs-clean, 1 of 1 checks passed"


def test_the_review_shows_the_checks_and_the_verdict(model, sandbox, capsys):
    model([RIGHT])
    assert main(["new", REQUEST, "--candidates", "1", "--no-store", "--model-scenario",
                 "--no-request-checks"]) == 0
    out = capsys.readouterr().out
    assert "Scenario" in out and "home is /srv/metrics" in out
    assert "vetted" in out and "runs-clean, 2 of 2 checks passed" in out


def test_without_any_check_the_review_says_so(model, sandbox, capsys):
    model([RIGHT], scenario="I would rather not.")
    assert main(["new", REQUEST, "--candidates", "1", "--no-store", "--model-scenario",
                 "--no-request-checks"]) == 0
    out = capsys.readouterr().out
    assert "no checks" in out and "no usable scenario" in out


@pytest.mark.parametrize(("args", "says"), [
    (["--scenario", "{bad}.yml"], "not valid YAML"),
    (["--scenario", "list.yml"], "a scenario is a mapping"),
    (["--expect", ""], "it is empty"),
    (["--expect", "id -u a\nid -u b"], "one line"),
    (["--given", "missing.sh"], "no such file"),
])
def test_bad_scenario_input_is_one_clear_error_and_exit_3(model, capsys, tmp_path, monkeypatch,
                                                          args, says):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "{bad}.yml").write_text("checks: [unclosed\n")
    (tmp_path / "list.yml").write_text("- test -d /srv\n")
    stub = model([RIGHT])
    assert main(["new", REQUEST, *args]) == 3
    err = capsys.readouterr().err
    assert says in err
    assert stub.requests == []  # refused before the model was asked anything


def test_no_dryrun_keeps_the_operators_scenario_unrun(model, capsys):
    stub = model([RIGHT])
    code, data = run_json(capsys, REQUEST, "--no-dryrun", "--expect", "test -d /srv/metrics")
    assert code == 0 and data["status"] == "unverified"
    assert not any(_is_scenario(r) for r in stub.requests)
    assert data["checks"] == [] and len(data["scenario"]["checks"]) == 1
    assert data["verdict"] == "lint-clean, not run (--no-dryrun)"


@pytest.mark.docker
def test_a_wrong_home_is_caught_and_repaired_in_the_real_sandbox(model, capsys, docker_client,
                                                                 no_leaks):
    """FakeLLM-like stub + the real sandbox: the model's check sees the home in /home."""
    stub = model([WRONG, RIGHT])
    code, data = run_json(capsys, REQUEST, "--candidates", "1")
    assert [a["number"] for a in data["attempts"]] == [1, 2]
    first = data["attempts"][0]
    assert [p["code"] for p in first["problems"]] == ["OPS411"]
    assert "home is /srv/metrics" in stub.requests[2]["messages"][-1]["content"]
    assert code == 0 and data["status"] == "vetted"
    home = next(c for c in data["checks"] if c["name"] == "home is /srv/metrics")
    assert home["before"] != 0 and home["after"] == 0
    assert data["dryrun"]["checks"] and data["dryrun"]["vetted"] is True


def test_request_checks_by_default_in_the_json(model, sandbox, capsys):
    """Without --model-scenario the request's own words still give checks (source
    'request'); the model is never asked for a scenario."""
    stub = model([WRONG, RIGHT])
    code, data = run_json(capsys, REQUEST, "--candidates", "1", "--no-model-scenario",
                          "--request-checks")
    assert code == 0 and data["status"] == "vetted"
    assert [(c["name"], c["source"]) for c in data["scenario"]["checks"]] == [
        ("home of metrics is /srv/metrics", "request")]
    assert data["scenario"]["sources"] == ["request"] and not data["scenario"]["model_asked"]
    assert not any(_is_scenario(body) for body in stub.requests)
    assert [p["code"] for p in data["attempts"][0]["problems"]] == ["OPS411"]
