"""The :class:`Store`: audited writes over one workspace database (reads: :mod:`.reads`).

Every write appends its audit entry in the same transaction as the row it records, so the
log and the tables cannot disagree after a crash. Hashes are computed here, from the
bytes being stored, never taken from the caller.
"""

from __future__ import annotations

import sqlite3
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

from opsgen.errors import InputError
from opsgen.lang import LANGS
from opsgen.redact import redact
from opsgen.store import audit, db
from opsgen.store.canonical import sha256_text
from opsgen.store.evidence import Evidence
from opsgen.store.models import Change, Decision, EvidenceRecord, ExportRecord, Revision
from opsgen.store.reads import StoreReads
from opsgen.store.workspace import Workspace

__all__ = ["Store", "check_person"]


def check_person(value: str, what: str = "name") -> str:
    """Validate a person's name as given to ``--by``: shown in reviews, commits and manifests."""
    value = value.strip()
    if not value or len(value) > 100:
        raise InputError(f"{what} must be 1-100 characters")
    if any(unicodedata.category(c) in {"Cc", "Cf"} for c in value):
        raise InputError(f"{what} must not contain control or formatting characters")
    return value


class Store(StoreReads):
    """Changes, revisions, evidence, decisions and exports of one workspace."""

    def __init__(self, conn: sqlite3.Connection, workspace: Workspace) -> None:
        self.conn = conn
        self.workspace = workspace

    @classmethod
    def open(cls, workspace: Workspace, *, create: bool = False) -> Store:
        """Open the workspace's store; create it only when ``create`` (imports do)."""
        if not workspace.exists():
            if not create:
                raise InputError(
                    f"no opsgen workspace at {workspace.path}",
                    reference="no-workspace",
                    hint="import a script first (opsgen import FILE) or pass --workspace",
                )
            workspace.ensure()
        conn = db.connect(workspace.db_path)
        workspace.db_path.chmod(0o600)
        return cls(conn, workspace)

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @contextmanager
    def write(self) -> Iterator[None]:
        """A write transaction; nested calls join the outer one (approve = check + insert)."""
        if self.conn.in_transaction:
            yield
            return
        with db.transaction(self.conn):
            yield

    # -- writes ---------------------------------------------------------------------------

    def create_change(
        self,
        *,
        name: str,
        request: str,
        lang: str,
        image: str,
        script: str,
        actor: str,
        source: str,
    ) -> tuple[Change, Revision]:
        """Create a change and its first revision."""
        if lang not in LANGS:
            raise InputError(f"unknown language {lang!r}; use one of {', '.join(LANGS)}")
        actor = check_person(actor, "author")
        with self.write():
            cur = self.conn.execute(
                "INSERT INTO changes (name, request, lang, image, source, created_at, created_by)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (name, request, lang, image, source, audit.now(), actor),
            )
            change = self.change(int(cur.lastrowid or 0))
            audit.append(
                self.conn,
                actor=actor,
                action="create",
                change_id=change.id,
                payload={
                    "name": name,
                    "lang": lang,
                    "image": image,
                    "source": source,
                    "request_sha256": sha256_text(request),
                },
            )
            revision = self.add_revision(change.id, script, actor=actor, note="created")
        return change, revision

    def add_revision(self, change_id: int, script: str, *, actor: str, note: str = "") -> Revision:
        """Store a new revision; any approval of an earlier one stops applying."""
        actor = check_person(actor, "author")
        with self.write():
            row = self.conn.execute(
                "SELECT COALESCE(MAX(number), 0) AS n FROM revisions WHERE change_id = ?",
                (change_id,),
            ).fetchone()
            number = int(row["n"]) + 1
            digest = sha256_text(script)
            cur = self.conn.execute(
                "INSERT INTO revisions (change_id, number, script, sha256, created_at, author,"
                " note) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (change_id, number, script, digest, audit.now(), actor, note),
            )
            audit.append(
                self.conn,
                actor=actor,
                action="revise",
                change_id=change_id,
                payload={"revision_id": cur.lastrowid, "number": number, "sha256": digest},
            )
        return self.revision(change_id, number)

    def add_evidence(self, revision: Revision, evidence: Evidence, *, actor: str) -> EvidenceRecord:
        """Store the evidence of one lint + dry-run of ``revision``."""
        body, digest = evidence.canonical, evidence.sha256
        with self.write():
            cur = self.conn.execute(
                "INSERT INTO evidence (revision_id, body, sha256, image_id, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (revision.id, body, digest, evidence.image_id, audit.now()),
            )
            dryrun = {None: "not run", True: "passed", False: "failed"}[evidence.dryrun_ok]
            audit.append(
                self.conn,
                actor=check_person(actor, "actor"),
                action="dry-run",
                change_id=revision.change_id,
                payload={
                    "evidence_id": cur.lastrowid,
                    "revision_id": revision.id,
                    "sha256": digest,
                    "dryrun": dryrun,
                    "errors": len(evidence.errors),
                },
            )
        record = self.latest_evidence(revision.id)
        assert record is not None
        return record

    def add_decision(
        self,
        revision: Revision,
        record: EvidenceRecord | None,
        *,
        kind: str,
        by: str,
        comment: str,
        override: str = "",
    ) -> Decision:
        """Record an approval or rejection bound to the revision's and evidence's hashes.

        A rejection may have no evidence (a script rejected on sight); an approval always has.
        """
        by = check_person(by, "--by")
        # free text is redacted as the audit log redacts it (store.audit.FREE_TEXT)
        comment, override = redact(comment, scan=True), redact(override, scan=True)
        if kind not in {"approve", "reject"} or (kind == "approve" and record is None):
            raise ValueError(f"bad decision {kind!r} (approvals need evidence)")
        evidence_sha = record.sha256 if record else ""
        with self.write():
            cur = self.conn.execute(
                "INSERT INTO decisions (change_id, revision_id, kind, by, comment, override,"
                " revision_sha256, evidence_sha256, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    revision.change_id,
                    revision.id,
                    kind,
                    by,
                    comment,
                    override,
                    revision.sha256,
                    evidence_sha,
                    audit.now(),
                ),
            )
            decision_id = int(cur.lastrowid or 0)
            audit.append(
                self.conn,
                actor=by,
                action=kind,
                change_id=revision.change_id,
                payload={
                    "decision_id": decision_id,
                    "revision_id": revision.id,
                    "revision_sha256": revision.sha256,
                    "evidence_sha256": evidence_sha,
                    "evidence_id": record.id if record else None,
                    "comment": comment,
                    "override": override,
                },
            )
            if override:
                audit.append(
                    self.conn,
                    actor=by,
                    action="override",
                    change_id=revision.change_id,
                    payload={"decision_id": decision_id, "reason": override},
                )
        row = self.conn.execute("SELECT * FROM decisions WHERE id = ?", (decision_id,))
        return Decision.from_row(row.fetchone())

    def add_export(
        self,
        revision: Revision,
        *,
        kind: str,
        target: str,
        ref: str,
        commit_sha: str,
        manifest_sha256: str,
        actor: str,
        required: int,
    ) -> ExportRecord:
        """Record a finished export (the artifact is already in place)."""
        with self.write():
            cur = self.conn.execute(
                "INSERT INTO exports (change_id, revision_id, kind, target, ref, commit_sha,"
                " manifest_sha256, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    revision.change_id,
                    revision.id,
                    kind,
                    target,
                    ref,
                    commit_sha,
                    manifest_sha256,
                    audit.now(),
                ),
            )
            export_id = int(cur.lastrowid or 0)
            audit.append(
                self.conn,
                actor=check_person(actor, "actor"),
                action="export",
                change_id=revision.change_id,
                payload={
                    "export_id": export_id,
                    "revision_id": revision.id,
                    "revision_sha256": revision.sha256,
                    "kind": kind,
                    "target": target,
                    "ref": ref,
                    "commit": commit_sha,
                    "manifest_sha256": manifest_sha256,
                    "required_approvals": required,
                },
            )
        row = self.conn.execute("SELECT * FROM exports WHERE id = ?", (export_id,))
        return ExportRecord.from_row(row.fetchone())
