"""Sign-off: approvals bound to the exact script bytes and the exact evidence.

An approval records the sha256 of the revision's UTF-8 bytes and the sha256 of the evidence
(findings + dry-run report + image id). It counts only while both still match the change's
*current* revision and *newest* evidence, so an edit, a re-run dry-run or tampering with the
stored text silently turns every earlier approval stale, and export refuses. Four eyes is a
workspace policy (``require = 2``): that many distinct people must approve.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any, Literal

from opsgen.errors import OpsError, SignOffMissing
from opsgen.store.integrity import TAMPER_HINT, integrity_summary, verify_store
from opsgen.store.models import Change, Decision, EvidenceRecord, Revision
from opsgen.store.repo import Store, check_person
from opsgen.store.workspace import ReviewPolicy

__all__ = [
    "ApprovalRefused",
    "SignOff",
    "Status",
    "approve",
    "identity_key",
    "reject",
    "require_sign_off",
    "sign_off",
]

Status = Literal["draft", "failing", "ready", "approved", "rejected", "exported"]


class ApprovalRefused(OpsError):
    """An approval was refused (error findings, failed dry-run, stale or tampered state)."""

    reference = "approval-refused"
    exit_code = 6


@dataclass(frozen=True, slots=True)
class SignOff:
    """Where a change stands: its current revision, evidence and the approvals that count."""

    change: Change
    revision: Revision
    evidence: EvidenceRecord | None
    approvals: tuple[Decision, ...]
    stale: tuple[Decision, ...]
    rejection: Decision | None
    policy: ReviewPolicy
    exported: bool

    @property
    def approvers(self) -> tuple[str, ...]:
        """Distinct people whose approval counts, in approval order (first spelling shown).

        "bob" and "Bob" are one person (:func:`identity_key`): counting them twice would let
        one person satisfy a four-eyes policy alone.
        """
        first: dict[str, str] = {}
        for d in self.approvals:
            first.setdefault(identity_key(d.by), d.by)
        return tuple(first.values())

    @property
    def approved(self) -> bool:
        """Enough distinct valid approvals and no rejection of this revision."""
        return self.rejection is None and len(self.approvers) >= self.policy.require

    @property
    def blockers(self) -> list[str]:
        """Why the evidence cannot be approved without ``--override``."""
        if self.evidence is None:
            return ["no lint or dry-run evidence for this revision"]
        return self.evidence.evidence.blockers()

    @property
    def status(self) -> Status:
        """``draft`` (no dry-run yet), ``failing``, ``ready``, ``approved``, ``rejected``,
        ``exported``."""
        if self.approved:
            return "exported" if self.exported else "approved"
        if self.rejection is not None:
            return "rejected"
        if self.evidence is None:
            return "draft"
        ev = self.evidence.evidence
        if ev.errors or ev.dryrun_ok is False:
            return "failing"
        return "draft" if ev.dryrun_ok is None else "ready"

    def to_dict(self) -> dict[str, Any]:
        """JSON summary for ``list --json`` and ``show --json``."""
        return {
            "status": self.status,
            "revision": self.revision.number,
            "revision_sha256": self.revision.sha256,
            "evidence_sha256": self.evidence.sha256 if self.evidence else None,
            "approvals": [d.to_dict() for d in self.approvals],
            "stale_approvals": [d.to_dict() for d in self.stale],
            "rejection": self.rejection.to_dict() if self.rejection else None,
            "required_approvals": self.policy.require,
            "blockers": self.blockers,
        }


def sign_off(store: Store, change_id: int, policy: ReviewPolicy | None = None) -> SignOff:
    """Compute a change's sign-off state from the store (read-only)."""
    policy = policy or store.workspace.policy()
    change = store.change(change_id)
    revision = store.revision(change_id)
    record = store.latest_evidence(revision.id)
    valid: list[Decision] = []
    stale: list[Decision] = []
    rejection = None
    for d in store.decisions(change_id):
        current = d.revision_id == revision.id and d.revision_sha256 == revision.sha256
        if d.kind == "reject":
            rejection = d if current else rejection
            continue
        counts = (
            current
            and revision.intact
            and record is not None
            and record.intact
            and d.evidence_sha256 == record.sha256
            and not (policy.forbid_self_approval and _is_author(d.by, change, revision))
        )
        (valid if counts else stale).append(d)
    exported = any(e.revision_id == revision.id for e in store.exports(change_id))
    return SignOff(
        change, revision, record, tuple(valid), tuple(stale), rejection, policy, exported
    )


