"""Issue 16 in the repair loop: "vetted" means the request's postconditions hold.

FakeLLM answers scenario prompts and generation prompts from two lists; the dry-run is a
fake that answers each check from the script's text (tests/generator/fakes.ScenarioDry).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from fakes import FakeLint, ScenarioDry, checks_of, report

from opsgen.flow.loop import Attempt, Events, LoopResult
from opsgen.flow.loop import run_loop as _run_loop
from opsgen.generator.llm import Completion, FakeLLM, Message
from opsgen.sandbox.models import CheckResult
from opsgen.scenario import Check, Scenario

METRICS_SCENARIO = """```yaml
prepare: ""
checks:
  - name: user metrics exists
    run: id -u metrics
  - name: home is /srv/metrics
    run: test "$(getent passwd metrics | cut -d':' -f6)" = /srv/metrics
```"""
BROKEN_SCENARIO = """```yaml
prepare: |
  mkdir /BROKEN/metrics
checks:
  - name: user metrics exists
    run: id -u metrics
```"""
WRONG_HOME = "```bash\n#!/usr/bin/env bash\nset -euo pipefail\nuseradd -m metrics\n```"
RIGHT_HOME = (
    "```bash\n#!/usr/bin/env bash\nset -euo pipefail\n"
    "useradd -m -d /srv/metrics metrics\n```"
)


def run_loop(*args, **kwargs):  # type: ignore[no-untyped-def]
    """The loop with the model's (and operator's) scenario alone: the checks read from the
    request's words are tested in test_gen_request_checks.py."""
    kwargs.setdefault("request_checks", False)
    return _run_loop(*args, **kwargs)


def _is_scenario_call(messages: Sequence[Message]) -> bool:
    return "acceptance checks" in messages[0].content


class Model(FakeLLM):
    """Scenario prompts get ``scenarios``, generation prompts ``scripts`` (last repeats)."""

    def __init__(self, scenarios: list[str], scripts: list[str]) -> None:
        counts = {"scenario": 0, "script": 0}

        def respond(messages: Sequence[Message]) -> str:
            kind = "scenario" if _is_scenario_call(messages) else "script"
            answers = scenarios if kind == "scenario" else scripts
            counts[kind] += 1
            return answers[min(counts[kind], len(answers)) - 1]

        super().__init__(respond)

    def kinds(self) -> list[str]:
        return ["scenario" if _is_scenario_call(c) else "generate" for c in self.calls]


def _lint(script: str, lang: str) -> FakeLint:
    return FakeLint()


def _metrics(script: str, check: Check) -> tuple[int, int]:
    """The sandbox, as far as these checks go: useradd makes the user, -d sets the home."""
    if check.name == "user metrics exists":
        return 1, 0 if "useradd" in script else 1
    if check.name.startswith("home is"):
        return 1, 0 if "/srv/metrics" in script else 1
    return 1, 0


def test_a_wrong_home_is_caught_by_a_check_and_repaired():
    llm = Model([METRICS_SCENARIO], [WRONG_HOME, RIGHT_HOME])
    dry = ScenarioDry(_metrics)
    result = run_loop("create user metrics with home /srv/metrics", "bash", llm, lint=_lint,
                      dryrun=dry, model_scenario=True)
    assert llm.kinds() == ["scenario", "generate", "generate"]
    first, second = result.attempts
    assert [p.code for p in first.problems] == ["OPS411"]  # the runs were clean
    assert first.problems[0].kind == "check" and first.runs_clean and not first.passed
    repair = llm.calls[2][-1].content
    assert 'postcondition "home is /srv/metrics" does not hold' in repair
    assert "cut -d':' -f6" in repair and "it printed: nope" in repair
    assert "--home-dir" in repair  # the hint for a home folder
    assert second.passed and result.status == "vetted"
    assert result.verdict == "runs-clean, 2 of 2 checks passed"
    # every dry-run got the same scenario, written by the model
    scenarios = {s for _script, s in dry.calls}
    assert len(scenarios) == 1
    (used,) = scenarios
    assert used is not None and [c.source for c in used.checks] == ["model", "model"]
    assert result.scenario is not None and result.scenario.asked
    assert result.scenario.scenario == used and result.scenario.answers == (METRICS_SCENARIO,)


