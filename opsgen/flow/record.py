"""The ``record`` stage: a checked script and its evidence become a change in the store.

One body for every sequence (``new``, ``import``, ``convert``, ``edit``): the checks run
*before* the write transaction (a dry-run can take minutes), then the revision and its
evidence are stored in one transaction, so there is never a revision whose evidence
silently belongs to other bytes. ``opsgen new`` has already linted and dry-run the chosen
script in its loop; that evidence is stored as is, not gathered a second time.
:func:`opsgen.flow.checks.evaluate` is looked up at call time, so tests replace that one
seam.

A change's scenario lives in its evidence (the dry-run report's ``scenario``), so it
follows the change: :func:`revise` and :func:`recheck` run the scenario of the latest
evidence that has a dry-run (:func:`stored_scenario`) unless they are given another one;
an edit that gives a new scenario (or drops it) makes a new revision even for the same
bytes, so an approval of the old checks never covers the new ones.
"""

from __future__ import annotations

from pathlib import Path, PurePath
from typing import Any

from opsgen.errors import InputError, OpsError, SandboxError
from opsgen.flow import checks as evaluation
from opsgen.flow.loop import LoopResult
from opsgen.names import change_name, check_name, slug
from opsgen.scenario import Scenario
from opsgen.store.evidence import Evidence
from opsgen.store.models import Change, EvidenceRecord, Revision
from opsgen.store.repo import Store
from opsgen.store.workspace import resolve_workspace

__all__ = ["gather_evidence", "import_script", "loop_evidence", "recheck", "record_change",
           "revise", "store_result", "stored_scenario"]


def record_change(
    store: Store,
    text: str,
    *,
    lang: str,
    name: str,
    request: str,
    image: str,
    author: str,
    evidence: Evidence,
    source: str = "generate",
) -> tuple[Change, Revision, EvidenceRecord]:
    """Store a change whose evidence was already gathered, in one transaction."""
    name = check_name(name)
    with store.write():
        change, revision = store.create_change(
            name=name,
            request=request,
            lang=lang,
            image=image,
            script=text,
            actor=author,
            source=source,
        )
        record = store.add_evidence(revision, evidence, actor=author)
    return change, revision, record


def gather_evidence(
    text: str, lang: str, image: str, dryrun: bool, path: str,
    scenario: Scenario | None = None,
) -> Evidence:
    """Lint and (unless ``dryrun`` is False) dry-run twice: the evidence of one revision;
    ``scenario`` is prepared and checked in the dry-run (and so is part of the evidence)."""
    options = evaluation.dryrun_options(image or None) if dryrun else None
    if scenario is None:  # the seam's old signature: tests replace evaluate
        return evaluation.evaluate(text, lang, dryrun=dryrun, options=options, path=path)
    return evaluation.evaluate(text, lang, dryrun=dryrun, options=options, path=path,
                               scenario=scenario)


def import_script(
    store: Store,
    text: str,
    *,
    path: str,
    lang: str,
    name: str | None,
    request: str,
    image: str,
    author: str,
    dryrun: bool = True,
    scenario: Scenario | None = None,
) -> tuple[Change, Revision, EvidenceRecord]:
    """Make a change from an existing script or playbook, with its first evidence
    (``scenario`` prepared and checked in its dry-run)."""
    evidence = gather_evidence(text, lang, image, dryrun, PurePath(path).name,
                               scenario=_runnable(scenario))
    return record_change(
        store,
        text,
        lang=lang,
        name=name or slug(path),
        request=request,
        image=image,
        author=author,
        evidence=evidence,
        source="import",
    )


def stored_scenario(store: Store, change_id: int) -> Scenario | None:
    """The scenario of the change's latest evidence that has a dry-run (None: none).

    Evidence without a dry-run (``--no-dryrun``, or no sandbox) ran no scenario and says
    nothing about it, so the search goes on to the evidence before; a dry-run without a
    scenario ends it (the scenario was dropped, or never given). Evidence whose stored
    bytes no longer match their hash is refused, not trusted for its checks.
    """
    for revision in reversed(store.revisions(change_id)):
        record = store.latest_evidence(revision.id)
        if record is None or record.evidence.dryrun is None:
            continue
        if not record.intact:
            raise OpsError(
                f"the evidence of change {change_id} revision {revision.number} does not "
                "match its hash; its scenario is not reused",
                reference="evidence-tampered",
                hint="run `opsgen audit verify`; give the scenario again with --scenario",
            )
        scenario = Scenario.from_dict(record.evidence.dryrun.get("scenario"))
        return None if scenario.empty else scenario
    return None


