"""The repair loop: generate, lint, dry-run twice, feed back what failed, try again.

The stages are injected callables (a lint function, a dry-run function) so the loop is
tested with :class:`~opsgen.generator.llm.FakeLLM` and small fakes, no Docker; the CLI
passes the real :func:`opsgen.validators.lint_text` and :func:`opsgen.sandbox.dryrun`.
Whether checks run is decided here, by the caller's options, and never by anything the
model or the request says: an answer that claims "checks skipped" is linted and run like
any other. Every attempt is kept, so the review shows the whole history.

With ``candidates > 1`` the loop then samples further answers to the original request,
checks each the same way, and picks among the passing ones by what they did in the sandbox
(:mod:`opsgen.flow.consensus`): a check sees a broken script, only agreement between
independent answers can hint that a clean-running one does the wrong thing.

With a scenario (:mod:`opsgen.flow.scenario`) the loop first has the model write one from the
request alone (the ``scenario`` stage), then runs it with every dry-run: a postcondition that
does not hold is a problem fed back like a failed run, the consensus prefers candidates that
pass more checks, and the status is ``vetted`` only when lint, both runs and every check
pass. :attr:`LoopResult.verdict` says in words what the evidence is (``runs-clean, 1 of 4
checks failed``; ``runs-clean, no checks`` when nothing showed the request was done).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from opsgen.errors import UnparseableOutput
from opsgen.findings import Severity
from opsgen.flow.consensus import Consensus, choose, proven, settled
from opsgen.flow.derive import derive_scenario
from opsgen.flow.hints import with_hints
from opsgen.flow.problems import (
    LintLike,
    Problem,
    dryrun_problems,
    lint_problems,
)
from opsgen.flow.scenario import ScenarioDryRunFn, ScenarioRecord, ScenarioSession, call_dryrun
from opsgen.flow.sequences import CHECKS, FIX, run_sequence
from opsgen.flow.trace import instrument, parse_trace
from opsgen.generator.extract import extract_script
from opsgen.generator.llm import GREEDY, Completion, LLMClient, Message, Sampling
from opsgen.generator.prompts import Target, generation_messages, repair_messages
from opsgen.sandbox.models import CheckResult, DryRunReport
from opsgen.scenario import LOCATION_PREFIX, Scenario

__all__ = ["AnyDryRunFn", "Attempt", "DryRunFn", "Events", "FixFn", "LintFn", "LoopResult",
           "Status", "run_loop"]

LintFn = Callable[[str, str], LintLike]
#: ``(script, lang) -> (fixed script, one line per fix)``: opsgen's deterministic fixes
FixFn = Callable[[str, str], tuple[str, tuple[str, ...]]]
DryRunFn = Callable[[str, str], DryRunReport]
#: what the loop accepts: a plain dry-run, or one that also takes ``scenario=``
AnyDryRunFn = DryRunFn | ScenarioDryRunFn
Status = Literal["vetted", "runs-clean", "unverified", "failed-checks"]


class Events:
    """Progress hooks; the CLI overrides them to drive its display. No-ops by default."""

    def stage(self, name: str, attempt: int, total: int) -> None:
        """A stage starts: ``scenario`` (1: written, 2: rewritten after its prepare failed),
        ``generate``, ``sample``, ``fix``, ``lint`` or ``dryrun``."""

    def token(self, piece: str) -> None:
        """The model produced a piece of text."""

    def finished(self, attempt: Attempt) -> None:
        """An attempt has been generated and checked."""


@dataclass(frozen=True, slots=True)
class Attempt:
    """One generation and what the checks said about it.

    Attributes:
        number: 1-based attempt number.
        completion: the raw model answer, kept verbatim for honesty.
        script: the extracted, normalised script (None when nothing usable came back).
        fixes: deterministic corrections opsgen made to the model's text.
        lint: the lint report (None when not linted).
        dryrun: the dry-run report (None when not run).
        problems: everything that blocks acceptance, in the order found.
        sampled: an extra candidate sampled for the consensus (not a repair).
        repeat_of: the number of an earlier attempt with the very same script, which is
            not checked again: a repeated repair carries that attempt's problems (and the
            next try changes strategy), a repeated sample also its evidence, since it is a
            vote. Only a last attempt repeating a script that never ran is checked (so the
            operator sees what it would do).
    """

    number: int
    completion: Completion
    script: str | None
    fixes: tuple[str, ...] = ()
    lint: LintLike | None = None
    dryrun: DryRunReport | None = None
    problems: tuple[Problem, ...] = ()
    sampled: bool = False
    repeat_of: int | None = None

    @property
    def passed(self) -> bool:
        """A script came back and no check found a blocking problem."""
        return self.script is not None and not self.problems

    @property
    def runs_clean(self) -> bool:
        """Lint clean and both runs passed; only scenario checks may have failed (the
        consensus still weighs such a candidate: every candidate may fail a wrong check)."""
        return (self.script is not None and self.dryrun is not None
                and all(p.kind == "check" for p in self.problems))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, model statistics included."""
        c = self.completion
        return {
            "number": self.number,
            "sampled": self.sampled,
            "repeat_of": self.repeat_of,
            "raw": c.text,
            "script": self.script,
            "fixes": list(self.fixes),
            "problems": [p.to_dict() for p in self.problems],
            "lint": self.lint.to_dict() if self.lint is not None else None,
            "dryrun_ok": self.dryrun.ok if self.dryrun is not None else None,
            "verdict": self.dryrun.verdict if self.dryrun is not None else None,
            "checks": [c.to_dict() for c in self.dryrun.checks] if self.dryrun is not None else [],
            "model": {
                "name": c.model,
                "runtime": c.runtime,
                "tokens": c.completion_tokens,
                "seconds": round(c.seconds, 2),
                "tokens_per_s": round(c.tokens_per_s, 2),
                "finish_reason": c.finish_reason,
            },
        }