def test_the_scenario_prompt_never_contains_a_candidate_script():
    llm = Model([BROKEN_SCENARIO, METRICS_SCENARIO], [WRONG_HOME, RIGHT_HOME])
    result = run_loop("create user metrics with home /srv/metrics", "bash", llm, lint=_lint,
                      dryrun=ScenarioDry(_metrics), model_scenario=True, candidates=2)
    scenario_calls = [c for c in llm.calls if _is_scenario_call(c)]
    assert len(scenario_calls) == 2  # written, then rewritten after its prepare failed
    scripts = [a.script for a in result.attempts if a.script]
    assert len(scripts) >= 2
    for messages in scenario_calls:
        text = "\n".join(m.content for m in messages)
        assert "useradd -m" not in text
        assert not any(s in text for s in scripts)
    # the generation prompt is not told the checks either: it sees the request
    generation = next(c for c in llm.calls if not _is_scenario_call(c))
    assert "getent passwd" not in "\n".join(m.content for m in generation)


def test_a_failing_prepare_rewrites_the_scenario_not_the_script():
    llm = Model([BROKEN_SCENARIO, METRICS_SCENARIO], [RIGHT_HOME])
    dry = ScenarioDry(_metrics)
    result = run_loop("create user metrics with home /srv/metrics", "bash", llm, lint=_lint,
                      dryrun=dry, model_scenario=True)
    assert llm.kinds() == ["scenario", "generate", "scenario"]
    assert len(result.attempts) == 1 and result.attempts[0].passed  # not "repaired"
    (first_script, broken), (second_script, fixed) = dry.calls
    assert first_script == second_script  # the same script, run again
    assert broken is not None and "BROKEN" in broken.prepare
    assert fixed is not None and "BROKEN" not in fixed.prepare and len(fixed.checks) == 2
    rewrite = llm.calls[2]
    assert rewrite[-2].role == "assistant" and rewrite[-2].content == BROKEN_SCENARIO
    assert "prepare failed" in rewrite[-1].content and "cannot create directory" in rewrite[-1].content
    assert result.status == "vetted" and result.scenario is not None
    assert result.scenario.rewritten and any("rewrote" in n for n in result.scenario.notes)


def test_a_prepare_that_fails_twice_takes_the_models_scenario_out():
    llm = Model([BROKEN_SCENARIO], [RIGHT_HOME])
    dry = ScenarioDry(_metrics)
    result = run_loop("create user metrics", "bash", llm, lint=_lint, dryrun=dry,
                      model_scenario=True)
    assert llm.kinds() == ["scenario", "generate", "scenario"]
    assert [s is None for _script, s in dry.calls] == [False, False, True]
    assert result.scenario is not None and result.scenario.scenario.empty
    assert any("taken out" in n for n in result.scenario.notes)
    # honest: it runs, but nothing showed it did what was asked
    assert result.status == "runs-clean" and result.verdict == "runs-clean, no checks"


def test_an_operators_failing_prepare_stops_the_loop_without_repairs():
    operator = Scenario("mkdir /BROKEN/x\n", (Check("x", "test -d /x"),), ("operator",))
    llm = Model([METRICS_SCENARIO], [RIGHT_HOME])
    result = run_loop("make /x", "bash", llm, lint=_lint, dryrun=ScenarioDry(_metrics),
                      scenario=operator, attempts=3, candidates=3)
    assert llm.kinds() == ["generate"]  # no scenario asked, no repair, no samples
    (problem,) = result.final.problems
    assert (problem.kind, problem.code) == ("scenario", "OPS413")
    assert result.status == "failed-checks"
    assert result.verdict == "prepare failed: the script was not run"


