"""Creating changes and revisions: evaluate first, then store text and evidence together.

The dry-run can take minutes, so it runs *before* the write transaction; the revision and
its evidence are then stored in one transaction, so there is never a revision whose
evidence silently belongs to other bytes. :func:`opsgen.evaluate.evaluate` is looked up at
call time, so tests replace that one seam.
"""

from __future__ import annotations

import re
from pathlib import PurePath

from opsgen import evaluate as evaluation
from opsgen.errors import OpsError
from opsgen.export.paths import check_name
from opsgen.store.models import Change, EvidenceRecord, Revision
from opsgen.store.repo import Store

__all__ = [
    "gather_evidence",
    "import_script",
    "recheck",
    "record_change",
    "revise",
    "slug",
]


def slug(path: str) -> str:
    """A safe default change name from a file name (``Fix Nginx!.sh`` -> ``fix-nginx``)."""
    stem = PurePath(path).name.split(".", 1)[0].lower()
    name = re.sub(r"[^a-z0-9._-]+", "-", stem).strip("-._")[:60]
    return name or "change"


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
) -> tuple[Change, Revision, EvidenceRecord]:
    """Make a change from an existing script or playbook, with its first evidence."""
    evidence = gather_evidence(text, lang, image, dryrun, PurePath(path).name)
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


def record_change(
    store: Store,
    text: str,
    *,
    lang: str,
    name: str,
    request: str,
    image: str,
    author: str,
    evidence: evaluation.Evidence,
    source: str = "generate",
) -> tuple[Change, Revision, EvidenceRecord]:
    """Store a change whose evidence was already gathered (``opsgen new`` lints and dry-runs
    while generating; it hands the result over here instead of running it all again)."""
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


def revise(
    store: Store, change_id: int, text: str, *, author: str, note: str = "", dryrun: bool = True
) -> tuple[Revision, EvidenceRecord]:
    """Store edited text as a new revision and its fresh evidence."""
    change = store.change(change_id)
    evidence = gather_evidence(text, change.lang, change.image, dryrun, change.name)
    with store.write():
        revision = store.add_revision(change_id, text, actor=author, note=note)
        record = store.add_evidence(revision, evidence, actor=author)
    return revision, record


def recheck(store: Store, change_id: int, *, actor: str, dryrun: bool = True) -> EvidenceRecord:
    """Lint and dry-run the current revision again; approvals of the old evidence lapse."""
    change = store.change(change_id)
    revision = store.revision(change_id)
    evidence = gather_evidence(revision.script, change.lang, change.image, dryrun, change.name)
    with store.write():
        if store.revision(change_id).id != revision.id:
            raise OpsError("a new revision was stored while re-checking; run the check again")
        return store.add_evidence(revision, evidence, actor=actor)


def gather_evidence(
    text: str, lang: str, image: str, dryrun: bool, path: str
) -> evaluation.Evidence:
    options = evaluation.dryrun_options(image or None) if dryrun else None
    return evaluation.evaluate(text, lang, dryrun=dryrun, options=options, path=path)
