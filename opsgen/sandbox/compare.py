"""Turning two states of the same paths into the :class:`SystemDiff` an operator reads."""

from __future__ import annotations

import difflib

from opsgen.sandbox.accounts import account_changes, cron_changes, package_changes
from opsgen.sandbox.dpkgfiles import annotate
from opsgen.sandbox.models import ChangeKind, FileChange, FileMeta, ServiceIntent, SystemDiff
from opsgen.sandbox.observe import State

__all__ = ["diff_states"]

#: Files whose text must not be shown: they hold password hashes.
SENSITIVE = {"/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-"}
_DIFF_LINES = 400


def _text(content: bytes | None) -> str | None:
    if content is None or b"\x00" in content:
        return None
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _notes(before: FileMeta | None, after: FileMeta | None) -> tuple[str, ...]:
    if before is None or after is None:
        return ()
    notes = []
    if before.ftype != after.ftype:
        notes.append(f"type {before.ftype} -> {after.ftype}")
    if before.mode != after.mode:
        notes.append(f"mode {before.mode:04o} -> {after.mode:04o}")
    if (before.uid, before.gid) != (after.uid, after.gid):
        notes.append(f"owner {before.uid}:{before.gid} -> {after.uid}:{after.gid}")
    if before.link_target != after.link_target:
        notes.append(f"link {before.link_target} -> {after.link_target}")
    return tuple(notes)


def _unified(path: str, old: bytes | None, new: bytes | None) -> tuple[str, bool]:
    """(diff text, binary?) for a file's content change."""
    if path in SENSITIVE:
        return "", False
    a = _text(old) if old is not None else ""
    b = _text(new) if new is not None else ""
    if a is None or b is None:
        return "", True
    lines = list(
        difflib.unified_diff(
            a.splitlines(keepends=True),
            b.splitlines(keepends=True),
            fromfile=f"a{path}" if old is not None else "/dev/null",
            tofile=f"b{path}" if new is not None else "/dev/null",
        )
    )
    if len(lines) > _DIFF_LINES:
        lines = [*lines[:_DIFF_LINES], f"... {len(lines) - _DIFF_LINES} more diff lines\n"]
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    ), False


def _file_change(
    path: str, before: FileMeta | None, after: FileMeta | None, old: bytes | None, new: bytes | None
) -> FileChange | None:
    if before is None and after is None:
        return None
    if before is not None and after is not None and before.same_content(after):
        return None
    change: ChangeKind
    if before is None:
        change = "added"
    elif after is None:
        change = "deleted"
    else:
        change = "modified"
    text, binary = "", False
    is_file = (after or before).ftype == "file"  # type: ignore[union-attr]
    if is_file and change != "deleted" and (before is None or before.sha256 != after.sha256):  # type: ignore[union-attr]
        text, binary = _unified(path, old, new)
    notes = list(_notes(before, after))
    if path in SENSITIVE and change != "deleted":
        notes.append("contents not shown: password hashes")
    if binary:
        notes.append(f"binary, {after.size} bytes, sha256 {after.sha256[:16]}")  # type: ignore[union-attr]
    return FileChange(
        path=path,
        change=change,
        before=before,
        after=after,
        diff=text,
        binary=binary,
        notes=tuple(notes),
    )


def diff_states(
    before: State, after: State, services: tuple[ServiceIntent, ...] = ()
) -> SystemDiff:
    """Compare the same paths in two states; unchanged paths and directories drop out."""
    files: list[FileChange] = []
    for path in sorted(set(before) | set(after)):
        b, a = before.get(path), after.get(path)
        change = _file_change(
            path,
            b.meta if b else None,
            a.meta if a else None,
            b.content if b else None,
            a.content if a else None,
        )
        if change is None:
            continue
        # A directory that only changed because its children did is not news.
        if (
            change.change == "modified"
            and change.after
            and change.after.ftype == "dir"
            and not change.notes
        ):
            continue
        files.append(change)

    def content(state: State, path: str) -> bytes | None:
        obs = state.get(path)
        return obs.content if obs else None

    users, groups = account_changes(
        {p: content(before, p) for p in before}, {p: content(after, p) for p in after}
    )
    packages = package_changes(
        content(before, "/var/lib/dpkg/status"),
        content(after, "/var/lib/dpkg/status"),
        "/var/lib/dpkg/status" in before or "/var/lib/dpkg/status" in after,
    )
    # Whose files these are: a package's own files are counted under it in the review.
    annotated, packages_shown = annotate(files, packages, before, after)
    cron = cron_changes(
        {p: content(before, p) for p in before}, {p: content(after, p) for p in after}
    )
    return SystemDiff(
        files=annotated,
        users=tuple(users),
        groups=tuple(groups),
        packages=packages_shown,
        cron=tuple(cron),
        services=services,
    )
