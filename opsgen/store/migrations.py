"""Schema migrations, from the first version on: a list of SQL scripts, never edited.

``PRAGMA user_version`` holds how many have run. A new schema change is a new entry at the
end; a released entry is never changed, because workspaces in the field ran it already.
Triggers make the evidence rows append-only: a row that an approval points at must never
change under it (the hashes would catch it, the trigger stops it happening by accident).
"""

from __future__ import annotations

__all__ = ["MIGRATIONS"]

_V1 = """
CREATE TABLE changes (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    request     TEXT NOT NULL,
    lang        TEXT NOT NULL CHECK (lang IN ('bash', 'ansible')),
    image       TEXT NOT NULL DEFAULT '',
    source      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL
);
CREATE TABLE revisions (
    id          INTEGER PRIMARY KEY,
    change_id   INTEGER NOT NULL REFERENCES changes(id),
    number      INTEGER NOT NULL,
    script      TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    author      TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    UNIQUE (change_id, number)
);
CREATE TABLE evidence (
    id          INTEGER PRIMARY KEY,
    revision_id INTEGER NOT NULL REFERENCES revisions(id),
    body        TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    image_id    TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL
);
CREATE TABLE decisions (
    id              INTEGER PRIMARY KEY,
    change_id       INTEGER NOT NULL REFERENCES changes(id),
    revision_id     INTEGER NOT NULL REFERENCES revisions(id),
    kind            TEXT NOT NULL CHECK (kind IN ('approve', 'reject')),
    by              TEXT NOT NULL,
    comment         TEXT NOT NULL DEFAULT '',
    override        TEXT NOT NULL DEFAULT '',
    revision_sha256 TEXT NOT NULL,
    evidence_sha256 TEXT NOT NULL,
    created_at      TEXT NOT NULL
);
CREATE TABLE audit (
    seq         INTEGER PRIMARY KEY,
    ts          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    change_id   INTEGER,
    payload     TEXT NOT NULL,
    prev        TEXT NOT NULL,
    hash        TEXT NOT NULL UNIQUE
);
CREATE INDEX revisions_by_change ON revisions(change_id, number);
CREATE INDEX evidence_by_revision ON evidence(revision_id, id);
CREATE INDEX decisions_by_change ON decisions(change_id, revision_id);
"""

# Version 2: exports are recorded, and the evidence tables become append-only.
_V2 = """
CREATE TABLE exports (
    id          INTEGER PRIMARY KEY,
    change_id   INTEGER NOT NULL REFERENCES changes(id),
    revision_id INTEGER NOT NULL REFERENCES revisions(id),
    kind        TEXT NOT NULL CHECK (kind IN ('dir', 'git')),
    target      TEXT NOT NULL,
    ref         TEXT NOT NULL DEFAULT '',
    commit_sha  TEXT NOT NULL DEFAULT '',
    manifest_sha256 TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
"""

_APPEND_ONLY = ("changes", "revisions", "evidence", "decisions", "exports", "audit")
_V2 += "".join(
    f"""
CREATE TRIGGER {t}_no_update BEFORE UPDATE ON {t}
BEGIN SELECT RAISE(ABORT, '{t} is append-only'); END;
CREATE TRIGGER {t}_no_delete BEFORE DELETE ON {t}
BEGIN SELECT RAISE(ABORT, '{t} is append-only'); END;
"""
    for t in _APPEND_ONLY
)

#: Index i brings a database from version i to version i + 1.
MIGRATIONS: tuple[str, ...] = (_V1, _V2)
