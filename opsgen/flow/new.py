"""``opsgen new`` as a function: the :data:`~opsgen.flow.sequences.NEW` sequence.

scenario → generate → fix → lint → dryrun → repair (until clean or out of attempts) → sample →
choose are :func:`~opsgen.flow.loop.run_loop`'s; ``record`` is :func:`~opsgen.flow.record.
store_result`'s. The CLI parses options, loads the model, calls :func:`new` and renders
what comes back; tests and other programs call the same function.

The scenario (issue 16) is the model's, written from the request alone, with the operator's
parts on top (the CLI reads them with :func:`~opsgen.commands.options.read_scenario`);
every dry-run prepares and checks it, so "vetted" means the request's postconditions held,
not only that it ran.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsgen.flow.checks import make_dryrun, make_fix, make_lint
from opsgen.flow.loop import Events, LoopResult, run_loop
from opsgen.flow.record import store_result
from opsgen.generator.llm import LLMClient
from opsgen.scenario import Scenario

__all__ = ["NewOutcome", "new"]


@dataclass(frozen=True, slots=True)
class NewOutcome:
    """The loop's result and, when it was recorded, the stored change."""

    result: LoopResult
    stored: dict[str, Any] | None = None


def new(
    request: str,
    lang: str,
    llm: LLMClient,
    *,
    attempts: int = 3,
    candidates: int = 3,
    max_tokens: int = 768,
    dryrun: bool = True,
    image: str | None = None,
    events: Events | None = None,
    record: bool = True,
    workspace: Path | None = None,
    author: str = "",
    name: str | None = None,
    scenario: Scenario | None = None,
    model_scenario: bool = False,
    request_checks: bool = True,
) -> NewOutcome:
    """Generate a script for ``request``, check and repair it, and record the result.

    Args:
        request: the operator's words (data, never instructions to opsgen).
        lang: ``bash`` or ``ansible``.
        llm: a loaded model client.
        attempts: the most generations (repairs + 1).
        candidates: answers weighed by what they did in the sandbox (needs the dry-run).
        max_tokens: the token budget of each generation.
        dryrun: run the sandbox (False: lint only, the result is "unverified").
        image: sandbox image for the dry-run.
        events: progress hooks.
        record: store the chosen script and its evidence as a change.
        workspace, author, name: where and as whom to record it.
        scenario: the operator's scenario (``--given``, ``--expect``, ``--scenario``).
        model_scenario: have the model write a scenario from the request alone too (the
            operator's checks replace its checks of the same name).
        request_checks: check what the request's words say plainly (a home directory,
            a mode, an owner, groups, a sysctl, a cron time...: :mod:`opsgen.flow.derive`).
    """
    result = run_loop(
        request,
        lang,
        llm,
        lint=make_lint(request),
        fix=make_fix(),
        dryrun=make_dryrun(image=image) if dryrun else None,
        attempts=attempts,
        max_tokens=max_tokens,
        events=events,
        candidates=candidates,
        scenario=scenario,
        model_scenario=model_scenario,
        request_checks=request_checks,
    )
    stored = None
    if record:
        stored = store_result(result, workspace=workspace, author=author, image=image or "",
                              name=name)
    return NewOutcome(result, stored)
