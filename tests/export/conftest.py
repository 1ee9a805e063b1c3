"""Fixtures of the export tests: a store with an approved change, real git repositories."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from opsgen.approval import approve
from opsgen.flow.testing import seed_change
from opsgen.store.repo import Store
from opsgen.store.workspace import Workspace

PLAYBOOK = """\
- name: Configure motd
  hosts: all
  become: true
  vars:
    motd: hello
  tasks:
    - name: Write motd
      ansible.builtin.copy:
        dest: /etc/motd
        content: "{{ motd }}"
      notify: Noop
  handlers:
    - name: Noop
      ansible.builtin.debug:
        msg: done
"""


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` and return its stripped stdout."""
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture()
def workspace(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "ws")


@pytest.fixture()
def store(workspace: Workspace) -> Iterator[Store]:
    with Store.open(workspace, create=True) as opened:
        yield opened


@pytest.fixture()
def approved(store: Store) -> int:
    """The id of an approved bash change named ``motd``."""
    change, _, _ = seed_change(store, request="Set the motd\npassword=hunter2hunter2")
    approve(store, change.id, by="bob", comment="lgtm")
    return change.id


@pytest.fixture()
def approved_playbook(store: Store) -> int:
    """The id of an approved Ansible change named ``site``."""
    change, _, _ = seed_change(store, script=PLAYBOOK, lang="ansible", name="site")
    approve(store, change.id, by="bob")
    return change.id


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    """A git repository with one commit on ``main``, checked out, with a clean tree."""
    path = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    git(path, "config", "user.name", "Repo Owner")
    git(path, "config", "user.email", "owner@example.invalid")
    (path / "README").write_text("hello\n")
    git(path, "add", "README")
    git(path, "commit", "-q", "-m", "init")
    return path
