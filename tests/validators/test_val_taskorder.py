"""Accounts made before the task that names them (issue 11): ``taskorder.accounts_first``.

A folder owned by ``metrics`` written before the ``user`` task that creates ``metrics``
fails ("chown failed: failed to look up user metrics"); the user and group tasks move up,
whole, and only where nothing they might need is passed over.
"""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from opsgen.validators.ansible.argfix import correct_arguments
from opsgen.validators.ansible.taskorder import accounts_first

PLAY = "- name: P\n  hosts: all\n  gather_facts: false\n  tasks:\n"

FOLDER = """\
    - name: Home folder
      ansible.builtin.file:
        path: /srv/metrics
        state: directory
        owner: metrics
        group: metrics
        mode: "0750"
"""
GROUP = """\
    - name: Group
      ansible.builtin.group:
        name: metrics
        system: true
"""
USER = """\
    - name: User
      ansible.builtin.user:
        name: metrics
        group: metrics
        system: true
        home: /srv/metrics
"""


def test_the_user_and_its_group_move_before_the_folder_they_own() -> None:
    text = PLAY + FOLDER + "\n    # the account\n" + GROUP + USER
    fixed, notes = accounts_first(text)
    assert fixed == PLAY + "    # the account\n" + GROUP + "\n" + USER + FOLDER
    assert len(notes) == 2
    assert notes[0].startswith("line 14: the group metrics task moved before line 5")
    assert notes[1].startswith("line 18: the user metrics task moved before line 5")
    assert accounts_first(fixed) == (fixed, ())  # already in order: nothing to do


def test_correct_arguments_reports_the_move_as_a_correction() -> None:
    fixed = correct_arguments(PLAY + FOLDER + USER)
    assert fixed.text == PLAY + USER + FOLDER
    assert fixed.notes == (
        "corrected line 12: the user metrics task moved before line 5, which names it (an "
        "owner or group that does not exist yet fails that task)",)


def test_a_group_named_by_a_user_moves_before_that_user() -> None:
    user = USER.replace("group: metrics", "groups: [adm, ops]")
    group = GROUP.replace("name: metrics", "name: ops")
    fixed, notes = accounts_first(PLAY + user + group)
    assert fixed == PLAY + group + user and len(notes) == 1


def test_tasks_inside_a_block_are_ordered_within_the_block() -> None:
    inner = textwrap.indent(FOLDER + USER, "    ")
    text = PLAY + "    - name: B\n      block:\n" + inner + "    - name: After\n" \
        "      ansible.builtin.debug:\n        msg: done\n"
    fixed, notes = accounts_first(text)
    assert textwrap.indent(USER + FOLDER, "    ") in fixed and len(notes) == 1
    assert fixed.endswith("    - name: After\n      ansible.builtin.debug:\n        msg: done\n")


@pytest.mark.parametrize("user", [
    USER + "      when: make_user | bool\n",  # conditional: maybe not made at all
    USER.replace("name: metrics", "name: \"{{ account }}\""),  # templated name
    USER.replace("system: true", "state: absent"),  # removes the account
    USER.replace("home: /srv/metrics", "home: /srv/metrics/home"),  # under the folder passed
    "    - name: User\n      ansible.builtin.user: name=metrics system=true\n",  # free form
])
def test_what_is_not_certain_stays_where_it_is(user: str) -> None:
    text = PLAY + FOLDER + user
    assert accounts_first(text) == (text, ())


def test_handlers_and_broken_yaml_are_left_alone() -> None:
    handlers = PLAY + "    - name: X\n      ansible.builtin.debug:\n        msg: x\n" \
        "  handlers:\n" + FOLDER + USER
    assert accounts_first(handlers) == (handlers, ())
    for text in ("- hosts: all\n  tasks: [oops\n", "", PLAY + "    - {name: F, file: {}}\n"):
        assert accounts_first(text) == (text, ())


@pytest.mark.docker
def test_the_moved_play_runs_where_the_written_one_fails(docker_client: Any,
                                                          no_leaks: None) -> None:
    """Control first: as written, the chown fails in the sandbox; corrected, it passes."""
    from opsgen.sandbox import DryRunOptions, dryrun

    text = PLAY + FOLDER + GROUP + USER
    options = DryRunOptions(timeout=120)
    before = dryrun(text, "ansible", options, client=docker_client)
    assert before.runs[0].status == "failed"
    assert "failed to look up user metrics" in before.runs[0].stdout
    after = dryrun(correct_arguments(text).text, "ansible", options, client=docker_client)
    assert after.runs[0].status == "passed", after.runs[0].stdout[-2000:]