def test_operator_checks_replace_the_models_of_the_same_name():
    operator = checks_of(("home is /srv/metrics", "test -d /srv/metrics"))
    llm = Model([METRICS_SCENARIO], [RIGHT_HOME])
    dry = ScenarioDry(_metrics)
    result = run_loop("x", "bash", llm, lint=_lint, dryrun=dry, scenario=operator,
                      model_scenario=True)
    _script, used = dry.calls[0]
    assert used is not None
    assert [(c.name, c.source) for c in used.checks] == [
        ("user metrics exists", "model"), ("home is /srv/metrics", "operator")]
    assert used.checks[1].run == "test -d /srv/metrics"
    assert result.scenario is not None and any("replace" in n for n in result.scenario.notes)


def test_no_model_scenario_means_the_model_is_not_asked():
    llm = Model([METRICS_SCENARIO], [RIGHT_HOME])
    operator = checks_of(("home is /srv/metrics", "test -d /srv/metrics"))
    result = run_loop("x", "bash", llm, lint=_lint, dryrun=ScenarioDry(_metrics),
                      scenario=operator)
    assert llm.kinds() == ["generate"]
    assert result.scenario is not None and not result.scenario.asked
    assert result.verdict == "runs-clean, 1 of 1 checks passed"


def test_without_the_dryrun_no_scenario_is_written():
    llm = Model([METRICS_SCENARIO], [RIGHT_HOME])
    result = run_loop("x", "bash", llm, lint=_lint, dryrun=None, model_scenario=True)
    assert llm.kinds() == ["generate"] and result.status == "unverified"
    assert result.verdict == "lint-clean, not run (--no-dryrun)"


def _answer(cmd: str) -> str:
    return f"```bash\n#!/usr/bin/env bash\nset -euo pipefail\n{cmd}\n```"


def _last_line(script: str) -> str:
    return script.strip().splitlines()[-1]


def test_consensus_prefers_the_candidate_passing_more_checks():
    # Without checks the two agreeing "Total: 3" answers would outvote the bare "3".
    llm = Model([], [_answer("echo 'Total: 3'"), _answer("echo 'Total: 3'"), _answer("echo 3")])
    prints_3 = checks_of(("prints 3", 'test "$(cat "$OPSGEN_STDOUT")" = 3'))

    def holds(script: str, check: Check) -> tuple[int, int]:
        return 1, 0 if _last_line(script) == "echo 3" else 1

    dry = ScenarioDry(holds, stdout=lambda s: _last_line(s).removeprefix("echo ") + "\n")
    result = run_loop("print three", "bash", llm, lint=_lint, dryrun=dry, scenario=prints_3,
                      attempts=1, candidates=3)
    assert [a.sampled for a in result.attempts] == [False, True, True]
    assert result.consensus is not None
    assert result.consensus.groups == ((3,), (1, 2))
    assert result.consensus.passed_checks == (1, 0)
    assert result.final.number == 3 and result.status == "vetted"
    assert result.disputed == ()
    assert "which passed 1 of 1 checks" in result.consensus.describe()


def test_a_check_every_agreeing_candidate_fails_is_disputed_not_dropped():
    llm = Model([], [_answer("echo 3")])
    prints_4 = checks_of(("prints 4", 'test "$(cat "$OPSGEN_STDOUT")" = 4'),
                         ("prints a number", 'grep -Eq "^[0-9]+$" "$OPSGEN_STDOUT"'))

    def holds(script: str, check: Check) -> tuple[int, int]:
        return 1, 1 if check.name == "prints 4" else 0

    dry = ScenarioDry(holds, stdout=lambda s: "3\n")
    result = run_loop("print four", "bash", llm, lint=_lint, dryrun=dry, scenario=prints_4,
                      attempts=1, candidates=3)
    assert result.consensus is not None and result.consensus.groups == ((1, 2, 3),)
    assert result.disputed == ("prints 4",)
    assert "disputed: prints 4" in result.consensus.describe()
    assert result.status == "failed-checks"  # disputed is shown, never counted as passed
    assert result.verdict == "runs-clean, 1 of 2 checks failed (1 disputed)"


