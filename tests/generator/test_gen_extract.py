from __future__ import annotations

import pytest

from opsgen.errors import UnparseableOutput
from opsgen.generator.extract import extract_script


def test_takes_the_bash_block_and_drops_the_prose():
    text = "Sure! Here it is:\n```bash\necho hi\n```\nThis prints hi.\n```python\nprint(1)\n```"
    out = extract_script(text, "bash")
    assert out.script == "#!/usr/bin/env bash\nset -euo pipefail\necho hi\n"
    assert out.fenced


def test_prefers_the_block_tagged_for_the_language():
    text = "```\nnot this\n```\n```yaml\n- hosts: all\n```"
    assert extract_script(text, "ansible").script == "---\n- hosts: all\n"


def test_unfenced_answer_is_the_whole_text():
    out = extract_script("find /var/log -size +100M\n", "bash")
    assert out.script.endswith("find /var/log -size +100M\n")
    assert not out.fenced


def test_unclosed_fence_from_a_token_budget_still_counts():
    out = extract_script("```bash\nmkdir -p /srv/a\nmkdir -p /srv/b", "bash")
    assert out.script.splitlines()[-2:] == ["mkdir -p /srv/a", "mkdir -p /srv/b"]


@pytest.mark.parametrize("answer", ["", "   \n", "```bash\n```", "```\n\n```", "#!/bin/bash"])
def test_nothing_usable_is_refused(answer):
    with pytest.raises(UnparseableOutput):
        extract_script(answer, "bash")


def test_model_habits_are_corrected_and_reported():
    text = (
        "```sh\n#!/bin/sh\nsudo apt-get update\nsudo apt-get install nginx\n"
        "apt-get install -y curl\nif true; then sudo -E systemctl enable nginx; fi\n```"
    )
    out = extract_script(text, "bash")
    lines = out.script.splitlines()
    assert lines[:3] == [
        "#!/usr/bin/env bash",
        "set -euo pipefail",
        "export DEBIAN_FRONTEND=noninteractive",
    ]
    assert "apt-get install -y nginx" in lines
    assert "apt-get install -y curl" in lines  # not doubled
    assert "if true; then systemctl enable nginx; fi" in lines
    assert "sudo" not in out.script
    assert any("sudo" in f for f in out.fixes)
    assert any("shebang" in f for f in out.fixes)
    assert any("-y" in f for f in out.fixes)


def test_existing_strict_mode_is_kept_and_not_duplicated():
    out = extract_script("```bash\n#!/usr/bin/env bash\nset -eu\ntrue\n```", "bash")
    assert out.script == "#!/usr/bin/env bash\nset -eu\ntrue\n"
    assert out.fixes == ()


def test_words_containing_sudo_or_apt_are_left_alone():
    out = extract_script("```bash\necho pseudo apt-like\ngrep sudoers /etc/group\n```", "bash")
    assert "echo pseudo apt-like" in out.script
    assert "grep sudoers /etc/group" in out.script
