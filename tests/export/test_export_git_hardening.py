"""Git export runs nothing the target repository configures (issue 14, point 9).

A repository's ``.git/config`` and ``.gitattributes`` can name programs that git runs on
its own: ``core.fsmonitor`` (on every index read), ``filter.X.clean`` (when content is
hashed for a path), ``gpg.program`` (when ``commit.gpgSign`` is on). Each test plants one
that writes a marker file, exports, checks that no marker exists and that the committed
blob is exactly the approved bytes, then runs plain git to prove the trap is armed.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from opsgen.errors import ExportError
from opsgen.export import export_change
from opsgen.export.service import ExportResult
from opsgen.flow.testing import SCRIPT
from opsgen.store.repo import Store


def git(repo: Path, *args: str, data: bytes | None = None) -> bytes:
    """Plain git, as a user would run it (the repository's config applies)."""
    return subprocess.run(
        ["git", "-C", str(repo), *args], input=data, check=True, capture_output=True
    ).stdout


def _export(store: Store, change_id: int, repo: Path) -> ExportResult:
    return export_change(store, change_id, actor="ops", repo=repo)


def _trap(path: Path, marker: Path, *, tail: str = "") -> str:
    """A shell script that records it ran in ``marker``; returns its path."""
    path.write_text(f"#!/bin/sh\necho ran >> '{marker}'\n{tail}")
    path.chmod(0o755)
    return str(path)


def _blob(repo: Path, branch: str, path: str) -> bytes:
    return git(repo, "cat-file", "blob", f"{branch}:{path}")


def test_core_fsmonitor_of_the_repository_is_not_run(
    store: Store, approved: int, repo: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "fsmonitor-ran"
    git(repo, "config", "core.fsmonitor", _trap(tmp_path / "fsmonitor.sh", marker))
    result = _export(store, approved, repo)
    assert not marker.exists()
    assert _blob(repo, result.branch, "scripts/motd.sh") == SCRIPT.encode()
    git(repo, "status", "--porcelain")  # control: plain git does run it
    assert marker.exists()


def test_a_gitattributes_clean_filter_is_not_run(
    store: Store, approved: int, repo: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "filter-ran"
    # The filter would also rewrite the bytes: a run of it shows up in the blob as well.
    clean = _trap(tmp_path / "clean.sh", marker, tail="exec sed s/hello/EVIL/\n")
    git(repo, "config", "filter.evil.clean", clean)
    git(repo, "config", "filter.evil.smudge", clean)
    (repo / ".gitattributes").write_text("* filter=evil\n*.sh filter=evil\n")
    git(repo, "add", ".gitattributes")
    git(repo, "commit", "-q", "-m", "attributes")
    marker.unlink(missing_ok=True)  # `git add` above ran it (the control, once)
    result = _export(store, approved, repo)
    assert not marker.exists()
    assert _blob(repo, result.branch, "scripts/motd.sh") == SCRIPT.encode()
    out = git(repo, "hash-object", "--path", "scripts/motd.sh", "--stdin", data=SCRIPT.encode())
    assert marker.exists() and out.strip()  # control: hashing for a path runs it


def test_commit_signing_programs_are_not_run(
    store: Store, approved: int, repo: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "gpg-ran"
    git(repo, "config", "commit.gpgSign", "true")
    git(repo, "config", "gpg.program", _trap(tmp_path / "gpg.sh", marker, tail="exit 1\n"))
    result = _export(store, approved, repo)
    assert not marker.exists()
    assert _blob(repo, result.branch, "scripts/motd.sh") == SCRIPT.encode()
    # commit-tree signs only when asked (-S); export also passes --no-gpg-sign and
    # overrides the config, so a future git honouring commit.gpgSign changes nothing.
    with pytest.raises(subprocess.CalledProcessError):  # control: the program is armed
        git(repo, "commit-tree", "-S", "HEAD^{tree}", "-m", "x")
    assert marker.exists()


def test_hooks_of_every_kind_are_not_run(
    store: Store, approved: int, repo: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "hook-ran"
    hooks = repo / ".git/hooks"
    for hook in ("reference-transaction", "post-index-change", "post-commit", "pre-commit"):
        _trap(hooks / hook, marker)
    _export(store, approved, repo)
    assert not marker.exists()
    git(repo, "update-ref", "refs/heads/control", "HEAD")  # control: reference-transaction
    assert marker.exists()


def test_the_users_global_identity_is_still_used(
    store: Store,
    approved: int,
    repo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Export reads no global config while it works, but the author is still the user.
    git(repo, "config", "--unset", "user.name")
    git(repo, "config", "--unset", "user.email")
    glob = tmp_path / "gitconfig"
    glob.write_text("[user]\n\tname = Global Person\n\temail = global@example.invalid\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(glob))
    result = _export(store, approved, repo)
    author = git(repo, "log", "-1", "--format=%an <%ae>", result.commit).decode().strip()
    assert author == "Global Person <global@example.invalid>"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the repository away")
def test_a_repository_the_user_trusted_globally_still_opens(
    store: Store,
    approved: int,
    repo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Another user's repository: git refuses it unless the user's global config trusts it.
    for path in [repo, *repo.rglob("*")]:
        os.lchown(path, 4321, 4321)
    glob = tmp_path / "gitconfig"
    glob.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(glob))
    with pytest.raises(ExportError, match="dubious ownership"):
        _export(store, approved, repo)
    glob.write_text(f"[safe]\n\tdirectory = {repo}\n")
    result = _export(store, approved, repo)
    assert result.commit
