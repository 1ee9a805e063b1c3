"""Known wrong module names, options and values corrected before the checks (issue 11).

Each correction keeps what the task means; the table is checked against the real option
tables (ansible-doc of the tools image): a corrected task must pass OPS212/OPS204, and every
target option must exist. The edits touch only their lines.
"""

from __future__ import annotations

from typing import Any

import pytest

from opsgen.validators import lint_text
from opsgen.validators.ansible.argfix import (
    MISPLACED_KEYWORDS,
    MODULES,
    OPTIONS,
    VALUES,
    correct_arguments,
)
from opsgen.validators.ansible.tasks import is_task_keyword

PLAY = "- name: P\n  hosts: all\n  gather_facts: false\n  tasks:\n"

WRONG = PLAY + """\
    - name: Motd exists
      ansible.builtin.file:
        path: /etc/motd
        state: present
        mode: "0644"
    - name: A line
      ansible.builtin.lineinfile:
        path: /etc/default/app
        line: WORKERS=8
        append: true
    - name: Weekdays
      ansible.builtin.cron:
        name: report
        day_of_week: 1-5
        command: /opt/r/send.sh
        cron_file: send-reports
        user: reports
    - name: Groups
      ansible.builtin.usermod:
        name: bob
        groups: adm
        append: true
        update_cache: true
    - name: Link
      symlink:
        src: /etc/nginx/sites-available/shop
        dest: /etc/nginx/sites-enabled/shop
    - name: Banner
      ansible.builtin.file:
        path: /etc/issue.net
        state: file
        content: "Authorized access only"
        mode: "0644"
"""


def test_the_known_mistakes_are_corrected_line_by_line() -> None:
    fixed = correct_arguments(WRONG)
    text = fixed.text
    assert "state: touch\n        access_time: preserve\n        modification_time: preserve\n" \
        in text
    assert "append: true\n    - name: Weekdays" not in text  # lineinfile's append is gone
    assert "weekday: 1-5" in text and "job: /opt/r/send.sh" in text
    assert "ansible.builtin.user:\n        name: bob" in text
    assert "append: true\n    - name: Link" in text  # user's own append stays
    assert "update_cache" not in text
    assert "ansible.builtin.file:\n        state: link\n        src: /etc/nginx" in text
    assert ("ansible.builtin.copy:\n        dest: /etc/issue.net\n        content: "
            "\"Authorized access only\"\n        mode: \"0644\"\n") in text
    assert len(fixed.notes) == 8 and all(n.startswith("corrected line ") for n in fixed.notes)
    assert 'mode: "0644"' in text and text.startswith(PLAY)  # the rest keeps its bytes


def test_a_file_task_with_a_source_is_a_link() -> None:
    """Only a link takes ``src``: ``present`` (which would become a touched file), ``touch``
    and a missing state all mean the link the task names."""
    for state, extra in (("present", ""), ("touch", "        access_time: preserve\n"), (None, "")):
        line = f"        state: {state}\n" if state else ""
        text = PLAY + ("    - name: Site\n      ansible.builtin.file:\n"
                       "        src: /etc/nginx/sites-available/shop\n"
                       "        dest: /etc/nginx/sites-enabled/shop\n" + line + extra)
        fixed = correct_arguments(text)
        assert "state: link" in fixed.text and "touch" not in fixed.text, state
        assert "access_time" not in fixed.text and len(fixed.notes) == 1
    kept = PLAY + ("    - name: Hard\n      ansible.builtin.file:\n        src: /a\n"
                   "        dest: /b\n        state: hard\n")
    assert correct_arguments(kept).text == kept


def test_a_task_keyword_under_the_module_moves_up_to_the_task() -> None:
    assert all(is_task_keyword(k) for k in MISPLACED_KEYWORDS)  # only real task keywords move
    text = PLAY + ("    - name: Old files\n      ansible.builtin.find:\n        paths: /var/x\n"
                   "        age: 10d\n        register: old\n"
                   "    - name: Gone\n      ansible.builtin.file:\n        path: \"{{ item.path }}\"\n"
                   "        state: absent\n        loop: \"{{ old.files }}\"\n")
    fixed = correct_arguments(text)
    assert ("    - name: Old files\n      register: old\n      ansible.builtin.find:\n"
            "        paths: /var/x\n        age: 10d\n") in fixed.text
    assert ('      loop: "{{ old.files }}"\n      ansible.builtin.file:\n') in fixed.text
    assert len(fixed.notes) == 2 and "register moved from the find options" in fixed.notes[0]
    # given at the task's level as well, or the module first in the task: left as written
    both = PLAY + ("    - name: F\n      register: a\n      ansible.builtin.find:\n"
                   "        paths: /x\n        register: b\n")
    first = PLAY + "    - ansible.builtin.find:\n        paths: /x\n        register: b\n"
    assert correct_arguments(both).text == both and correct_arguments(first).text == first


@pytest.mark.parametrize("text", [
    PLAY + "    - name: F\n      ansible.builtin.file:\n        path: /x\n        state: touch\n",
    PLAY + "    - name: F\n      ansible.builtin.file: path=/x state=present\n",  # free form
    PLAY + "    - name: L\n      ansible.builtin.lineinfile:\n        path: /x\n        line: a\n"
           "        append: false\n",  # not the default: the model is asked
    PLAY + "    - name: C\n      community.general.cron:\n        command: x\n",  # not builtin
    PLAY + "    - name: F\n      ansible.builtin.file: {path: /x, state: present}\n",  # flow
    "- hosts: all\n  tasks: [oops\n",
    "",
])
def test_what_is_not_certain_stays_as_written(text: str) -> None:
    fixed = correct_arguments(text)
    assert fixed.text == text and fixed.notes == ()