@dataclass(frozen=True, slots=True)
class LoopResult:
    """All attempts for one request, and the one chosen for review."""

    request: str
    lang: str
    attempts: tuple[Attempt, ...]
    dryrun_enabled: bool
    extra: dict[str, Any] = field(default_factory=dict)
    consensus: Consensus | None = None
    scenario: ScenarioRecord | None = None

    @property
    def final(self) -> Attempt:
        """The consensus' choice when candidates were sampled; else the first attempt that
        passed, else the usable one with fewest problems (a repaired answer before a sample,
        then the latest, since it has seen the most feedback)."""
        if self.consensus is not None:
            for attempt in self.attempts:
                if attempt.number == self.consensus.chosen:
                    return attempt
        for attempt in self.attempts:
            if attempt.passed:
                return attempt
        # (a repeat that was not checked again has no evidence of its own: its twin counts)
        usable = [a for a in self.attempts if a.script is not None and a.lint is not None]
        # Fewest problems; then a repaired answer over a sample (its last attempt was
        # dry-run, so the review has evidence); then the latest, which saw most feedback.
        return min(reversed(usable), key=lambda a: (len(a.problems), a.sampled))

    @property
    def status(self) -> Status:
        """``vetted`` (lint clean, both runs clean, every scenario check holds and at
        least one of them did not hold before the script), ``runs-clean`` (the same, but no
        check tested what the request asked: none was found, or each held already),
        ``unverified`` (lint clean, dry-run skipped by the user) or ``failed-checks``.

        "Vetted" means the script did what was asked, so it needs a check that proved it
        (the sandbox report's own :attr:`~opsgen.sandbox.DryRunReport.vetted`); a script
        that only runs cleanly is ``runs-clean``, for the operator to judge in the review.
        A failed check never gives ``vetted``, even when it is disputed: a green verdict on
        a wrong script is the worst outcome.
        """
        final = self.final
        if not final.passed:
            return "failed-checks"
        if not self.dryrun_enabled:
            return "unverified"
        if final.dryrun is None or final.dryrun.checks_failed or self.scenario_errors:
            return "failed-checks"
        return "vetted" if final.dryrun.checks_passed else "runs-clean"

    @property
    def scenario_errors(self) -> tuple[str, ...]:
        """Codes of error findings in the scenario's own text (OPS6xx, a check that does not
        parse...): not the script's fault, so never repaired, but a scenario that reaches
        the network or opsgen's runner cannot vouch for a script."""
        final = self.final
        if final.dryrun is None:
            return ()
        return tuple(dict.fromkeys(
            f.code for f in final.dryrun.findings
            if f.location.path.startswith(LOCATION_PREFIX) and not f.suppressed
            and f.severity is Severity.ERROR))

    @property
    def checks(self) -> tuple[CheckResult, ...]:
        """The scenario checks of the chosen script's dry-run."""
        final = self.final
        return final.dryrun.checks if final.dryrun is not None else ()

    @property
    def disputed(self) -> tuple[str, ...]:
        """Checks every clean-running candidate failed although they agreed: the check (the
        model's reading of the request) may be wrong, or the request hard; shown, never
        dropped, and never counted as passed."""
        return self.consensus.disputed if self.consensus is not None else ()

    @property
    def verdict(self) -> str:
        """The evidence in words: ``runs-clean, 3 of 3 checks passed``, ``runs-clean, 1 of 4
        checks failed (1 disputed)``, ``runs-clean, no checks``, ``lint errors: not run``."""
        final = self.final
        lint_errors = any(p.kind == "lint" for p in final.problems)
        if final.script is None:
            return "no usable script"
        if final.dryrun is None:
            if lint_errors:
                return "lint errors: not run"
            return "lint-clean, not run (--no-dryrun)" if not self.dryrun_enabled else "not run"
        report = final.dryrun
        words = report.verdict
        if report.idempotent is False:
            words = words.replace("runs-clean", "runs, but not idempotent", 1)
        if lint_errors:
            words = f"lint errors, {words}"
        if not report.checks and report.runs:
            words += ", no checks"
        if self.disputed:
            words += f" ({len(self.disputed)} disputed)"
        if self.scenario_errors:
            words += f", scenario lint errors ({', '.join(self.scenario_errors)})"
        return words

    @property
    def unchanged_repairs(self) -> int:
        """Repairs that came back identical to an earlier attempt: asked to fix a problem,
        the model changed nothing (they are not checked again; the loop changes strategy)."""
        return sum(1 for a in self.attempts if a.repeat_of is not None and not a.sampled)

    @property
    def change_id(self) -> str:
        """A short, stable id for the chosen script: sha256 over language and bytes."""
        script = self.final.script or ""
        return hashlib.sha256(f"{self.lang}\0{script}".encode()).hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class _Checked:
    """What the checks of one attempt found so far (the state of :data:`CHECKS`)."""

    lint: LintLike | None = None
    dryrun: DryRunReport | None = None
    problems: tuple[Problem, ...] = ()


