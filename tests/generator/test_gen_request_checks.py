"""The repair loop with the checks read from the request's words (the default)."""

from __future__ import annotations

from fakes import FakeLint, ScenarioDry

from opsgen.flow.loop import run_loop
from opsgen.generator.llm import FakeLLM
from opsgen.scenario import Check

REQUEST = "Create a system user metrics with its home in /srv/metrics"
WRONG_HOME = "```bash\n#!/usr/bin/env bash\nset -euo pipefail\nuseradd --system -m metrics\n```"
RIGHT_HOME = ("```bash\n#!/usr/bin/env bash\nset -euo pipefail\n"
              "useradd --system -m -d /srv/metrics metrics\n```")


def _lint(script: str, lang: str) -> FakeLint:
    return FakeLint()


def _sandbox(script: str, check: Check) -> tuple[int, int]:
    """As far as these checks go: -d sets the home, --system a low uid."""
    if check.name.startswith("home of metrics"):
        return 1, 0 if "-d /srv/metrics" in script else 1
    return 1, 0 if "--system" in script else 1


def test_a_wrong_home_is_caught_by_the_requests_own_words_and_repaired() -> None:
    llm = FakeLLM([WRONG_HOME, RIGHT_HOME])
    dry = ScenarioDry(_sandbox)
    result = run_loop(REQUEST, "bash", llm, lint=_lint, dryrun=dry)
    assert result.status == "vetted"
    assert "-d /srv/metrics" in (result.final.script or "")
    first = result.attempts[0]
    assert any("home of metrics is /srv/metrics" in p.message for p in first.problems)
    assert {c.source for c in result.checks} == {"request"}
    assert result.scenario is not None
    assert [c.name for c in result.scenario.derived.checks] == [
        "home of metrics is /srv/metrics", "metrics is a system user (uid below 1000)"]
    assert all(call[1] is not None for call in dry.calls)  # every dry-run had the checks


def test_without_request_checks_the_wrong_home_only_runs_clean() -> None:
    llm = FakeLLM([WRONG_HOME, RIGHT_HOME])
    dry = ScenarioDry(_sandbox)
    result = run_loop(REQUEST, "bash", llm, lint=_lint, dryrun=dry, request_checks=False)
    assert result.status == "runs-clean" and "useradd --system -m metrics" in result.final.script
    assert result.verdict.endswith("no checks")
    assert all(call[1] is None for call in dry.calls)


def test_without_the_dryrun_nothing_is_derived() -> None:
    result = run_loop(REQUEST, "bash", FakeLLM([RIGHT_HOME]), lint=_lint, dryrun=None)
    assert result.status == "unverified" and result.checks == ()
