"""Execution consensus: extra sampled candidates, grouped by what they did in the sandbox."""

from __future__ import annotations

from dataclasses import replace

from fakes import FakeLint, finding, report, run

from opsgen.flow.consensus import behaviour, choose, proven, settled
from opsgen.flow.loop import run_loop
from opsgen.generator.llm import Completion, FakeLLM, Message, Sampling
from opsgen.sandbox.models import DryRunReport, FileChange, FileMeta, RunResult, SystemDiff


def _out(stdout: str, files: tuple[FileChange, ...] = ()) -> DryRunReport:
    r = RunResult(0, "passed", 0.1, stdout, "")
    return replace(report(runs=(r, r)), diff=SystemDiff(files=files))


def _answer(cmd: str) -> str:
    return f"```bash\n#!/usr/bin/env bash\nset -euo pipefail\n{cmd}\n```"


class ByCommand:
    """A dry-run stage whose observed output is a function of the script's last line."""

    def __init__(self, outputs: dict[str, str]):
        self.outputs = outputs
        self.seen: list[str] = []

    def __call__(self, script: str, lang: str) -> DryRunReport:
        self.seen.append(script)
        return _out(self.outputs[script.strip().splitlines()[-1]])


def _lint(script: str, lang: str) -> FakeLint:
    return FakeLint()


def test_behaviour_ignores_output_order_blanks_and_log_contents():
    meta = FileMeta("file", 0o644, 0, 0, 3, "aa")
    log_a = FileChange("/var/log/apt/history.log", "modified", after=meta)
    log_b = FileChange("/var/log/apt/history.log", "modified", after=replace(meta, sha256="bb"))
    a = _out("b\n  a   1\n\n", (log_a,))
    b = _out("a 1\nb\n", (log_b,))
    assert behaviour(a) == behaviour(b)


def test_behaviour_sees_different_output_and_different_file_content():
    meta = FileMeta("file", 0o644, 0, 0, 3, "aa")
    conf_a = FileChange("/etc/app.conf", "added", after=meta)
    conf_b = FileChange("/etc/app.conf", "added", after=replace(meta, sha256="bb"))
    assert behaviour(_out("3")) != behaviour(_out("Total: 3"))
    assert behaviour(_out("", (conf_a,))) != behaviour(_out("", (conf_b,)))
    assert behaviour(_out("", (conf_a,))) != behaviour(_out("", (replace(conf_a, after=replace(meta, mode=0o600)),)))


def test_two_agreeing_samples_overrule_a_lone_greedy_answer():
    llm = FakeLLM([_answer("echo 'Total: 3'"), _answer("echo 3"), _answer("echo 3")])
    dry = ByCommand({"echo 'Total: 3'": "Total: 3", "echo 3": "3"})
    result = run_loop("count", "bash", llm, lint=_lint, dryrun=dry, candidates=3)
    assert [a.sampled for a in result.attempts] == [False, True, True]
    assert result.final.number == 2 and "echo 3" in (result.final.script or "")
    assert result.consensus is not None
    assert result.consensus.groups == ((2, 3), (1,))
    assert result.status == "runs-clean"
    # samples are drawn from the original request, with sampling on and a seed each
    assert llm.calls[1] == llm.calls[0]
    assert [s.greedy for s in llm.samplings] == [True, False, False]
    assert llm.samplings[1].seed != llm.samplings[2].seed


def test_ties_keep_the_greedy_answer():
    llm = FakeLLM([_answer("echo a"), _answer("echo b"), _answer("echo c")])
    dry = ByCommand({"echo a": "a", "echo b": "b", "echo c": "c"})
    result = run_loop("x", "bash", llm, lint=_lint, dryrun=dry, candidates=3)
    assert result.final.number == 1
    assert result.consensus is not None and result.consensus.agreeing == 1


def test_sampling_stops_once_the_winner_is_settled():
    llm = FakeLLM([_answer("echo a"), _answer("echo a"), _answer("echo b")])
    dry = ByCommand({"echo a": "a", "echo b": "b"})
    result = run_loop("x", "bash", llm, lint=_lint, dryrun=dry, candidates=3)
    assert len(llm.calls) == 2  # greedy + one agreeing sample: the third cannot change it
    assert result.final.number == 1 and result.consensus is not None
    assert result.consensus.describe().startswith("2 of 2 passing candidates")