def _check(
    script: str,
    lang: str,
    lint: LintFn,
    dryrun: AnyDryRunFn | None,
    last: bool,
    events: Events,
    number: int,
    total: int,
    scenario: ScenarioSession,
) -> tuple[LintLike, DryRunReport | None, list[Problem]]:
    """Run the declared :data:`~opsgen.flow.sequences.CHECKS` on one attempt's script, with
    the change's scenario prepared and checked in every dry-run."""

    def run_lint(state: _Checked) -> _Checked:
        report = lint(script, lang)
        return replace(state, lint=report, problems=tuple(lint_problems(report)))

    def run_dryrun(state: _Checked) -> _Checked:
        assert dryrun is not None
        run_report = scenario.run(dryrun, script, lang)
        found = dryrun_problems(run_report, lang)
        if lang == "bash" and any(p.kind == "run" and p.line == 0 for p in found):
            current = scenario.current

            def rerun(text: str, language: str) -> DryRunReport:
                return call_dryrun(dryrun, text, language, current)

            found = _locate_failures(script, found, run_report, rerun)
        hinted = tuple(with_hints(found, lang))
        return replace(state, dryrun=run_report, problems=state.problems + hinted)

    # A script with lint errors is fixed before it is run, except on the last attempt,
    # where the operator still deserves the evidence of what it would do.
    done = run_sequence(
        CHECKS, _Checked(), {"lint": run_lint, "dryrun": run_dryrun},
        ready={"dryrun": lambda state: dryrun is not None and (not state.problems or last)},
        on_stage=lambda name: events.stage(name, number, total),
    )
    assert done.lint is not None
    return done.lint, done.dryrun, list(done.problems)