def test_status_is_never_vetted_with_a_failed_check():
    broke = CheckResult("new files kept", "test -e /r/new", before=0, after=1)
    held = CheckResult("old gone", "test ! -e /r/old", before=1, after=0)
    dryrun = report(checks=(held, broke))
    # even an attempt the loop (wrongly) found no problem with
    attempt = Attempt(1, Completion("x", "fake", "fake", 1, 0.1), "#!/usr/bin/env bash\n",
                      lint=FakeLint(), dryrun=dryrun)
    result = LoopResult("prune", "bash", (attempt,), True)
    assert attempt.passed and result.status == "failed-checks"
    assert result.verdict == "runs-clean, 1 of 2 checks failed"
    # through the loop: a guard the script broke is a problem fed back
    llm = Model([], [_answer("rm -rf /r/*")])
    looped = run_loop("prune", "bash", llm, lint=_lint, dryrun=lambda s, lang, scenario: dryrun,
                      scenario=checks_of(("old gone", "x"), ("new files kept", "y")), attempts=1)
    (problem,) = looped.final.problems
    assert "new files kept" in problem.message and "the script broke it" in problem.message
    assert looped.status == "failed-checks"


def test_vacuous_checks_alone_do_not_vet_and_say_so():
    """Vetted needs a check that proved the change: checks that held before the script
    leave it runs-clean; one that did not hold before and holds after makes it vetted."""
    vacuous = CheckResult("dir kept", "test -d /r", before=0, after=0)
    proved = CheckResult("dir made", "test -d /s", before=1, after=0)

    def result(*checks: CheckResult) -> LoopResult:
        attempt = Attempt(1, Completion("x", "fake", "fake", 1, 0.1), "#!/usr/bin/env bash\n",
                          lint=FakeLint(), dryrun=replace(report(), checks=checks))
        return LoopResult("x", "bash", (attempt,), True)

    assert result(vacuous).status == "runs-clean"
    assert result(vacuous).verdict == "runs-clean, no check counted (1 vacuous)"
    assert result().status == "runs-clean"
    assert result(vacuous, proved).status == "vetted"
    broken = CheckResult("dir kept", "test -d /r", before=0, after=1)
    assert result(broken, proved).status == "failed-checks"  # it broke what had to stay


def test_the_scenario_stage_comes_first_in_the_events():
    seen: list[str] = []

    class Spy(Events):
        def stage(self, name: str, attempt: int, total: int) -> None:
            seen.append(f"{name}{attempt}")

    llm = Model([BROKEN_SCENARIO, METRICS_SCENARIO], [RIGHT_HOME])
    run_loop("x", "bash", llm, lint=_lint, dryrun=ScenarioDry(_metrics), model_scenario=True,
             events=Spy())
    assert seen == ["scenario1", "generate1", "lint1", "dryrun1", "scenario2"]


def _review(result: LoopResult) -> str:
    from io import StringIO

    from rich.console import Console

    from opsgen.render.new import print_review

    buf = StringIO()
    print_review(result, Console(file=buf, width=120))
    return buf.getvalue()