@pytest.mark.docker
def test_corrected_tasks_pass_the_static_argument_check(tools_sandbox: Any) -> None:
    def codes(text: str) -> set[str]:
        report = lint_text(text, "ansible", "pb.yml", ansible_lint=False, cache=False,
                           sandbox=tools_sandbox)
        return {f.code for f in report.findings if f.code in ("OPS204", "OPS212")}

    assert codes(WRONG) == {"OPS204", "OPS212"}  # control: the mistakes are real
    assert codes(correct_arguments(WRONG).text) == set()


@pytest.mark.docker
def test_every_target_in_the_table_is_a_real_option(builtin_docs: dict[str, Any]) -> None:
    """The table must not outlive the ansible-core it describes: targets exist, sources
    do not (else the row would rename a real option)."""
    docs = builtin_docs
    for name, doc in docs.items():  # a keyword moved up must not be some module's option
        if name.startswith("ansible.builtin."):
            assert not MISPLACED_KEYWORDS & set(doc.get("options") or {}), name
    for (module, option), rename in OPTIONS.items():
        options = docs[f"ansible.builtin.{module}"]["options"]
        known = set(options) | {a for o in options.values() for a in o.get("aliases") or ()}
        assert option not in known, (module, option)
        assert rename.to is None or rename.to in options, (module, rename.to)
    for (module, option, value), fix in VALUES.items():
        choices = docs[f"ansible.builtin.{module}"]["options"][option]["choices"]
        assert value not in choices and fix.to in choices, (module, value)
        assert all(k in docs[f"ansible.builtin.{module}"]["options"] for k, _ in fix.add)
    for short, module in MODULES.items():
        assert f"ansible.builtin.{short}" not in docs and module.to in docs


def test_find_options_written_the_shell_way_are_read_as_find_reads_them() -> None:
    text = PLAY + ("    - name: Old logs\n      ansible.builtin.find:\n        paths: /var/log/x\n"
                   "        state: file\n        age: 3 days\n        size: \"+100MB\"\n"
                   "      register: old\n")
    fixed = correct_arguments(text)
    assert ("        file_type: file\n        age: 3d\n        size: \"100m\"\n") in fixed.text
    assert len(fixed.notes) == 3
    for kept in ("        state: absent\n", "        age: 3 months\n", "        age: 7d\n"):
        same = PLAY + "    - name: F\n      ansible.builtin.find:\n        paths: /x\n" + kept
        assert correct_arguments(same).text == same, kept  # not find's meaning, or right


@pytest.mark.parametrize("task", [
    "      ansible.builtin.file:\n        path: /etc/x\n        state: directory\n"
    "        content: x\n",  # a folder: content is the mistake, not the module
    "      ansible.builtin.file:\n        path: /etc/x\n        content: x\n"
    "        recurse: true\n",  # an option copy does not have
    "      ansible.builtin.template:\n        src: x.j2\n        dest: /etc/x\n"
    "        content: x\n",  # a source too: which one is meant?
])
def test_content_becomes_copy_only_when_nothing_else_changes_meaning(task: str) -> None:
    text = PLAY + "    - name: T\n" + task
    assert correct_arguments(text).text == text


def test_a_line_in_a_drop_in_file_creates_the_file() -> None:
    text = PLAY + ("    - name: Sudo\n      ansible.builtin.lineinfile:\n"
                   "        path: /etc/sudoers.d/backup-agent\n"
                   "        line: 'backup ALL=(root) NOPASSWD: /usr/bin/rsync'\n")
    fixed = correct_arguments(text)
    assert "        path: /etc/sudoers.d/backup-agent\n        create: true\n" in fixed.text
    assert len(fixed.notes) == 1 and "create: true added" in fixed.notes[0]
    for kept in ("        path: /etc/ssh/sshd_config\n",  # a main config: it must be there
                 "        path: /etc/sysctl.d/90-x.conf\n        create: false\n",  # said so
                 "        path: /etc/sysctl.d/90-x.conf\n        state: absent\n"):
        same = PLAY + "    - name: L\n      ansible.builtin.lineinfile:\n" + kept + \
            "        line: a=1\n"
        assert correct_arguments(same).text == same, kept


def test_cron_enabled_true_is_the_default_and_goes() -> None:
    text = PLAY + ("    - name: C\n      ansible.builtin.cron:\n        name: r\n"
                   "        job: /opt/r.sh\n        enabled: true\n")
    fixed = correct_arguments(text)
    assert "enabled" not in fixed.text and len(fixed.notes) == 1
    off = text.replace("enabled: true", "enabled: false")  # disabled: true, not a drop
    assert correct_arguments(off).text == off


def test_a_touch_before_a_write_keeps_the_times() -> None:
    touch = "    - name: T\n      ansible.builtin.file:\n        path: /etc/motd\n" \
        "        state: touch\n"
    write = "    - name: W\n      ansible.builtin.copy:\n        dest: /etc/motd\n" \
        "        content: hi\n"
    fixed = correct_arguments(PLAY + touch + write)
    assert fixed.text == PLAY + touch + "        access_time: preserve\n" \
        "        modification_time: preserve\n" + write
    assert len(fixed.notes) == 1 and "keeps both times" in fixed.notes[0]
    for same in (PLAY + touch, PLAY + write + touch):  # nothing writes it after: a real touch
        assert correct_arguments(same).text == same