def _attempt(
    number: int,
    completion: Completion,
    lang: str,
    lint: LintFn,
    dryrun: AnyDryRunFn | None,
    *,
    last: bool,
    sampled: bool,
    events: Events,
    total: int,
    scenario: ScenarioSession,
    earlier: Sequence[Attempt] = (),
    fix: FixFn | None = None,
) -> Attempt:
    """Extract the script from a completion, fix it (the declared :data:`~opsgen.flow.
    sequences.FIX`) and check it, unless an ``earlier`` attempt had the very same script
    (after opsgen's own fixes): checking the same bytes again would only cost time."""
    try:
        extracted = extract_script(completion.text, lang)
    except UnparseableOutput as exc:
        problem = Problem("unparseable", "no-script", exc.message)
        return Attempt(number, completion, None, problems=(problem,), sampled=sampled)

    def run_fix(state: tuple[str, tuple[str, ...]]) -> tuple[str, tuple[str, ...]]:
        assert fix is not None
        text, notes = fix(state[0], lang)
        return text, state[1] + tuple(notes)

    script, fixes = run_sequence(
        FIX, (extracted.script, extracted.fixes), {"fix": run_fix} if fix is not None else {},
        on_stage=lambda name: events.stage(name, number, total),
    )
    same = next((a for a in earlier if a.script == script and a.repeat_of is None), None)
    # The last attempt is dry-run even with lint errors (the operator deserves evidence of
    # what it would do): a repeat of a script that was never run is checked once more.
    recheck = last and dryrun is not None and same is not None and same.dryrun is None
    if same is not None and not recheck:
        if sampled:  # an independent vote for the same bytes: the same evidence counts
            return Attempt(number, completion, script, fixes, same.lint, same.dryrun,
                           same.problems, sampled, repeat_of=same.number)
        return Attempt(number, completion, script, fixes, problems=same.problems,
                       sampled=sampled, repeat_of=same.number)
    report, run_report, problems = _check(
        script, lang, lint, dryrun, last, events, number, total, scenario
    )
    return Attempt(
        number, completion, script, fixes, report, run_report, tuple(problems),
        sampled, repeat_of=same.number if same is not None else None,
    )


#: Sampling for the extra candidates: varied enough to disagree, focused enough to be sane.
SAMPLE_TEMPERATURE = 0.7


def _samplings(candidates: int) -> list[Sampling]:
    """The consensus samples' settings: one seed per sample, so a run can be repeated."""
    return [Sampling(temperature=SAMPLE_TEMPERATURE, seed=i) for i in range(1, candidates)]