def test_failing_samples_do_not_vote_and_a_passing_sample_rescues_a_failed_loop():
    bad = _answer("false")
    llm = FakeLLM([bad, bad, _answer("echo ok")])
    failed = replace(report(runs=(run("failed", 1), run("failed", 1))))

    def dry(script: str, lang: str) -> DryRunReport:
        return failed if script.strip().endswith("false") else _out("ok")

    result = run_loop("x", "bash", llm, lint=_lint, dryrun=dry, attempts=2, candidates=2)
    assert [a.passed for a in result.attempts] == [False, False, True]
    assert result.final.number == 3 and result.status == "runs-clean"


def test_samples_with_lint_errors_are_not_run_and_do_not_vote():
    llm = FakeLLM([_answer("echo a"), _answer("rm -rf /")])
    seen: list[str] = []

    def lint(script: str, lang: str) -> FakeLint:
        return FakeLint((finding("OPS101", 4),) if "rm -rf /" in script else ())

    def dry(script: str, lang: str) -> DryRunReport:
        seen.append(script)
        return _out("a")

    result = run_loop("x", "bash", llm, lint=lint, dryrun=dry, candidates=2)
    assert len(seen) == 1 and result.final.number == 1
    assert result.attempts[1].sampled and not result.attempts[1].passed


def test_no_candidates_without_a_dryrun():
    llm = FakeLLM([_answer("echo a")])
    result = run_loop("x", "bash", llm, lint=_lint, dryrun=None, candidates=3)
    assert len(llm.calls) == 1 and result.consensus is None
    assert result.status == "unverified"


def test_choose_and_settled_on_plain_candidates():
    class C:
        def __init__(self, number: int, out: str | None):
            self.number = number
            self.passed = self.runs_clean = out is not None
            self.dryrun = _out(out) if out is not None else None

    assert choose([C(1, None)]) is None
    pool = [C(1, "x"), C(2, "y"), C(3, "y"), C(4, None)]
    picked = choose(pool)
    assert picked is not None and picked.chosen == 2 and picked.candidates == 4
    assert picked.to_dict()["groups"] == [[2, 3], [1]]
    assert not settled([C(1, "x")], 2)
    assert settled([C(1, "x"), C(2, "x")], 1)
    assert not settled([C(1, "x"), C(2, "x"), C(3, "y")], 1)  # y could still tie, and y ≠ first


def test_messages_unchanged_for_greedy_path():
    # candidates=1 is the plain repair loop: one greedy call, no sampling
    llm = FakeLLM([_answer("echo a")])
    run_loop("x", "bash", llm, lint=_lint, dryrun=ByCommand({"echo a": "a"}))
    assert len(llm.calls) == 1 and llm.samplings[0].greedy
    assert isinstance(llm.calls[0][0], Message)


def test_when_nothing_passes_the_repaired_answer_is_shown_before_a_sample():
    def lint(script: str, lang: str) -> FakeLint:
        return FakeLint((finding("OPS107", 4),))

    llm = FakeLLM([_answer("rm -rf /var/tmp")])
    result = run_loop("x", "bash", llm, lint=lint, dryrun=lambda s, lang: _out(""), attempts=2,
                      candidates=3)
    assert result.status == "failed-checks" and result.consensus is None
    assert [a.sampled for a in result.attempts] == [False, False, True, True]
    assert result.final.number == 2  # the last repair (it was dry-run), not a sample


def test_review_says_why_the_chosen_script_was_not_dry_run():
    from io import StringIO

    from rich.console import Console

    from opsgen.render.new import print_review

    def lint(script: str, lang: str) -> FakeLint:
        return FakeLint((finding("OPS107", 4),))

    llm = FakeLLM([_answer("rm -rf /var/tmp")])
    result = run_loop("x", "bash", llm, lint=lint, dryrun=None, attempts=1)
    buf = StringIO()
    print_review(result, Console(file=buf, width=120))
    assert "skipped (--no-dryrun)" in buf.getvalue()
    # a lint-blocked sample shown with the dry-run on: say why it was not run
    from opsgen.flow.loop import Attempt, LoopResult
    from opsgen.flow.problems import Problem

    sample = replace(result.attempts[0], sampled=True, dryrun=None,
                     problems=(Problem("lint", "OPS107", "rm -r of /var/tmp", 4),))
    buf = StringIO()
    print_review(LoopResult("x", "bash", (sample,), True), Console(file=buf, width=120))
    assert "not run: lint errors are fixed first" in buf.getvalue()
    assert isinstance(sample, Attempt)


