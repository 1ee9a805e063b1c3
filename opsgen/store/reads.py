"""Typed reads of the change store, shared by :class:`~opsgen.store.repo.Store`.

Kept apart from the writes so each module stays small; every read returns frozen row values
and raises :class:`~opsgen.errors.InputError` for an id that does not exist.
"""

from __future__ import annotations

import sqlite3

from opsgen.errors import InputError
from opsgen.store.models import Change, Decision, EvidenceRecord, ExportRecord, Revision
from opsgen.store.workspace import Workspace

__all__ = ["StoreReads"]


class StoreReads:
    """Read queries over one workspace database."""

    conn: sqlite3.Connection
    workspace: Workspace

    def change(self, change_id: int) -> Change:
        """The change with this id, or :class:`InputError`."""
        row = self.conn.execute("SELECT * FROM changes WHERE id = ?", (change_id,)).fetchone()
        if row is None:
            raise InputError(
                f"no change {change_id} in {self.workspace.path}",
                reference="no-such-change",
                hint="see `opsgen list`",
            )
        return Change.from_row(row)

    def changes(self) -> list[Change]:
        """All changes, oldest first."""
        return [Change.from_row(r) for r in self.conn.execute("SELECT * FROM changes ORDER BY id")]

    def revisions(self, change_id: int) -> list[Revision]:
        """All revisions of a change, oldest first."""
        rows = self.conn.execute(
            "SELECT * FROM revisions WHERE change_id = ? ORDER BY number", (change_id,)
        )
        return [Revision.from_row(r) for r in rows]

    def revision(self, change_id: int, number: int | None = None) -> Revision:
        """Revision ``number`` of a change, the latest when None."""
        if number is None:
            row = self.conn.execute(
                "SELECT * FROM revisions WHERE change_id = ? ORDER BY number DESC LIMIT 1",
                (change_id,),
            ).fetchone()
        else:
            row = self.conn.execute(
                "SELECT * FROM revisions WHERE change_id = ? AND number = ?", (change_id, number)
            ).fetchone()
        if row is None:
            self.change(change_id)  # a clear "no change N" first
            raise InputError(
                f"change {change_id} has no revision {number}", reference="no-such-revision"
            )
        return Revision.from_row(row)

    def latest_evidence(self, revision_id: int) -> EvidenceRecord | None:
        """The newest evidence of a revision; only it counts for approval."""
        row = self.conn.execute(
            "SELECT * FROM evidence WHERE revision_id = ? ORDER BY id DESC LIMIT 1",
            (revision_id,),
        ).fetchone()
        return EvidenceRecord.from_row(row) if row else None

    def decisions(self, change_id: int) -> list[Decision]:
        """Every approval and rejection of a change, oldest first."""
        rows = self.conn.execute(
            "SELECT * FROM decisions WHERE change_id = ? ORDER BY id", (change_id,)
        )
        return [Decision.from_row(r) for r in rows]

    def exports(self, change_id: int) -> list[ExportRecord]:
        """Every export of a change, oldest first."""
        rows = self.conn.execute(
            "SELECT * FROM exports WHERE change_id = ? ORDER BY id", (change_id,)
        )
        return [ExportRecord.from_row(r) for r in rows]
