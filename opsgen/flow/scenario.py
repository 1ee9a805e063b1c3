"""The change's scenario through ``opsgen new``: written from the request alone, run with
every dry-run, and judged honestly.

"Vetted" must mean "does what was asked", not only "runs". A script that runs cleanly but
does something else passes lint and both dry-runs; only a check of the request's
postconditions sees it. So before the first script is generated, the model writes a
:class:`~opsgen.scenario.Scenario` (what to prepare, what must hold afterwards) from the
request *alone*: the checks are evidence independent of every candidate (CodeT writes its
tests apart from the code they judge), while a model shown the script would check what the
script does. The operator's parts (``--given``, ``--expect``, ``--scenario``) are merged on
top: an operator check replaces the model's of the same name.

The scenario is the same for every candidate, so their check results are comparable and
the consensus can prefer the candidates that pass more of them. A failing *prepare*
(OPS413) is the scenario's fault, not the script's: the model rewrites the scenario once,
told only how its prepare failed, and the same script is run again; a prepare that still
fails takes the model's scenario out (the review says so), and an operator's prepare that
fails stops the loop, since no repair of the script can fix it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from opsgen.findings import Severity
from opsgen.flow.problems import tail
from opsgen.generator.extract import extract_scenario
from opsgen.generator.llm import GREEDY, Completion, LLMClient, Message, TokenCallback
from opsgen.generator.prompts import Target, scenario_messages, scenario_repair_messages
from opsgen.sandbox.models import DryRunReport
from opsgen.scenario import Scenario, check_location, merge_scenarios, prepare_location

__all__ = ["ScenarioDryRunFn", "ScenarioRecord", "ScenarioSession",
           "call_dryrun", "prepare_failure", "write_scenario"]

#: the scenario is short YAML; a small budget keeps a rambling answer cheap
SCENARIO_MAX_TOKENS = 640


class ScenarioDryRunFn(Protocol):
    """A dry-run that also prepares and checks a scenario (``opsgen.sandbox.dryrun``'s
    ``scenario=``). Called without ``scenario`` when the change has none, so a plain
    ``(script, lang)`` dry-run serves changes without a scenario."""

    def __call__(self, script: str, lang: str, *, scenario: Scenario | None = None
                 ) -> DryRunReport:
        """Run ``script`` twice in a fresh sandbox with ``scenario`` prepared and checked."""
        ...


def call_dryrun(dryrun: Callable[..., DryRunReport], script: str, lang: str,
                scenario: Scenario) -> DryRunReport:
    """Run ``dryrun`` with the scenario when there is one.

    A dry-run callable that cannot take a scenario fails loudly here (TypeError) rather
    than running without it: silently skipping the checks would vet a wrong script.
    """
    if scenario.empty:
        return dryrun(script, lang)
    return dryrun(script, lang, scenario=scenario)


# --- the model's scenario -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Written:
    """One scenario answer of the model: what it wrote, what we kept, and why not more."""

    scenario: Scenario
    notes: tuple[str, ...]
    completion: Completion


def write_scenario(
    messages: Sequence[Message], llm: LLMClient, *, max_tokens: int = SCENARIO_MAX_TOKENS,
    on_token: TokenCallback | None = None,
) -> Written:
    """Ask the model for a scenario and take it apart; never raises for a bad answer."""
    completion = llm.complete(messages, max_tokens=max_tokens, on_token=on_token,
                              sampling=GREEDY)
    extracted = extract_scenario(completion.text)
    return Written(extracted.scenario, extracted.notes, completion)


def prepare_failure(report: DryRunReport) -> str | None:
    """How the scenario's prepare failed (OPS413: the script was not run): its exit status
    and the tail of its output; None when it passed or there was none."""
    prepare = report.prepare
    if prepare is None or prepare.status == "passed":
        return None
    output = tail(f"{prepare.stdout}\n{prepare.stderr}") or "(no output)"
    why = prepare.stop_reason or f"exit {prepare.exit_code}"
    return f"{why}: {output}"


@dataclass(frozen=True, slots=True)
class ScenarioRecord:
    """The scenario a loop ran with, where each part came from, and what happened to it.

    Attributes:
        scenario: the merged scenario every recorded dry-run used.
        operator: the operator's part (``--given``, ``--expect``, ``--scenario``).
        model: the model's part as used (empty when it wrote none, or it was taken out).
        derived: the part read from the request's words (:mod:`opsgen.flow.derive`).
        notes: what was dropped or changed, one line each, for the review.
        answers: the model's raw scenario answers, verbatim.
        rewritten: the model rewrote its scenario after its prepare failed.
        asked: the model was asked for a scenario at all.
    """

    scenario: Scenario
    operator: Scenario = field(default_factory=Scenario)
    model: Scenario = field(default_factory=Scenario)
    notes: tuple[str, ...] = ()
    answers: tuple[str, ...] = ()
    rewritten: bool = False
    asked: bool = False
    derived: Scenario = field(default_factory=Scenario)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            **self.scenario.to_dict(),
            "model_asked": self.asked,
            "model_rewritten": self.rewritten,
            "notes": list(self.notes),
            "model_answers": list(self.answers),
        }


class ScenarioSession:
    """The scenario through one run of the loop: written once, rewritten at most once.

    Args:
        request: the operator's words (the only thing the model sees besides its own
            scenario's prepare failure).
        lang: ``bash`` or ``ansible``.
        llm: the model client.
        operator: the operator's part, merged on top of the model's.
        target: facts about the target machine for the system prompt.
        on_stage: hears ``scenario`` each time the model is asked.
        on_token: progress of the model's answer.
        derived: the part read from the request's words by :mod:`opsgen.flow.derive`
            (its checks sit between the model's and the operator's: same name, later wins).
    """

    def __init__(
        self,
        request: str,
        lang: str,
        llm: LLMClient,
        operator: Scenario | None = None,
        *,
        target: Target | None = None,
        on_stage: Callable[[int], None] = lambda number: None,
        on_token: TokenCallback | None = None,
        derived: Scenario | None = None,
    ) -> None:
        self.request, self.lang, self.llm, self.target = request, lang, llm, target
        self.operator = operator or Scenario()
        self.derived = derived or Scenario()
        self.model = Scenario()
        self.on_stage, self.on_token = on_stage, on_token
        self.notes: list[str] = []
        self.answers: list[str] = []
        self.asked = self.rewritten = False
        self._messages: list[Message] = []

    @property
    def current(self) -> Scenario:
        """The model's part, then the request's, with the operator's on top (same name: the
        later part's)."""
        return merge_scenarios(p for p in (self.model, self.derived, self.operator)
                               if not p.empty)

    def write(self) -> None:
        """The ``scenario`` stage: the model writes the scenario from the request alone."""
        self.on_stage(1)
        self.asked = True
        self._messages = scenario_messages(self.request, self.lang, self.target)
        self._take(write_scenario(self._messages, self.llm, on_token=self.on_token))

    def _take(self, written: Written) -> None:
        self.answers.append(written.completion.text)
        self.notes += written.notes
        self.model = self._lint_model_part(written.scenario)
        shadowed = ({c.name for c in self.operator.checks} | {c.name for c in self.derived.checks}
                    ) & {c.name for c in self.model.checks}
        if shadowed:
            self.notes.append(f"the model's check(s) {', '.join(sorted(shadowed))} "
                              "are replaced by the operator's or the request's of that name")

    def _lint_model_part(self, scenario: Scenario) -> Scenario:
        """The model's scenario without the parts its lint refuses (an error: a check that
        reaches the network, touches opsgen's runner, does not parse...).

        The model read the untrusted request, and a check that cannot run in the sandbox
        proves nothing either way: such a check is dropped (and a refused prepare takes the
        model's whole scenario out, since its checks judge the state it makes), each with a
        note for the review. The operator's scenario is never edited: its errors stay
        findings, and the verdict says so.
        """
        from opsgen.validators.scenario import lint_scenario

        errors = [f for f in lint_scenario(scenario) if f.severity is Severity.ERROR]
        if not errors:
            return scenario
        first: dict[str, str] = {}
        for f in errors:
            first.setdefault(f.location.path, f"{f.code}: {_one_line(f.message, 120)}")
        if prepare_location() in first:
            self.notes.append(f"the model's prepare was refused ({first[prepare_location()]}); "
                              "its scenario was taken out")
            return Scenario()
        kept = []
        for check in scenario.checks:
            why = first.get(check_location(check.name))
            if why is None:
                kept.append(check)
            else:
                self.notes.append(f"the model's check {check.name!r} was dropped ({why})")
        return replace(scenario, checks=tuple(kept))

    def prepare_failed(self, failure: str) -> bool:
        """React to a failed prepare; True when the scenario changed and the script should
        be run again with it, False when it is the operator's prepare that fails.

        First the model rewrites its scenario, told only the failure; if the prepare fails
        again, the model's part is taken out (its checks would judge a state that could not
        be made). Bounded: at most two re-runs per loop.
        """
        if not self.model.prepare.strip():
            return False
        if not self.rewritten:
            self.rewritten = True
            self.on_stage(2)
            answer = self.answers[-1]
            self._messages = scenario_repair_messages(self._messages, answer, failure,
                                                      self.lang, self.target)
            self.notes.append(f"the model's prepare failed ({_one_line(failure)}); "
                              "it rewrote its scenario")
            self._take(write_scenario(self._messages, self.llm, on_token=self.on_token))
            return True
        self.notes.append(f"the model's rewritten prepare failed too ({_one_line(failure)}); "
                          "its scenario was taken out")
        self.model = Scenario()
        return True

    def run(self, dryrun: Callable[..., DryRunReport], script: str, lang: str) -> DryRunReport:
        """Dry-run ``script`` with the current scenario, rewriting the model's scenario when
        its prepare fails (the script is not repaired for that, it is run again)."""
        report = call_dryrun(dryrun, script, lang, self.current)
        while (failure := prepare_failure(report)) is not None and self.prepare_failed(failure):
            report = call_dryrun(dryrun, script, lang, self.current)
        return report

    def record(self) -> ScenarioRecord:
        """The frozen account for :class:`~opsgen.flow.loop.LoopResult`."""
        return ScenarioRecord(self.current, self.operator, self.model, tuple(self.notes),
                              tuple(self.answers), self.rewritten, self.asked, self.derived)


def _one_line(text: str, limit: int = 160) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."