def test_checks_rank_before_numbers_and_a_failing_leader_is_never_settled():
    from opsgen.sandbox.models import CheckResult

    ok = CheckResult("prints 3", "x", before=1, after=0)
    bad = replace(ok, after=1)
    guard_broken = CheckResult("kept", "y", before=0, after=1)
    guard_kept = replace(guard_broken, after=0)

    class C:
        def __init__(self, number: int, out: str, *checks: CheckResult):
            self.number = number
            self.dryrun = replace(_out(out), checks=checks)
            self.runs_clean = True
            self.passed = all(c.passed for c in checks)

    # a lone candidate passing the check beats two that agree but fail it
    picked = choose([C(1, "Total: 3", bad), C(2, "3", ok), C(3, "Total: 3", bad)])
    assert picked is not None and picked.chosen == 2 and picked.groups == ((2,), (1, 3))
    assert picked.passed_checks == (1, 0) and picked.disputed == ()
    # same counted passes: the one that kept the guard wins over the larger group
    picked = choose([C(1, "a", ok, guard_broken), C(2, "a", ok, guard_broken),
                     C(3, "b", ok, guard_kept)])
    assert picked is not None and picked.chosen == 3
    assert not settled([C(1, "a", bad), C(2, "a", bad), C(3, "a", bad)], 1)
    assert settled([C(1, "a", ok), C(2, "a", ok)], 1)
    # every agreeing candidate fails it: disputed
    picked = choose([C(1, "a", bad), C(2, "a", bad)])
    assert picked is not None and picked.disputed == ("prints 3",)
    assert choose([C(1, "a", bad)]).disputed == ()  # type: ignore[union-attr] - one: no dispute


class Checked:
    """A dry-run stage with one scenario check: it holds after the script when the script's
    last line is ``good``, and never before (so a pass counts)."""

    def __init__(self, good: str):
        self.good = good
        self.seen: list[str] = []

    def __call__(self, script: str, lang: str) -> DryRunReport:
        from opsgen.sandbox.models import CheckResult

        self.seen.append(script)
        last = script.strip().splitlines()[-1]
        check = CheckResult("home is /srv/m", "test -d /srv/m", before=1,
                            after=0 if last == self.good else 1)
        return replace(_out(last), checks=(check,))


def test_a_greedy_answer_vetted_by_the_requests_checks_is_not_sampled_against():
    good = "useradd -d /srv/m m"
    llm = FakeLLM([_answer(good), _answer("useradd -m m"), _answer("useradd -m m")])
    dry = Checked(good)
    result = run_loop("x", "bash", llm, lint=_lint, dryrun=dry, candidates=3)
    assert len(llm.calls) == 1 and len(dry.seen) == 1  # no sample asked for, none run
    assert result.status == "vetted" and result.final.number == 1
    assert result.consensus is not None and result.consensus.candidates == 1
    assert result.consensus.describe().endswith("which passed 1 of 1 checks")


def test_a_greedy_answer_failing_a_check_is_still_sampled_against_and_can_lose():
    good = "useradd -d /srv/m m"
    llm = FakeLLM([_answer("useradd -m m"), _answer(good), _answer(good)])
    dry = Checked(good)
    result = run_loop("x", "bash", llm, lint=_lint, dryrun=dry,
                      attempts=1, candidates=3)
    # the second sample is not needed: the first one is vetted
    assert [a.sampled for a in result.attempts] == [False, True]
    assert result.final.number == 2 and result.status == "vetted"


def test_proven_needs_a_counted_check_and_no_failed_one():
    from opsgen.sandbox.models import CheckResult

    counted = CheckResult("made", "x", before=1, after=0)
    vacuous = CheckResult("kept", "y", before=0, after=0)
    failed = CheckResult("mode", "z", before=1, after=1)

    class C:
        def __init__(self, *checks: CheckResult):
            self.number = 1
            self.dryrun = replace(_out("a"), checks=checks)
            self.runs_clean = True
            self.passed = all(c.passed for c in checks)

    assert proven([C(counted)]) and proven([C(counted, vacuous)])
    assert not proven([C()])  # runs-clean, nothing checked: the samples still vote
    assert not proven([C(vacuous)])  # held before: proves nothing
    assert not proven([C(counted, failed)])


