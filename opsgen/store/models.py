"""Row values of the change store, as frozen dataclasses (style.md §7.13).

A change is the unit an operator reviews; each edit adds a revision; each lint + dry-run
adds an evidence record for a revision; approvals and rejections are decisions bound to
one revision's sha256 and one evidence record's sha256.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any, Literal

from opsgen.store.canonical import sha256_text
from opsgen.store.evidence import Evidence

__all__ = ["Change", "Decision", "EvidenceRecord", "ExportRecord", "Revision"]


@dataclass(frozen=True, slots=True)
class Change:
    """What was asked for; revisions hold the script text."""

    id: int
    name: str
    request: str
    lang: str
    image: str
    source: str
    created_at: str
    created_by: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Change:
        """Build from a ``changes`` row."""
        return cls(**dict(row))


@dataclass(frozen=True, slots=True)
class Revision:
    """One version of the script; ``sha256`` is of its UTF-8 bytes, taken when stored."""

    id: int
    change_id: int
    number: int
    script: str
    sha256: str
    created_at: str
    author: str
    note: str

    @property
    def intact(self) -> bool:
        """True when the stored text still hashes to the stored sha256 (no tampering)."""
        return sha256_text(self.script) == self.sha256

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Revision:
        """Build from a ``revisions`` row."""
        return cls(**dict(row))


@dataclass(frozen=True, slots=True)
class EvidenceRecord:
    """Evidence stored for one revision, with the hash taken when it was stored."""

    id: int
    revision_id: int
    evidence: Evidence
    body: str
    sha256: str
    created_at: str

    @property
    def intact(self) -> bool:
        """True when the stored JSON still hashes to the stored sha256.

        The hash is over the stored text, not a re-serialisation of it, so a later opsgen
        whose ``Finding`` gains a field does not invalidate approvals made before.
        """
        return sha256_text(self.body) == self.sha256

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> EvidenceRecord:
        """Build from an ``evidence`` row; the body is parsed, never trusted as canonical."""
        return cls(
            id=row["id"],
            revision_id=row["revision_id"],
            evidence=Evidence.from_dict(json.loads(row["body"])),
            body=row["body"],
            sha256=row["sha256"],
            created_at=row["created_at"],
        )


@dataclass(frozen=True, slots=True)
class Decision:
    """An approval or rejection of one revision + evidence, by a named person."""

    id: int
    change_id: int
    revision_id: int
    kind: Literal["approve", "reject"]
    by: str
    comment: str
    override: str
    revision_sha256: str
    evidence_sha256: str
    created_at: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Decision:
        """Build from a ``decisions`` row."""
        return cls(**dict(row))

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``--json`` output and manifests."""
        return {
            "id": self.id,
            "kind": self.kind,
            "by": self.by,
            "comment": self.comment,
            "override": self.override,
            "revision_sha256": self.revision_sha256,
            "evidence_sha256": self.evidence_sha256,
            "at": self.created_at,
        }


@dataclass(frozen=True, slots=True)
class ExportRecord:
    """One export of a revision to a directory or a git branch."""

    id: int
    change_id: int
    revision_id: int
    kind: Literal["dir", "git"]
    target: str
    ref: str
    commit_sha: str
    manifest_sha256: str
    created_at: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> ExportRecord:
        """Build from an ``exports`` row."""
        return cls(**dict(row))
