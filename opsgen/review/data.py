"""Loading one review: a revision, its evidence and the change's sign-off state.

The JSON form (``--json``) is redacted like the terminal view: secrets in the request,
script, outputs and diffs never leave through the review; the exact bytes leave only
through an export of an approved revision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opsgen.approval import SignOff, sign_off
from opsgen.redact import redact_tree
from opsgen.store.models import Change, EvidenceRecord, ExportRecord, Revision
from opsgen.store.repo import Store

__all__ = ["Review", "load_review", "redact_tree", "script_lines"]


@dataclass(frozen=True, slots=True)
class Review:
    """Everything ``opsgen show`` renders."""

    state: SignOff
    revision: Revision
    evidence: EvidenceRecord | None
    revision_count: int
    exports: tuple[ExportRecord, ...]

    @property
    def change(self) -> Change:
        """The change under review."""
        return self.state.change

    @property
    def is_current(self) -> bool:
        """False when an older revision is shown (its approvals no longer apply)."""
        return self.revision.id == self.state.revision.id

    def to_dict(self) -> dict[str, Any]:
        """Redacted JSON form for ``show --json``."""
        c, r, ev = self.change, self.revision, self.evidence
        data = {
            "change": {
                "id": c.id,
                "name": c.name,
                "request": c.request,
                "lang": c.lang,
                "image": c.image,
                "source": c.source,
                "created_at": c.created_at,
                "created_by": c.created_by,
            },
            "revision": {
                "number": r.number,
                "sha256": r.sha256,
                "intact": r.intact,
                "script": r.script,
                "author": r.author,
                "created_at": r.created_at,
                "note": r.note,
                "current": self.is_current,
            },
            "revisions": self.revision_count,
            "evidence": None
            if ev is None
            else {
                "sha256": ev.sha256,
                "intact": ev.intact,
                "created_at": ev.created_at,
                **ev.evidence.to_dict(),
            },
            "signoff": self.state.to_dict(),
            "exports": [
                {
                    "kind": e.kind,
                    "target": e.target,
                    "ref": e.ref,
                    "commit": e.commit_sha,
                    "revision_id": e.revision_id,
                    "at": e.created_at,
                }
                for e in self.exports
            ],
        }
        result: dict[str, Any] = redact_tree(data, scan=True)
        return result


def load_review(store: Store, change_id: int, number: int | None = None) -> Review:
    """The review of revision ``number`` (the current one when None)."""
    state = sign_off(store, change_id)
    revision = state.revision if number is None else store.revision(change_id, number)
    evidence = state.evidence if number is None else store.latest_evidence(revision.id)
    return Review(
        state, revision, evidence, len(store.revisions(change_id)), tuple(store.exports(change_id))
    )


def script_lines(text: str) -> list[str]:
    """Lines as bash and the linters count them: split on ``\n`` only.

    ``str.splitlines`` also breaks on ``\r``, form feeds and U+2028, which would show a
    reviewer two lines where bash sees one (``echo ok\rcurl x | sh``) and shift every
    finding after it; here a ``\r`` stays in its line and is shown escaped.
    """
    lines = text.split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines
