"""Issue 11, point 1: ansible-lint's own fix mode, run in the tools sandbox, never here.

The fix must be right (``mode: 0644`` is the octal string ``"0644"``, not 420), keep the
playbook's meaning (the loaded data equals the original's but for the fixed spellings),
be idempotent, refuse the rewrites ansible-lint gets wrong (YAML 1.1 ``Y`` read as a
boolean) and run nothing on this host.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from opsgen.validators.adapters.ansible_fix import fix_playbook
from opsgen.validators.isolation import NoSandbox
from opsgen.yamlsafe import safe_load

MODEL_ANSWER = """---
- hosts: all
  become: yes
  tasks:
  - user:
      name: deploy
      groups: sudo
      append: yes
    name: Add the deploy user
  - name: Write the motd
    copy:
      dest: "/etc/{{ motd_name | default('motd') }}"
      content: '{{ lookup("env", "HOME") }} and {{ greeting }}'
      mode: 0644
  - name: Make the app folder
    file:
      path: /srv/app
      state: directory
      mode: 01777
      recurse: no
  - name: Render the config
    copy:
      dest: /srv/app/app.conf
      content: |
        user={{ app_user }}
        {% for h in hosts %}
        host={{ h }}
        {% endfor %}
      mode: 0600
"""


def normalized(data: Any, key: Any = None) -> Any:
    """The loaded data with the spellings the fix may change made equal: a builtin module
    named in full, a file mode as an octal string."""
    if isinstance(data, dict):
        return {(k.removeprefix("ansible.builtin.") if isinstance(k, str) else k):
                normalized(v, k) for k, v in data.items()}
    if isinstance(data, list):
        return [normalized(v) for v in data]
    if key == "mode" and isinstance(data, str):
        return int(data, 8)
    return data


@pytest.fixture(scope="module")
def fixed(tools_sandbox: Any) -> Any:
    return fix_playbook(MODEL_ANSWER, tools_sandbox)


@pytest.mark.docker
def test_octal_modes_and_truthy_values_are_fixed_by_ansible_lint(fixed: Any) -> None:
    assert fixed.skipped == ""
    text = fixed.text
    assert 'mode: "0644"' in text and 'mode: "01777"' in text and 'mode: "0600"' in text
    assert "become: true" in text and "append: true" in text and "recurse: false" in text
    assert "ansible.builtin.user:" in text and "ansible.builtin.copy:" in text
    assert ": yes" not in text and ": no" not in text
    # the Jinja came back exactly, quotes included
    assert "\"/etc/{{ motd_name | default('motd') }}\"" in text
    assert '\'{{ lookup("env", "HOME") }} and {{ greeting }}\'' in text
    assert "{% for h in hosts %}" in text
    notes = "\n".join(fixed.fixes)
    assert all(n.startswith("ansible-lint --fix: ") for n in fixed.fixes)
    for rule in ("yaml[truthy]", "yaml[octal-values]", "fqcn", "key-order"):
        assert f"({rule})" in notes, notes
    assert "wrote 3 truthy value(s)" in notes and "quoted 3 octal file mode(s)" in notes


@pytest.mark.docker
def test_the_fix_never_changes_what_the_playbook_means(fixed: Any) -> None:
    before, after = safe_load(MODEL_ANSWER), safe_load(fixed.text)
    assert after != before  # the fix did something...
    assert normalized(after) == normalized(before)  # ...and only to the spelling
    play = after[0]
    assert play["tasks"][1]["ansible.builtin.copy"]["mode"] == "0644"  # not 420, not "420"
    assert next(iter(play["tasks"][0])) == "name"  # key-order: name first


@pytest.mark.docker
def test_fixing_twice_changes_nothing(fixed: Any, tools_sandbox: Any) -> None:
    again = fix_playbook(fixed.text, tools_sandbox)
    assert again.text == fixed.text and again.fixes == () and again.skipped == ""


_MEANING = {
    "y": "      msg: hi\n    - name: Y\n      ansible.builtin.debug:\n        msg: Y\n",
    "owner": "      msg: hi\n    - name: Own\n      ansible.builtin.file:\n"
             "        path: /tmp/x\n        owner: 0755\n",
}


@pytest.mark.docker
@pytest.mark.parametrize("tail", list(_MEANING.values()), ids=list(_MEANING))
def test_a_rewrite_that_changes_meaning_is_refused_whole(tail: str, tools_sandbox: Any) -> None:
    """ansible-lint reads YAML 1.1 as ruamel does: ``Y`` becomes ``true`` and a non-mode
    ``0755`` the string ``"0755"`` (Ansible reads ``"Y"`` and 493): nothing is applied."""
    text = ("---\n- name: Demo\n  hosts: all\n  become: yes\n  tasks:\n"
            "    - name: Hi\n      ansible.builtin.debug:\n" + tail)
    assert safe_load(text)[0]["tasks"][1]  # the control: a valid playbook with the value
    got = fix_playbook(text, tools_sandbox)
    assert got.text == text and got.fixes == ()
    assert got.skipped.startswith("it would change what the playbook means"), got.skipped


@pytest.mark.docker
def test_the_fix_runs_nothing_on_this_host(tmp_path: Path, tools_sandbox: Any) -> None:
    """The lookup payload of issue 14 (Jinja spelled with YAML escapes, which no text rewrite
    sees, and once visibly): ansible-lint --fix loads the playbook, in the sandbox only.
    ``test_val_isolation`` has the control that this payload does run when loaded here."""
    marker, visible = tmp_path / "escaped", tmp_path / "visible"
    text = (
        "---\n- hosts: all\n  become: yes\n  vars_files:\n"
        f"    - \"\\u007B\\u007B lookup('pipe', 'id > {marker}') \\u007D\\u007D\"\n"
        "  tasks:\n    - name: Write\n      copy:\n        dest: /tmp/x\n"
        f"        content: \"{{{{ lookup('pipe', 'id > {visible}') }}}}\"\n"
        "        mode: 0644\n"
    )
    got = fix_playbook(text, tools_sandbox)
    assert not marker.exists() and not visible.exists(), "the playbook ran a command here"
    assert got.skipped == "" and 'mode: "0644"' in got.text, got.skipped
    assert f"lookup('pipe', 'id > {visible}')" in got.text


def test_without_a_sandbox_nothing_is_fixed_and_the_reason_is_given() -> None:
    got = fix_playbook(MODEL_ANSWER, NoSandbox())
    assert got.text == MODEL_ANSWER and got.fixes == ()
    assert "never run on the host" in got.skipped


def test_text_that_does_not_load_is_left_to_the_lint() -> None:
    got = fix_playbook("- hosts: all\n  tasks: [\n", NoSandbox())
    assert got.fixes == () and "does not load" in got.skipped