def _runnable(scenario: Scenario | None) -> Scenario | None:
    """None for no scenario or an empty one (nothing to prepare or check)."""
    return None if scenario is None or scenario.empty else scenario


def revise(
    store: Store, change_id: int, text: str, *, author: str, note: str = "",
    dryrun: bool = True, scenario: Scenario | None = None,
) -> tuple[Revision, EvidenceRecord]:
    """Store edited text as a new revision and its fresh evidence.

    Args:
        store, change_id: the change.
        text: the new text (the same bytes are fine when ``scenario`` replaces the old one).
        author, note: who made the revision and why.
        dryrun: dry-run the revision (a scenario runs only in the dry-run).
        scenario: None keeps the scenario of the latest evidence (:func:`stored_scenario`);
            a scenario replaces it, and an empty :class:`Scenario` drops it. Either needs
            the dry-run to run: a scenario the new evidence does not hold would be lost, so
            nothing is stored then (:class:`SandboxError`; without ``dryrun``,
            :class:`InputError`).
    """
    change = store.change(change_id)
    replacing = scenario is not None
    if replacing and not dryrun:
        raise InputError("a scenario runs in the dry-run: replacing it needs --dryrun",
                         reference="bad-scenario")
    runs = _runnable(scenario) if replacing else stored_scenario(store, change_id)
    evidence = gather_evidence(text, change.lang, change.image, dryrun, change.name,
                               scenario=runs)
    if replacing and evidence.dryrun is None:
        raise SandboxError(f"nothing stored: the new scenario needs a dry-run, and "
                           f"{evidence.dryrun_skipped}", reference="scenario-not-run")
    with store.write():
        revision = store.add_revision(change_id, text, actor=author, note=note)
        record = store.add_evidence(revision, evidence, actor=author)
    return revision, record


def recheck(store: Store, change_id: int, *, actor: str, dryrun: bool = True) -> EvidenceRecord:
    """Lint and dry-run the current revision again, with the stored scenario; approvals of
    the old evidence lapse."""
    change = store.change(change_id)
    revision = store.revision(change_id)
    evidence = gather_evidence(revision.script, change.lang, change.image, dryrun, change.name,
                               scenario=stored_scenario(store, change_id))
    with store.write():
        if store.revision(change_id).id != revision.id:
            raise OpsError("a new revision was stored while re-checking; run the check again")
        return store.add_evidence(revision, evidence, actor=actor)


def loop_evidence(result: LoopResult) -> Evidence:
    """The evidence the repair loop gathered for its chosen script (same bytes, same run)."""
    final = result.final
    findings = tuple(final.lint.findings) if final.lint is not None else ()
    if final.dryrun is not None:
        return evaluation.stored_evidence(findings, final.dryrun)
    why = "dry-run not requested" if not result.dryrun_enabled else "not run: lint errors"
    return Evidence(findings, None, "", why)


def store_result(
    result: LoopResult,
    *,
    workspace: Path | None,
    author: str,
    image: str = "",
    name: str | None = None,
) -> dict[str, Any]:
    """Create the change with the loop's chosen script and its evidence; return its id,
    name, revision hash, sign-off state and workspace."""
    from opsgen.approval import sign_off

    script = result.final.script or ""
    with Store.open(resolve_workspace(workspace), create=True) as store:
        change, revision, _ = record_change(
            store,
            script,
            lang=result.lang,
            name=name or change_name(result.request),
            request=result.request,
            image=image,
            author=author,
            evidence=loop_evidence(result),
            source="generate",
        )
        state = sign_off(store, change.id)
    return {
        "change": change.id,
        "name": change.name,
        "revision_sha256": revision.sha256,
        "sign_off": state.status,
        "workspace": str(store.workspace.path),
    }
