"""OPS212 and OPS204's suggestion: module options and names checked against ansible-doc.

The option tables come from the tools image's own ansible-core (``module-docs.json``, made
by ansible-doc when the image is built), so no playbook is run and nothing runs here.
"""

from __future__ import annotations

from typing import Any

import pytest

from opsgen.validators import lint_text

PLAY = "- name: P\n  hosts: all\n  tasks:\n"


def _codes(text: str, sandbox: Any) -> dict[str, list[str]]:
    report = lint_text(PLAY + text, "ansible", "pb.yml", ansible_lint=False, cache=False,
                       sandbox=sandbox)
    out: dict[str, list[str]] = {}
    for f in report.findings:
        out.setdefault(f.code, []).append(f.message)
    return out


@pytest.mark.docker
def test_state_present_on_file_names_the_valid_choices(tools_sandbox: Any) -> None:
    found = _codes("    - name: F\n      ansible.builtin.file:\n        path: /srv/x\n"
                   "        state: present\n", tools_sandbox)
    (message,) = found["OPS212"]
    assert "absent, directory, file, hard, link, touch" in message and "'present'" in message


@pytest.mark.docker
def test_an_invented_option_gets_the_nearest_real_one(tools_sandbox: Any) -> None:
    found = _codes("    - name: U\n      user:\n        name: app\n        hom: /srv/app\n",
                   tools_sandbox)
    (message,) = found["OPS212"]
    assert "has no option hom" in message and "did you mean home?" in message


@pytest.mark.docker
def test_an_invented_module_gets_the_nearest_real_one(tools_sandbox: Any) -> None:
    found = _codes("    - name: S\n      ansible.builtin.systemd_unit:\n        name: nginx\n",
                   tools_sandbox)
    (message,) = found["OPS204"]
    assert "Did you mean ansible.builtin.systemd" in message


@pytest.mark.docker
def test_aliases_free_form_and_templates_are_accepted(tools_sandbox: Any) -> None:
    found = _codes(
        "    - name: A\n      ansible.builtin.file:\n        dest: /srv/x\n        state: directory\n"
        "    - name: B\n      ansible.builtin.command: id\n      changed_when: false\n"
        "    - name: C\n      ansible.builtin.service:\n        name: cron\n"
        "        state: \"{{ wanted_state }}\"\n"
        "    - name: D\n      ansible.builtin.file: path=/srv/y state=touch mode=0644\n",
        tools_sandbox)
    assert "OPS212" not in found, found


@pytest.mark.docker
def test_a_missing_required_option_is_named(tools_sandbox: Any) -> None:
    found = _codes("    - name: C\n      ansible.builtin.cron:\n        job: /bin/true\n"
                   "    - name: L\n      ansible.builtin.lineinfile:\n        line: x=1\n",
                   tools_sandbox)
    assert any("needs the option path" in m for m in found["OPS212"]), found


def test_without_the_tools_sandbox_the_check_is_missing_not_guessed() -> None:
    report = lint_text(PLAY + "    - name: F\n      ansible.builtin.file:\n        path: /x\n"
                       "        state: present\n", "ansible", "pb.yml", ansible_lint=False,
                       cache=False)
    codes = {f.code for f in report.findings}
    assert "OPS212" not in codes and "OPS005" in codes


@pytest.mark.docker
def test_an_option_the_module_cannot_have_names_the_idiom_that_does_it(tools_sandbox: Any) -> None:
    """find does not delete: the finding says how a playbook does (register, then loop)."""
    found = _codes("    - name: F\n      ansible.builtin.find:\n        paths: /var/cache/x\n"
                   "        age: 10d\n        state: absent\n", tools_sandbox)
    (message,) = found["OPS212"]
    assert "has no option state" in message and "find only lists files" in message
    assert "state: absent" in message and "item.path" in message


@pytest.mark.docker
def test_a_module_named_after_a_command_says_what_does_that_job(tools_sandbox: Any) -> None:
    """No spelling distance finds the job of ``ansible.builtin.gzip``; the finding (which
    the repair prompt quotes) names the module and options that do it."""
    found = _codes("    - name: Z\n      ansible.builtin.gzip:\n        path: /var/log/x.log\n",
                   tools_sandbox)
    (message,) = found["OPS204"]
    assert "There is no gzip module: ansible.builtin.command with `cmd: gzip" in message
    assert "creates: FILE.gz" in message and "Did you mean" not in message


@pytest.mark.docker
def test_the_command_table_names_only_missing_modules_and_real_ones(
        builtin_docs: dict[str, Any]) -> None:
    import re

    from opsgen.validators.rules.ansible import COMMAND_MODULES

    docs = builtin_docs
    for short, text in COMMAND_MODULES.items():
        assert f"ansible.builtin.{short}" not in docs, short  # a real module is not "missing"
        named = re.findall(r"ansible\.builtin\.[a-z_]+", text)
        assert named and all(n in docs for n in named), (short, named)
