"""The export operation: verify sign-off, write the bundle, record it, in one transaction.

The store's write lock is held from the sign-off check until the export is recorded, so no
revision, re-run dry-run or rejection can slip in between "approved" and "written".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from opsgen.approval import require_sign_off
from opsgen.errors import ExportError
from opsgen.export.atomic import write_files
from opsgen.export.bundle import build_bundle
from opsgen.export.git import export_to_git
from opsgen.export.paths import check_name
from opsgen.store.canonical import sha256_hex
from opsgen.store.repo import Store

__all__ = ["ExportResult", "export_change"]


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What an export wrote, for the CLI to print and ``--json`` to return."""

    change_id: int
    revision: int
    kind: str
    target: str
    paths: tuple[str, ...]
    manifest_sha256: str
    branch: str = ""
    commit: str = ""
    unchanged: bool = False


def export_change(
    store: Store,
    change_id: int,
    *,
    actor: str,
    to: Path | None = None,
    repo: Path | None = None,
    branch: str | None = None,
    path: str | None = None,
    name: str | None = None,
    as_role: bool = False,
    force: bool = False,
) -> ExportResult:
    """Export the approved current revision of a change to a folder (``to``) or git ``repo``.

    Raises:
        SignOffMissing: not approved, approval stale, or the store fails its integrity check.
        ExportError: bad path or name, git failure; DirtyWorktree for a checked-out branch;
            an existing file in ``to`` that no earlier export wrote (unless ``force``).
    """
    if (to is None) == (repo is None):
        raise ExportError("give exactly one of --to DIR or --repo PATH")
    with store.write():
        state = require_sign_off(store, change_id)
        name = check_name(state.change.name if name is None else name)
        lang = state.change.lang
        default_base = "" if to else ("roles" if as_role else _GIT_DIRS[lang])
        bundle = build_bundle(
            store, state, name=name, base=default_base if path is None else path, as_role=as_role
        )
        manifest_sha = sha256_hex(bundle.manifest_file.data)
        paths = tuple(f.path for f in bundle.files)
        if to is not None:
            write_files(to, bundle.files, force=force)
            kind, target, ref, commit, unchanged = "dir", str(to.resolve()), "", "", False
        else:
            assert repo is not None
            result = export_to_git(bundle, repo, branch or f"opsgen/{name}")
            kind, target, ref = "git", str(repo.resolve()), result.branch
            commit, unchanged = result.commit, result.unchanged
        store.add_export(
            state.revision,
            kind=kind,
            target=target,
            ref=ref,
            commit_sha=commit,
            manifest_sha256=manifest_sha,
            actor=actor,
            required=state.policy.require,
        )
    return ExportResult(
        change_id, state.revision.number, kind, target, paths, manifest_sha, ref, commit, unchanged
    )


_GIT_DIRS = {"bash": "scripts", "ansible": "playbooks"}
