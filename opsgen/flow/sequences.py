"""The declared sequences: which stages each verb runs, in which order, as data.

Like Molecule's test sequence (``create, prepare, converge, idempotence, verify,
destroy``), each verb of opsgen is a fixed sequence of named stages, declared here and
nowhere else; the code that runs a sequence walks the tuple, and a test checks that the
stages a run reports are the declared ones, in the declared order. A new stage (the
scenario issue's ``prepare`` and ``verify``) is added to :data:`CHECKS` and gets a function
in :mod:`opsgen.flow.checks`; it then runs in every sequence that checks a revision.

Stages and where they live:

=============  ==========================================================================
``scenario``   the model writes the request's scenario from the request alone
               (:class:`opsgen.flow.scenario.ScenarioSession`, called by ``run_loop``)
``generate``   the model writes an answer (:func:`opsgen.flow.loop.run_loop`)
``fix``        opsgen's deterministic fixes of that answer before its checks: ansible-lint's
               own ``--fix`` for a playbook, in the tools sandbox
               (:func:`opsgen.flow.checks.make_fix`); the model is then asked only about
               what needs judgement
``lint``       every validator (:func:`opsgen.flow.checks.lint_report`)
``dryrun``     the sandbox, twice for idempotence (:func:`opsgen.flow.checks.dryrun_report`);
               with a scenario, its prepare and checks run in the same container, and its
               text is linted like a script (OPS6xx, :func:`~opsgen.flow.checks.
               scenario_findings`), its findings in the same report
``repair``     the problems go back to the model (``run_loop``, up to ``--attempts``)
``sample``     further candidates for the consensus (``run_loop``, ``--candidates``)
``choose``     the consensus picks among the candidates (:mod:`opsgen.flow.consensus`)
``record``     the change and its evidence are stored (:mod:`opsgen.flow.record`)
``read``, ``parse``, ``convert``  a runbook becomes a script (:mod:`opsgen.runbook`)
=============  ==========================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

__all__ = ["CHECKS", "CONVERT", "DRYRUN", "EDIT", "FIX", "IMPORT", "LINT", "NEW", "RECHECK",
           "SEQUENCES", "run_sequence"]

#: the checks of one revision, inside every sequence that checks one
CHECKS: tuple[str, ...] = ("lint", "dryrun")
#: opsgen's own corrections of a model's answer, after ``generate`` and before its checks
#: (only for generated text: an imported or edited script is checked as it is)
FIX: tuple[str, ...] = ("fix",)
#: ``opsgen new``: the model writes the scenario from the request alone (what to prepare,
#: which postconditions to check), then generate, fix, check (with the scenario), repair until
#: clean (or out of attempts), sample more candidates and check them, choose, record
NEW: tuple[str, ...] = ("scenario", "generate", *FIX, *CHECKS, "repair", "sample", "choose",
                        "record")
#: ``opsgen import FILE``
IMPORT: tuple[str, ...] = (*CHECKS, "record")
#: ``opsgen edit ID`` (a new revision; the stored scenario runs again unless ``--scenario``,
#: ``--given``/``--expect`` or ``--no-scenario`` replace it)
EDIT: tuple[str, ...] = (*CHECKS, "record")
#: ``opsgen edit ID --recheck`` (new evidence for the same revision, with its scenario)
RECHECK: tuple[str, ...] = (*CHECKS, "record")
#: ``opsgen convert RUNBOOK...``, per runbook: the batch's own names for the checks and the
#: record stage (``dry-run``, ``store``), as its progress columns and JSON report name them
CONVERT: tuple[str, ...] = ("read", "parse", "convert", "lint", "dry-run", "store")
#: ``opsgen dryrun FILE`` and ``opsgen lint FILE``
DRYRUN: tuple[str, ...] = ("dryrun",)
LINT: tuple[str, ...] = ("lint",)

SEQUENCES: Mapping[str, tuple[str, ...]] = {
    "new": NEW, "import": IMPORT, "edit": EDIT, "recheck": RECHECK, "convert": CONVERT,
    "dryrun": DRYRUN, "lint": LINT,
}

State = TypeVar("State")


def run_sequence(
    stages: tuple[str, ...],
    state: State,
    table: Mapping[str, Callable[[State], State]],
    *,
    ready: Mapping[str, Callable[[State], bool]] | None = None,
    on_stage: Callable[[str], None] = lambda name: None,
) -> State:
    """Run ``stages`` in order over ``state``; each stage function returns the next state.

    ``ready[name]``, where given, decides from the state so far whether that stage runs;
    when it says no, the sequence ends there (a dry-run of a script with lint errors would
    only show what is already known to be wrong). A stage the table does not name is
    skipped: a caller runs the part of a sequence it owns. ``on_stage`` hears each stage
    as it starts.
    """
    for name in stages:
        step = table.get(name)
        if step is None:
            continue
        if ready is not None and name in ready and not ready[name](state):
            break
        on_stage(name)
        state = step(state)
    return state
