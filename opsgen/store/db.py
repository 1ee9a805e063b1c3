"""SQLite connections for concurrent CLI processes: WAL, a busy timeout, explicit transactions.

Two operators approving at the same moment run two processes on one database file. WAL lets
readers proceed while one writer commits; every write runs inside ``BEGIN IMMEDIATE`` so the
write lock is taken *before* anything is read, and read-check-write sequences (approve:
read the head of the audit chain, check, insert, append) cannot interleave.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from opsgen.errors import ConfigError, OpsError
from opsgen.store.migrations import MIGRATIONS

__all__ = ["SCHEMA_VERSION", "connect", "migrate", "transaction"]

SCHEMA_VERSION = len(MIGRATIONS)
_BUSY_TIMEOUT_MS = 30_000


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the database at ``path`` and bring its schema up to date."""
    try:
        conn = sqlite3.connect(path, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    except sqlite3.Error as exc:
        raise OpsError(f"cannot open the change store {path}: {exc}") from None
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")  # an acknowledged approval survives power loss
    conn.execute("PRAGMA foreign_keys = ON")
    migrate(conn)
    return conn


def migrate(conn: sqlite3.Connection) -> int:
    """Run the migrations this database has not seen; return the schema version.

    The version is re-read inside an exclusive transaction, so two processes opening a new
    workspace at once run each migration exactly once.
    """
    if _version(conn) == SCHEMA_VERSION:
        return SCHEMA_VERSION
    with transaction(conn, mode="EXCLUSIVE"):
        version = _version(conn)
        if version > SCHEMA_VERSION:
            raise ConfigError(
                f"the change store has schema version {version}, newer than this opsgen "
                f"understands ({SCHEMA_VERSION})",
                reference="store-too-new",
                hint="upgrade opsgen; never edit the store with an older version",
            )
        for index in range(version, SCHEMA_VERSION):
            for statement in _statements(MIGRATIONS[index]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {index + 1}")
    return SCHEMA_VERSION


def _version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _statements(script: str) -> Iterator[str]:
    # executescript() would COMMIT our transaction first; split on complete statements instead.
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            yield buffer.strip()
            buffer = ""
    if buffer.strip():
        raise ValueError(f"incomplete SQL statement in a migration: {buffer!r}")


@contextmanager
def transaction(conn: sqlite3.Connection, *, mode: str = "IMMEDIATE") -> Iterator[None]:
    """Run the block in one transaction that takes the write lock up front.

    Commits on success and rolls back on any exception, ``KeyboardInterrupt`` included.
    """
    if mode not in {"DEFERRED", "IMMEDIATE", "EXCLUSIVE"}:
        raise ValueError(mode)
    conn.execute(f"BEGIN {mode}")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