def test_a_sample_identical_to_an_earlier_answer_votes_with_that_answers_evidence():
    """Same bytes, same evidence: an identical sample is not run again, but it is an
    independent vote, so it still counts for that behaviour."""
    llm = FakeLLM([_answer("echo 'Total: 3'"), _answer("echo 3"), _answer("echo 3")])
    dry = ByCommand({"echo 'Total: 3'": "Total: 3", "echo 3": "3"})
    result = run_loop("count", "bash", llm, lint=_lint, dryrun=dry, candidates=3)
    assert [a.repeat_of for a in result.attempts] == [None, None, 2]
    assert len(dry.seen) == 2  # the third candidate was not run
    assert result.consensus is not None and result.consensus.groups[0] == (2, 3)
    assert result.final.number == 2 and result.unchanged_repairs == 0


class Batched(FakeLLM):
    """A client that decodes the samples together, like llama.cpp's ``complete_many``:
    the loop asks it for them in the background, right after the first answer."""

    def __init__(self, greedy: list[str], samples: list[str]):
        super().__init__(greedy)
        self.samples = samples
        self.batches: list[list[Sampling]] = []
        self.order: list[str] = []
        self.cancel_asked = False

    def complete(self, messages, **kwargs):  # type: ignore[no-untyped-def]
        self.order.append("complete")
        return super().complete(messages, **kwargs)

    def complete_many(self, messages, samplings, *, max_tokens=768, cancelled=None, background=None):  # type: ignore[no-untyped-def]
        self.order.append("many")
        self.batches.append(list(samplings))
        self.cancel_asked = cancelled is not None and not cancelled()
        return [Completion(text, self.name, self.runtime, finish_reason="fence")
                for text in self.samples[: len(samplings)]]


def test_a_batching_client_decodes_the_first_sample_ahead_and_the_rest_on_demand():
    llm = Batched([_answer("echo 'Total: 3'"), _answer("echo 3")], [_answer("echo 3")])
    dry = ByCommand({"echo 'Total: 3'": "Total: 3", "echo 3": "3"})
    result = run_loop("count", "bash", llm, lint=_lint, dryrun=dry, candidates=3)
    # the greedy answer, the first sample ahead (its own call), the second when still open
    assert llm.order == ["complete", "many", "complete"]
    assert [(s.temperature, s.seed) for s in llm.batches[0]] == [(0.7, 1)]
    assert (llm.samplings[-1].temperature, llm.samplings[-1].seed) == (0.7, 2)
    assert llm.cancel_asked
    assert [a.sampled for a in result.attempts] == [False, True, True]
    assert result.final.script is not None and result.final.script.rstrip().endswith("echo 3")
    # the same outcome as a client that samples one by one
    plain = FakeLLM([_answer("echo 'Total: 3'"), _answer("echo 3"), _answer("echo 3")])
    again = run_loop("count", "bash", plain, lint=_lint, dryrun=dry, candidates=3)
    assert [a.script for a in again.attempts] == [a.script for a in result.attempts]


def test_an_agreeing_first_sample_settles_the_choice_and_no_second_is_asked_for():
    llm = Batched([_answer("echo 3")], [_answer("echo 3")])
    result = run_loop("count", "bash", llm, lint=_lint, dryrun=ByCommand({"echo 3": "3"}),
                      candidates=3)
    # greedy and sample 1 agree: sample 2 could not change the choice, so it is never asked
    assert llm.order == ["complete", "many"]
    assert len(result.attempts) == 2


def test_a_batch_is_not_asked_for_without_candidates_or_without_a_dry_run():
    llm = Batched([_answer("echo 3")], [_answer("echo 3")])
    run_loop("count", "bash", llm, lint=_lint, dryrun=ByCommand({"echo 3": "3"}), candidates=1)
    run_loop("count", "bash", llm, lint=_lint, dryrun=None, candidates=3)
    assert "many" not in llm.order


def test_a_failed_batch_falls_back_to_sampling_one_by_one():
    class Broken(Batched):
        def complete_many(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            self.order.append("many")
            raise RuntimeError("decode failed")

    llm = Broken([_answer("echo 3")], [])
    run_loop("count", "bash", llm, lint=_lint, dryrun=ByCommand({"echo 3": "3"}), candidates=3)
    assert llm.order[:2] == ["complete", "many"]
    assert llm.order.count("complete") >= 2  # the samples came from complete after all
