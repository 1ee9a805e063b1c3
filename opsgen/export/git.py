"""Git export with plumbing only: no checkout, no working tree, no user index touched.

The commit is built in a temporary index (``GIT_INDEX_FILE``): ``read-tree`` of the branch
tip, ``hash-object -w`` for each file, ``update-index --index-info``, ``write-tree``,
``commit-tree``, then one ``update-ref`` that compares-and-swaps the branch from the tip we
read. Until that last step the branch is untouched, so a killed export leaves at most
unreachable objects that ``git gc`` drops, never a half-made commit on a branch.

A branch checked out in any working tree is refused (:class:`DirtyWorktree`): moving its
ref under the working tree would make the user's checkout show our files as deleted.
Hooks are disabled (``core.hooksPath=/dev/null``) so exporting runs nothing from the repo.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from opsgen.errors import DirtyWorktree, ExportError
from opsgen.export.atomic import pause
from opsgen.export.bundle import Bundle
from opsgen.export.paths import check_branch

__all__ = ["GitResult", "export_to_git"]

_ZERO = "0" * 40
# Variables that would point git at another repository, index or object store.
_SCRUB = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
    "GIT_COMMON_DIR",
    "GIT_PREFIX",
)


@dataclass(frozen=True, slots=True)
class GitResult:
    """The outcome of a git export."""

    branch: str
    commit: str
    created: bool  # the branch did not exist before
    unchanged: bool  # the branch already held exactly these files


class _Git:
    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self.env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
        self.env["GIT_TERMINAL_PROMPT"] = "0"

    def __call__(
        self, *args: str, data: bytes | None = None, index: Path | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[bytes]:
        env = dict(self.env, **({"GIT_INDEX_FILE": str(index)} if index else {}))
        cmd = ["git", "-C", str(self.repo), "-c", "core.hooksPath=/dev/null", *args]
        proc = subprocess.run(cmd, input=data, capture_output=True, env=env, check=False)
        if check and proc.returncode != 0:
            detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise ExportError(f"git {args[0]} failed: {detail[-1] if detail else proc.returncode}")
        return proc

    def out(self, *args: str, data: bytes | None = None, index: Path | None = None) -> str:
        return self(*args, data=data, index=index).stdout.decode().strip()

    def resolve(self, rev: str) -> str | None:
        proc = self("rev-parse", "-q", "--verify", f"{rev}^{{commit}}", check=False)
        return proc.stdout.decode().strip() if proc.returncode == 0 else None


def export_to_git(bundle: Bundle, repo: Path, branch: str) -> GitResult:
    """Commit the bundle's files onto ``branch`` of ``repo`` (created from HEAD if missing)."""
    git = _Git(repo)
    if git("rev-parse", "--git-dir", check=False).returncode != 0:
        raise ExportError(f"{repo} is not a git repository", reference="not-a-repo")
    ref = "refs/heads/" + check_branch(branch)
    git("check-ref-format", ref)
    _refuse_checked_out(git, ref, branch)
    old = git.resolve(ref)
    parent = old or git.resolve("HEAD")
    _ensure_identity(git)
    with tempfile.TemporaryDirectory(prefix="opsgen-git-") as tmp:
        index = Path(tmp) / "index"
        if parent:
            git("read-tree", parent, index=index)
        entries = []
        for f in bundle.files:
            blob = git.out("hash-object", "-w", "--stdin", data=f.data)
            mode = "100755" if f.mode & 0o111 else "100644"
            entries.append(f"{mode} {blob}\t{f.path}\0".encode())
        pause("git-objects")
        git("update-index", "-z", "--index-info", data=b"".join(entries), index=index)
        tree = git.out("write-tree", index=index)
    if old and tree == git.out("rev-parse", f"{old}^{{tree}}"):
        return GitResult(branch, old, created=False, unchanged=True)
    commit = git.out(
        "commit-tree",
        tree,
        *(("-p", parent) if parent else ()),
        "-F",
        "-",
        data=bundle.message.encode("utf-8"),
    )
    pause("git-commit")
    update = git("update-ref", "-m", "opsgen export", ref, commit, old or _ZERO, check=False)
    if update.returncode != 0:
        raise ExportError(
            f"branch {branch} moved while exporting; nothing was changed",
            hint="run the export again",
        )
    return GitResult(branch, commit, created=old is None, unchanged=False)


def _refuse_checked_out(git: _Git, ref: str, branch: str) -> None:
    listing = git.out("worktree", "list", "--porcelain")
    for block in listing.split("\n\n"):
        lines = block.splitlines()
        if f"branch {ref}" in lines and "bare" not in lines:
            where = next((ln[9:] for ln in lines if ln.startswith("worktree ")), "?")
            raise DirtyWorktree(
                f"branch {branch} is checked out in {where}; opsgen never commits under a "
                "working tree",
                hint="export to another branch (default opsgen/NAME) and merge it, or "
                "switch that working tree to another branch first",
            )


def _ensure_identity(git: _Git) -> None:
    # commit-tree needs an identity; fall back to a neutral one rather than fail.
    for var in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
        key = "user.name" if var.endswith("NAME") else "user.email"
        if var not in git.env and git("config", key, check=False).returncode != 0:
            git.env[var] = "opsgen" if key == "user.name" else "opsgen@localhost"