class _Ahead:
    """The first consensus sample, decoded in the background while the first answer is
    checked.

    The samples answer the original request, so they do not depend on anything the checks
    find, and the first one is needed whenever sampling happens at all (one answer alone
    never settles the choice): the model can write it while the sandbox works. Only for a
    client with ``complete_many`` (llama.cpp), which decodes it in its own sequence and
    leaves the greedy conversation's cache as it was, so repairs are bit-identical either
    way; with any other client the samples are asked for one by one, in order, as before. A
    repair that needs the model waits until the sample is done (the client lets one call run
    at a time). Later samples are asked for only when the choice is still open: on a 2-core
    CPU two samples decoded together take as long as one after the other, so a batch would
    only cost the second sample whenever the early stop does not need it
    (bench/batch_decode.py, bench/loop_speed.py).

    Until someone waits for it (:meth:`hurry`), the sample decodes on one thread, so the
    sandbox checking the first answer keeps a core.
    """

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._urgent = threading.Event()
        self._done: list[Completion] = []

    def start(self, llm: LLMClient, messages: Sequence[Message], samplings: list[Sampling],
              max_tokens: int) -> None:
        """Begin decoding ``samplings`` answers to ``messages`` in a background thread."""
        many = getattr(llm, "complete_many", None)
        if many is None or not samplings:
            return

        def work() -> None:
            try:
                self._done = list(many(messages, samplings, max_tokens=max_tokens,
                                       cancelled=self._stop.is_set,
                                       background=lambda: not self._urgent.is_set()))
            except Exception:  # the same call in the foreground says why
                self._done = []

        self._thread = threading.Thread(target=work, name="opsgen-samples", daemon=True)
        self._thread.start()

    def take(self, index: int) -> Completion | None:
        """Sample ``index`` (0-based) once decoded; None: ask the model in the foreground."""
        if self._thread is None:
            return None
        self.hurry()
        self._thread.join()
        if index >= len(self._done) or self._done[index].finish_reason == "cancelled":
            return None
        return self._done[index]

    def hurry(self) -> None:
        """The foreground waits for the model now: decode on every thread."""
        self._urgent.set()

    def close(self) -> None:
        """Stop a batch nobody needs any more (a settled choice, an error, Ctrl-C)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def _sample(
    request_messages: Sequence[Message],
    done: list[Attempt],
    candidates: int,
    llm: LLMClient,
    lang: str,
    lint: LintFn,
    dryrun: AnyDryRunFn,
    max_tokens: int,
    events: Events,
    scenario: ScenarioSession,
    fix: FixFn | None = None,
    ahead: _Ahead | None = None,
) -> None:
    """Add up to ``candidates - 1`` sampled answers, stopping once they cannot change the
    choice (:func:`~opsgen.flow.consensus.settled`) or a candidate is already vetted by the
    request's checks (:func:`~opsgen.flow.consensus.proven`: the verdict cannot change).
    Samples are checked but not repaired: they are votes, not drafts. Those ``ahead``
    already decoded are taken from it; the rest are asked for here."""
    extra = candidates - 1
    samplings = _samplings(candidates)
    for i in range(1, extra + 1):
        if proven(done) or settled(done, extra - i + 1):
            break
        number = len(done) + 1
        events.stage("sample", i, extra)
        completion = ahead.take(i - 1) if ahead is not None else None
        if completion is None:
            completion = llm.complete(
                request_messages, max_tokens=max_tokens, on_token=events.token,
                sampling=samplings[i - 1],
            )
        attempt = _attempt(
            number, completion, lang, lint, dryrun, last=False, sampled=True, events=events,
            total=number, scenario=scenario, earlier=done, fix=fix,
        )
        done.append(attempt)
        events.finished(attempt)


def _locate_failures(
    script: str, found: list[Problem], report: DryRunReport, dryrun: DryRunFn
) -> list[Problem]:
    """Re-run an instrumented copy to name the line of each silent failure."""
    silent = [i for i, r in enumerate(report.runs) if r.status == "failed" and not r.stderr.strip()]
    if not silent:
        return found
    diag = dryrun(instrument(script), "bash")
    located = list(found)
    for index, problem in enumerate(found):
        if problem.kind != "run" or not silent:
            continue
        run_index = silent.pop(0)
        if run_index >= len(diag.runs):
            continue
        hit = parse_trace(diag.runs[run_index].stderr, script)
        if hit is not None:
            message = (
                f"{problem.message}; the command that failed silently was "
                f"`{hit.command}` (exit {hit.exit_code}; under set -e the script stops there)"
            )
            located[index] = Problem(problem.kind, problem.code, message, hit.line)
    return located


def run_loop(
    request: str,
    lang: str,
    llm: LLMClient,
    *,
    lint: LintFn,
    dryrun: AnyDryRunFn | None,
    attempts: int = 3,
    max_tokens: int = 768,
    target: Target | None = None,
    events: Events | None = None,
    candidates: int = 1,
    scenario: Scenario | None = None,
    model_scenario: bool = False,
    fix: FixFn | None = None,
    request_checks: bool = True,
) -> LoopResult:
    """Generate a script for ``request`` and repair it until the checks pass.

    Args:
        request: the operator's words; framed as data in the prompt.
        lang: ``bash`` or ``ansible``.
        llm: the model client.
        lint: ``(script, lang) -> report``; always called on every usable attempt.
        dryrun: ``(script, lang) -> DryRunReport`` or None when the user chose --no-dryrun;
            with a scenario it is called as ``(script, lang, scenario=...)``.
        attempts: the most generations to make (at least 1).
        max_tokens: the token budget of each generation.
        target: facts about the target machine for the system prompt.
        events: progress hooks.
        candidates: answers to weigh against each other (1: the repaired greedy answer
            only). Needs the dry-run: without observed behaviour there is nothing to compare.
        scenario: the operator's scenario (prepare and checks), run with every dry-run.
        model_scenario: first have the model write a scenario from the request alone (the
            ``scenario`` stage); the operator's checks replace its checks of the same name.
            Only with the dry-run: a scenario is evidence only when it runs.
        request_checks: add the checks (and the presupposed users) that
            :func:`opsgen.flow.derive.derive_scenario` reads from the request's words; the
            operator's checks replace them by name. Only with the dry-run.
        fix: ``(script, lang) -> (script, notes)``, opsgen's deterministic fixes of each
            answer before its checks (the ``fix`` stage; :func:`opsgen.flow.checks.
            make_fix`); each note joins the attempt's ``fixes``. None: no such stage.

    Raises:
        UnparseableOutput: no attempt produced a usable script.
    """
    events = events or Events()
    total = max(1, attempts)
    derived = derive_scenario(request) if request_checks and dryrun is not None else None
    session = ScenarioSession(
        request, lang, llm, scenario, target=target,
        on_stage=lambda n: events.stage("scenario", n, 2), on_token=events.token,
        derived=derived,
    )
    if model_scenario and dryrun is not None:
        session.write()
    base = generation_messages(request, lang, target)
    ahead = _Ahead()
    try:
        return _repair_and_choose(
            request, lang, llm, base, ahead, lint=lint, dryrun=dryrun, total=total,
            max_tokens=max_tokens, events=events, candidates=candidates, session=session,
            fix=fix,
        )
    finally:
        ahead.close()


def _repair_and_choose(
    request: str,
    lang: str,
    llm: LLMClient,
    base: Sequence[Message],
    ahead: _Ahead,
    *,
    lint: LintFn,
    dryrun: AnyDryRunFn | None,
    total: int,
    max_tokens: int,
    events: Events,
    candidates: int,
    session: ScenarioSession,
    fix: FixFn | None,
) -> LoopResult:
    """The ``generate`` / repair attempts, then the consensus samples (see :func:`run_loop`)."""
    messages: Sequence[Message] = base
    done: list[Attempt] = []
    sampling = GREEDY
    for number in range(1, total + 1):
        events.stage("generate", number, total)
        if number > 1:
            ahead.hurry()  # this repair waits for the samples' batch: let it use every core
        completion = llm.complete(
            messages, max_tokens=max_tokens, on_token=events.token, sampling=sampling
        )
        if number == 1 and candidates > 1 and dryrun is not None:
            ahead.start(llm, base, _samplings(candidates)[:1], max_tokens)  # see _Ahead
        attempt = _attempt(
            number, completion, lang, lint, dryrun, last=number == total, sampled=False,
            events=events, total=total, scenario=session, earlier=done, fix=fix,
        )
        done.append(attempt)
        events.finished(attempt)
        if attempt.passed or any(p.kind == "scenario" for p in attempt.problems):
            break  # done, or the operator's prepare fails: no script repair can fix that
        if attempt.script is not None:
            # Repair from the original request each time: the context stays small and the
            # model sees its latest script with exactly the problems that script has.
            messages = repair_messages(
                base, attempt.script, [p.describe(attempt.script) for p in attempt.problems],
                lang, repeated=attempt.repeat_of,
            )
            # Asked the same question, a greedy model gives the same answer: after a repair
            # that changed nothing, the next one is sampled (and told it repeated itself).
            if attempt.repeat_of is not None:
                sampling = Sampling(temperature=SAMPLE_TEMPERATURE, seed=number)
    consensus = None
    broken_scenario = any(p.kind == "scenario" for a in done for p in a.problems)
    if candidates > 1 and dryrun is not None and not broken_scenario:
        _sample(base, done, candidates, llm, lang, lint, dryrun, max_tokens, events, session,
                fix, ahead)
        consensus = choose(done)
    if all(a.script is None for a in done):
        raise UnparseableOutput(
            f"the model returned no usable script in {len(done)} attempt(s)",
            hint="rephrase the request, or choose another --model",
        )
    return LoopResult(request, lang, tuple(done), dryrun is not None, consensus=consensus,
                      scenario=session.record())
