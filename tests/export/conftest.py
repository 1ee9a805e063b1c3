"""Fixtures of the export tests: a store with an approved change, real git repositories."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from opsgen.approval import approve
from opsgen.flow.testing import fake_report, make_evidence, seed_change
from opsgen.sandbox.models import CheckResult
from opsgen.scenario import Scenario
from opsgen.store.repo import Store
from opsgen.store.workspace import Workspace

#: the image the dry-runs of these changes "ran" in (the real sandbox image)
SANDBOX_IMAGE = "opsgen-sandbox:bookworm"

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


def approve_with_scenario(
    store: Store, *, script: str, scenario: Scenario, lang: str = "bash", name: str = "motd"
) -> int:
    """An approved change whose evidence is a passing dry-run that ran ``scenario`` (each
    check failing before the script and holding after it), as the sandbox records it."""
    checks = tuple(CheckResult(c.name, c.run, c.source, 1, 0) for c in scenario.checks)
    report = replace(fake_report(script, lang=lang), image=SANDBOX_IMAGE,
                     scenario=scenario.to_dict(), checks=checks)
    change, _, _ = seed_change(store, script=script, lang=lang, name=name,
                               evidence=make_evidence(report=report, script=script))
    approve(store, change.id, by="bob")
    return change.id


@pytest.fixture()
def with_scenario(store: Store) -> Callable[..., int]:
    """:func:`approve_with_scenario` on this test's store."""
    return lambda **kwargs: approve_with_scenario(store, **kwargs)


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
