"""Git export with plumbing only: no checkout, no working tree, no user index touched.

The commit is built in a temporary index (``GIT_INDEX_FILE``): ``read-tree`` of the branch
tip, ``hash-object -w`` for each file, ``update-index --index-info``, ``write-tree``,
``commit-tree``, then one ``update-ref`` that compares-and-swaps the branch from the tip we
read. Until that last step the branch is untouched, so a killed export leaves at most
unreachable objects that ``git gc`` drops, never a half-made commit on a branch.

A branch checked out in any working tree is refused (:class:`DirtyWorktree`): moving its
ref under the working tree would make the user's checkout show our files as deleted.

Exporting runs nothing the target repository configures (issue 14): a repository's
``.git/config`` can name programs git starts on its own (``core.fsmonitor`` on every index
read, hooks on ``update-ref``, ``filter.X.clean`` named by ``.gitattributes`` when content is
hashed for a path, ``gpg.program`` when signing). Every git call gets ``-c`` overrides that
switch those off (command-line config beats every config file), reads no system or global
config, inherits no ``GIT_*`` variable but the identity and ``GIT_EXEC_PATH``, and uses
only plumbing that applies no content filter (``hash-object --no-filters`` from stdin).
Nothing is fetched or pushed, so transports, credential helpers and ``core.sshCommand``
never come into play (and are off anyway). The user's identity and ``safe.directory``
entries are looked up once, before, with their normal configuration: reading
configuration runs no program.
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
# The only GIT_* variables passed on: who commits, and where git's own programs live. The
# rest could point git at another repository, index or object store (GIT_DIR,
# GIT_INDEX_FILE...), inject configuration (GIT_CONFIG_COUNT, GIT_CONFIG_PARAMETERS) or name
# a program (GIT_SSH_COMMAND, GIT_EXTERNAL_DIFF, GIT_ASKPASS).
_IDENTITY = ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL")
_KEEP = (*_IDENTITY, "GIT_EXEC_PATH")
# Where the user's own configuration is: honoured only to look up their identity.
_USER_CONFIG = ("GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM", "GIT_CONFIG_NOSYSTEM")
# Every git call: settings that would make git run a configured program, overridden.
_CONFIG = (
    "core.hooksPath=/dev/null",
    "core.fsmonitor=false",
    "core.attributesFile=/dev/null",
    "core.pager=cat",
    "core.editor=true",
    "core.askPass=",
    "core.sshCommand=false",
    "credential.helper=",
    "protocol.allow=never",
    "commit.gpgSign=false",
    "gpg.program=false",
    "gc.auto=0",
    "maintenance.auto=false",
)
_HARDENED_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_ATTR_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_PAGER": "cat",
    "GIT_EDITOR": "true",
    "GIT_NO_REPLACE_OBJECTS": "1",  # read-tree/rev-parse see the real objects, not refs/replace
}


@dataclass(frozen=True, slots=True)
class GitResult:
    """The outcome of a git export."""

    branch: str
    commit: str
    created: bool  # the branch did not exist before
    unchanged: bool  # the branch already held exactly these files


def _base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("GIT_") or k in _KEEP}


class _Git:
    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self.env = {**_base_env(), **_HARDENED_ENV}
        self.trusted: list[str] = []  # the user's own safe.directory entries, passed as -c

    def __call__(
        self,
        *args: str,
        data: bytes | None = None,
        index: Path | None = None,
        check: bool = True,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[bytes]:
        env = dict(env or self.env, **({"GIT_INDEX_FILE": str(index)} if index else {}))
        settings = (*_CONFIG, *(f"safe.directory={path}" for path in self.trusted))
        overrides = [arg for setting in settings for arg in ("-c", setting)]
        cmd = ["git", "-C", str(self.repo), *overrides, *args]
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
    _adopt_user_settings(git)
    probe = git("rev-parse", "--git-dir", check=False)
    if probe.returncode != 0:
        why = probe.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ExportError(
            f"{repo} is not a git repository" + (f" ({why[0]})" if why else ""),
            reference="not-a-repo",
        )
    ref = "refs/heads/" + check_branch(branch)
    git("check-ref-format", ref)
    _refuse_checked_out(git, ref, branch)
    old = git.resolve(ref)
    parent = old or git.resolve("HEAD")
    with tempfile.TemporaryDirectory(prefix="opsgen-git-") as tmp:
        index = Path(tmp) / "index"
        if parent:
            git("read-tree", parent, index=index)
        entries = []
        for f in bundle.files:
            blob = git.out("hash-object", "-w", "--no-filters", "--stdin", data=f.data)
            mode = "100755" if f.mode & 0o111 else "100644"
            entries.append(f"{mode} {blob}\t{f.path}\0".encode())
        pause("git-objects")
        git("update-index", "-z", "--index-info", data=b"".join(entries), index=index)
        tree = git.out("write-tree", index=index)
    if old and tree == git.out("rev-parse", f"{old}^{{tree}}"):
        return GitResult(branch, old, created=False, unchanged=True)
    commit = git.out(
        "commit-tree",
        "--no-gpg-sign",
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


def _adopt_user_settings(git: _Git) -> None:
    """Carry over the two settings the export needs from the user's own configuration.

    The identity (``user.name``/``user.email``, from any scope, the repository's included)
    goes into the environment, since the git calls that follow read no global config; a
    neutral identity is the fallback rather than a failure. ``safe.directory`` entries of the
    system and global scopes only (git ignores a repository's own) are passed as ``-c``, so a
    repository the user trusted still opens. ``git config --get`` reads files, runs nothing.
    """
    lookup = dict(git.env)
    for var in _USER_CONFIG:
        lookup.pop(var, None)
        if var in os.environ:
            lookup[var] = os.environ[var]
    found: dict[str, str] = {}
    for key in ("user.name", "user.email"):
        proc = git("config", "--get", key, check=False, env=lookup)
        found[key] = proc.stdout.decode("utf-8", "replace").strip() if proc.returncode == 0 else ""
    scoped = git("config", "--show-scope", "--get-all", "safe.directory", check=False, env=lookup)
    for line in scoped.stdout.decode("utf-8", "replace").splitlines():
        scope, _, path = line.partition("\t")
        if scope in {"system", "global"} and path:
            git.trusted.append(path)
    for var in _IDENTITY:
        key = "user.name" if var.endswith("NAME") else "user.email"
        if var not in git.env:
            git.env[var] = found[key] or ("opsgen" if key == "user.name" else "opsgen@localhost")