def approve(
    store: Store,
    change_id: int,
    *,
    by: str,
    comment: str = "",
    override: str = "",
    expect_revision: int | None = None,
) -> tuple[Decision, SignOff]:
    """Approve the current revision and evidence of a change, or raise :class:`ApprovalRefused`.

    Checks and insert run in one write transaction, so two approvers racing each other are
    serialised and both see the other's approval.

    Args:
        store: the open change store.
        change_id: the change to approve.
        by: the approver's name.
        comment: free text kept with the approval.
        override: the reason to approve despite blockers; recorded and audited.
        expect_revision: refuse unless this is still the current revision, so an edit made
            while the approver was reading cannot be approved unseen.
    """
    override = override.strip()
    by = check_person(by, "--by")
    with store.write():
        state = sign_off(store, change_id)
        if expect_revision is not None and expect_revision != state.revision.number:
            raise ApprovalRefused(
                f"change {change_id} is at revision {state.revision.number}, not "
                f"{expect_revision}; review the new revision first",
                reference="revision-moved",
                hint=f"opsgen diff {change_id} {expect_revision} {state.revision.number}",
            )
        _check_intact(state, ApprovalRefused)
        # Then the whole store, not only this revision's own hashes: bytes rewritten together
        # with their hash (and the evidence with them) agree with every row but the log.
        _require_intact_store(store, ApprovalRefused)
        record = state.evidence
        assert record is not None  # _check_intact refuses a revision without evidence
        if state.rejection is not None:
            raise ApprovalRefused(
                f"revision {state.revision.number} was rejected by {state.rejection.by}: "
                f"{state.rejection.comment}",
                hint=f"edit the change to make a new revision (opsgen edit {change_id})",
            )
        if identity_key(by) in {identity_key(name) for name in state.approvers}:
            raise ApprovalRefused(
                f"{by} already approved revision {state.revision.number}",
                reference="already-approved",
            )
        if state.policy.forbid_self_approval and _is_author(by, state.change, state.revision):
            raise ApprovalRefused(
                f"{by} wrote this change and may not approve it (four-eyes policy)",
                reference="self-approval",
            )
        if state.blockers and not override:
            raise ApprovalRefused(
                "cannot approve: " + "; ".join(state.blockers),
                hint="fix the script (opsgen edit), or approve anyway with --override REASON",
            )
        decision = store.add_decision(
            state.revision,
            record,
            kind="approve",
            by=by,
            comment=comment,
            override=override if state.blockers else "",
        )
        return decision, sign_off(store, change_id)


def reject(store: Store, change_id: int, *, by: str, reason: str) -> Decision:
    """Reject the current revision; it can no longer be approved or exported."""
    if not reason.strip():
        raise ApprovalRefused("a rejection needs a --reason")
    with store.write():
        revision = store.revision(change_id)
        record = store.latest_evidence(revision.id)
        return store.add_decision(revision, record, kind="reject", by=by, comment=reason.strip())


def require_sign_off(store: Store, change_id: int) -> SignOff:
    """The sign-off state if the change may leave, else :class:`SignOffMissing` saying why.

    Re-verifies the whole store (audit chain and every row against it) and the hashes of
    the current revision and evidence; never trusts the status computed earlier.
    """
    _require_intact_store(store, SignOffMissing)
    state = sign_off(store, change_id)
    _check_intact(state, SignOffMissing)
    if state.rejection is not None:
        raise SignOffMissing(
            f"change {change_id} revision {state.revision.number} was rejected by "
            f"{state.rejection.by}"
        )
    if not state.approved:
        raise SignOffMissing(_why_not_approved(state), hint=f"opsgen approve {change_id} --by NAME")
    return state


def _require_intact_store(store: Store, error: type[OpsError]) -> None:
    problems = verify_store(store.conn)
    if problems:
        raise error(integrity_summary(problems), reference="store-tampered", hint=TAMPER_HINT)


def _check_intact(state: SignOff, error: type[OpsError]) -> None:
    rev = state.revision
    if not rev.intact:
        raise error(
            f"change {state.change.id} revision {rev.number}: the stored script no longer "
            "matches its sha256 (edited outside opsgen)",
            reference="store-tampered",
        )
    if state.evidence is None:
        raise error(
            f"change {state.change.id} revision {rev.number} has no evidence yet",
            hint=f"re-run lint and dry-run: opsgen edit {state.change.id} --recheck",
        )
    if not state.evidence.intact:
        raise error(
            f"change {state.change.id}: the stored evidence no longer matches its sha256",
            reference="store-tampered",
        )
    dryrun = state.evidence.evidence.dryrun
    if dryrun is not None and dryrun.get("script_sha256") not in (None, rev.sha256):
        raise error(
            f"change {state.change.id} revision {rev.number}: the dry-run evidence is of other "
            "bytes than the revision",
            reference="evidence-mismatch",
            hint=f"re-run lint and dry-run: opsgen edit {state.change.id} --recheck",
        )


def _why_not_approved(state: SignOff) -> str:
    rev = state.revision
    have, need = len(state.approvers), state.policy.require
    message = f"change {state.change.id} revision {rev.number} is not approved ({have} of {need})"
    if state.stale:
        last = state.stale[-1]
        if last.revision_id != rev.id:
            message += f"; the approval by {last.by} was for an earlier revision"
        else:
            message += f"; the approval by {last.by} was for other evidence or bytes"
    return message


def identity_key(name: str) -> str:
    """The form two names are compared in: NFKC, case-folded, whitespace collapsed.

    Names given to ``--by`` are asserted, not authenticated, so the comparison must not be
    defeated by spelling: "Bob", " bob " and fullwidth "bob" (U+FF42 U+FF4F U+FF42) are
    the author "bob". NFKC is applied again after case folding, which can produce
    non-normalised text.
    """
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())
    return " ".join(folded.split())


def _is_author(name: str, change: Change, revision: Revision) -> bool:
    return identity_key(name) in {identity_key(change.created_by), identity_key(revision.author)}
