"""Issue 11, point 1: the ``fix`` stage of the loop, before the model is asked anything.

A first answer with an unquoted octal mode and ``yes`` is fixed by ansible-lint's own fix
mode (in the tools sandbox), so no repair is asked of the model for them; the fixes are
listed as opsgen's. Without a tools sandbox the loop still runs and says the fix was not
applied.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fakes import FakeLint, finding

from opsgen.flow.checks import make_fix
from opsgen.flow.loop import Events, run_loop
from opsgen.flow.sequences import NEW
from opsgen.generator.llm import FakeLLM
from opsgen.validators.isolation import NoSandbox

ANSWER = """```yaml
- name: Add the deploy user
  hosts: all
  become: yes
  tasks:
    - name: Add the user
      user:
        name: deploy
        groups: sudo
        append: yes
    - name: Write the motd
      copy:
        dest: /etc/motd
        content: "{{ greeting }}"
        mode: 0644
```"""


def style_lint(script: str, lang: str) -> FakeLint:
    """Stands in for ansible-lint's yaml rules: an error per truthy ``yes`` and per
    unquoted octal mode, so an unfixed answer would be sent back to the model."""
    found = [finding("yaml[truthy]", n) for n, line in enumerate(script.splitlines(), 1)
             if re.search(r":\s+yes\s*$", line)]
    found += [finding("yaml[octal-values]", n) for n, line in enumerate(script.splitlines(), 1)
              if re.search(r"mode:\s+0[0-7]+\s*$", line)]
    return FakeLint(tuple(found))


def test_control_without_the_fix_stage_the_model_is_asked_to_repair_style() -> None:
    llm = FakeLLM([ANSWER])
    run_loop("add a deploy user", "ansible", llm, lint=style_lint, dryrun=None, attempts=2)
    assert len(llm.calls) == 2 and "yaml[truthy]" in llm.calls[1][-1].content


@pytest.mark.docker
def test_octal_and_truthy_are_fixed_before_the_model_is_asked(tools_sandbox: Any) -> None:
    llm = FakeLLM([ANSWER])
    stages: list[str] = []

    class Spy(Events):
        def stage(self, name: str, attempt: int, total: int) -> None:
            stages.append(name)

    result = run_loop("add a deploy user", "ansible", llm, lint=style_lint, dryrun=None,
                      attempts=2, fix=make_fix(tools_sandbox), events=Spy())
    assert len(llm.calls) == 1  # no repair call for octal/truthy
    final = result.final
    assert final.passed and final.lint is not None and final.lint.findings == ()
    assert 'mode: "0644"' in final.script and "become: true" in final.script
    assert "append: true" in final.script and '"{{ greeting }}"' in final.script
    fixes = "\n".join(final.fixes)
    assert "(yaml[truthy])" in fixes and "(yaml[octal-values])" in fixes and "(fqcn)" in fixes
    assert final.to_dict()["fixes"] == list(final.fixes)  # the JSON shows them too
    assert stages == ["generate", "fix", "lint"]
    assert [s for s in NEW if s in stages] == stages  # the declared order


def test_without_a_tools_sandbox_the_loop_runs_and_says_the_fix_was_not_applied() -> None:
    llm = FakeLLM([ANSWER])
    result = run_loop("add a deploy user", "ansible", llm, lint=style_lint, dryrun=None,
                      attempts=1, fix=make_fix(NoSandbox()))
    final = result.final
    assert "mode: 0644" in final.script and "become: yes" in final.script  # untouched
    assert any(f.startswith("not applied: ansible-lint --fix (") and "never run on the host"
               in f for f in final.fixes), final.fixes
    assert not final.passed  # the lint reports what it reports


@pytest.mark.docker
def test_a_missing_tools_image_is_named_in_the_note(docker_client: Any) -> None:
    from opsgen.sandbox.toolbox import ContainerTools

    fix = make_fix(ContainerTools("opsgen-tools:not-built", client=docker_client))
    script, notes = fix("---\n- hosts: all\n  become: yes\n  tasks: []\n", "ansible")
    assert "become: yes" in script
    assert notes and "opsgen-tools:not-built is not built" in notes[0]


def test_bash_answers_pass_the_fix_stage_unchanged() -> None:
    fix = make_fix(NoSandbox())
    assert fix("#!/usr/bin/env bash\necho hi\n", "bash") == ("#!/usr/bin/env bash\necho hi\n", ())


def test_a_known_wrong_value_is_corrected_before_the_checks_even_without_a_sandbox() -> None:
    """file's state present (a value the module refuses) becomes touch with the times kept,
    by a parse on this host; the model is never asked about it."""
    answer = ("```yaml\n- name: M\n  hosts: all\n  tasks:\n    - name: Motd\n"
              "      ansible.builtin.file:\n        path: /etc/motd\n        state: present\n```")
    seen: list[str] = []

    def lint(script: str, lang: str) -> FakeLint:
        seen.append(script)
        bad = "state: present" in script
        return FakeLint((finding("OPS212", 8),) if bad else ())

    llm = FakeLLM([answer])
    result = run_loop("motd", "ansible", llm, lint=lint, dryrun=None, attempts=2,
                      fix=make_fix(NoSandbox()))
    assert len(llm.calls) == 1 and result.final.passed
    assert "state: touch\n        access_time: preserve" in seen[0]
    assert any(f.startswith("corrected line 8: file state: present -> touch")
               for f in result.final.fixes), result.final.fixes