def test_the_review_and_json_show_the_checks_and_the_disputed_one():
    from opsgen.render.new import result_to_dict

    llm = Model([], [_answer("echo 3")])
    evil = "prints 4\x1b[2J[bold green]vetted[/]"
    scenario = checks_of((evil, 'test "$(cat "$OPSGEN_STDOUT")" = 4'),
                         ("prints a number", 'grep -Eq "^[0-9]+$" "$OPSGEN_STDOUT"'))

    def holds(script: str, check: Check) -> tuple[int, int]:
        return 1, 1 if check.name == evil else 0

    dry = ScenarioDry(holds, stdout=lambda s: "3\n")
    result = run_loop("print four", "bash", llm, lint=_lint, dryrun=dry, scenario=scenario,
                      attempts=1, candidates=2)
    assert result.disputed == (evil,)
    text = _review(result)
    assert "\x1b[2J" not in text
    assert "Disputed" in text and "prints a number" in text
    assert "failed-checks" in text and "1 of 2 checks failed (1 disputed)" in text
    data = result_to_dict(result)
    assert data["verdict"] == result.verdict and data["disputed"] == list(result.disputed)
    assert [c["disputed"] for c in data["checks"]] == [True, False]
    assert data["checks"][0]["before"] == 1 and data["checks"][0]["after"] == 1
    assert data["consensus"]["disputed"] == list(result.disputed)
    assert data["scenario"]["sources"] == ["operator"] and not data["scenario"]["model_asked"]


def test_the_review_says_when_nothing_was_checked():
    llm = Model(["no idea"], [RIGHT_HOME])
    result = run_loop("x", "bash", llm, lint=_lint, dryrun=ScenarioDry(_metrics),
                      model_scenario=True)
    text = _review(result)
    assert result.verdict == "runs-clean, no checks" and "no checks" in text
    assert "no usable scenario" in text


NETWORK_SCENARIO = """```yaml
prepare: ""
checks:
  - name: user metrics exists
    run: id -u metrics
  - name: the page is served
    run: curl -fsS http://example.com/metrics
```"""


def test_a_model_check_that_reaches_the_network_is_dropped_with_a_note():
    """The model read the untrusted request: a check its lint refuses (OPS601, network)
    never runs; the others do, and the review says what was dropped and why."""
    llm = Model([NETWORK_SCENARIO], [RIGHT_HOME])
    dry = ScenarioDry(_metrics)
    result = run_loop("create user metrics", "bash", llm, lint=_lint, dryrun=dry,
                      model_scenario=True)
    (used,) = {s for _script, s in dry.calls}
    assert used is not None and [c.name for c in used.checks] == ["user metrics exists"]
    assert result.scenario is not None
    assert any("'the page is served' was dropped (OPS601" in n for n in result.scenario.notes)
    assert result.status == "vetted"


def test_a_model_prepare_its_lint_refuses_takes_its_scenario_out():
    answer = ("```yaml\nprepare: |\n  curl -fsS http://example.com/x > /tmp/x\nchecks:\n"
              "  - name: user metrics exists\n    run: id -u metrics\n```")
    llm = Model([answer], [RIGHT_HOME])
    dry = ScenarioDry(_metrics)
    result = run_loop("create user metrics", "bash", llm, lint=_lint, dryrun=dry,
                      model_scenario=True)
    assert all(s is None for _script, s in dry.calls)  # no scenario left to run
    assert result.scenario is not None
    assert any("prepare was refused (OPS601" in n for n in result.scenario.notes)


def test_an_operator_scenario_with_a_lint_error_is_never_vetted():
    """The operator's scenario is not edited, but a check that reaches the network cannot
    vouch for the script: the verdict says which codes, and the status is not vetted."""
    from opsgen.flow.checks import with_scenario_findings

    scenario = checks_of(("page", "curl -fsS http://example.com/"))

    def dry(script: str, lang: str, *, scenario: Scenario | None = None) -> object:
        held = CheckResult("page", "curl -fsS http://example.com/", before=1, after=0)
        return with_scenario_findings(report(checks=(held,)), scenario)

    result = run_loop("x", "bash", Model([], [RIGHT_HOME]), lint=_lint, dryrun=dry,
                      scenario=scenario, attempts=1)
    assert result.final.passed  # nothing the script could repair...
    assert result.scenario_errors == ("OPS601",)
    assert result.status == "failed-checks"  # ...but never vetted
    assert result.verdict.endswith("scenario lint errors (OPS601)")
