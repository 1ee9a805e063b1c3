"""The public API: lint_text / lint_file / detect_lang, bad input, tools, side effects."""

from __future__ import annotations

import dataclasses
import os
import stat
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from opsgen.errors import InputError
from opsgen.findings import Severity
from opsgen.validators import LintReport, ToolRun, detect_lang, lint_file, lint_text
from opsgen.validators.adapters import shellcheck as shellcheck_adapter
from opsgen.validators.tools import Job, tool_env

PLAY = "- hosts: all\n  tasks:\n    - name: hi\n      ansible.builtin.debug:\n        msg: hi\n"


@pytest.mark.parametrize(("text", "path", "lang"), [
    ("#!/bin/bash\necho hi\n", "x", "bash"),
    ("#!/usr/bin/env bash\nls\n", "x.yml", "bash"),
    ("#!/usr/bin/env ansible-playbook\n" + PLAY, "x", "ansible"),
    ("echo hi\n", "deploy.sh", "bash"),
    ("- name: x\n", "site.yaml", "ansible"),
    (PLAY, "<script>", "ansible"),
    ("- name: install\n  ansible.builtin.apt:\n    name: nginx\n", "<script>", "ansible"),
    ("ls -la\n", "<script>", "bash"),
    ("- a\n- b\n", "<script>", "bash"),
    ("key: value\n", "<script>", "bash"),
])
def test_detect_lang(text: str, path: str, lang: str) -> None:
    assert detect_lang(text, path) == lang


def test_report_shape_and_order() -> None:
    r = lint_text("#!/bin/bash\nchmod 777 /srv\ncurl -s https://x.invalid/a | sh\n", path="a.sh")
    assert isinstance(r, LintReport) and r.lang == "bash" and r.path == "a.sh"
    assert isinstance(r.findings, tuple)
    keys = [(f.location.line, f.location.column, f.severity.rank, f.code) for f in r.findings]
    assert keys == sorted(keys)
    assert {f.code for f in r.errors} == {"OPS103", "OPS101"} and not r.ok
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.path = "b"  # type: ignore[misc]
    d = r.to_dict()
    assert d["ok"] is False and d["counts"]["errors"] == 2
    assert {t["name"] for t in d["tools"]} == {"shellcheck", "bash -n"}


def test_clean_script_is_ok_and_wrapped_codes_keep_their_source() -> None:
    r = lint_text("#!/bin/bash\nset -euo pipefail\necho $1\n")
    assert r.ok
    (sc,) = [f for f in r.findings if f.code == "SC2086"]
    assert sc.source == "shellcheck" and sc.url == "https://www.shellcheck.net/wiki/SC2086"
    assert sc.severity is Severity.INFO and (sc.location.line, sc.location.column) == (3, 6)


def test_bash_syntax_error() -> None:
    r = lint_text("#!/bin/bash\nset -euo pipefail\nif true; then\n  echo x\n", "bash")
    (f,) = [f for f in r.findings if f.code == "OPS002"]
    assert f.severity is Severity.ERROR and f.location.line >= 3 and "syntax" in f.message


def test_broken_yaml_is_one_positioned_finding() -> None:
    r = lint_text("- hosts: all\n  tasks:\n    - name: [oops\n", "ansible", "p.yml")
    (f,) = [f for f in r.findings if f.code == "OPS003"]
    assert (f.location.line, f.location.column) == (4, 1) and not r.ok
    assert [t.name for t in r.tools] == []  # nothing else can read it: nothing else ran


@pytest.mark.parametrize(("data", "reference"), [
    (b"\x7fELF\x00\x00binary", "binary-input"),
    (b"caf\xe9 latin-1\n", "not-utf8"),
    (b"  \n\n", "empty-input"),
    (b"x" * 2048, "input-too-large"),
])
def test_lint_file_bad_input(tmp_path: Path, data: bytes, reference: str) -> None:
    p = tmp_path / "bad.sh"
    p.write_bytes(data)
    with pytest.raises(InputError) as exc:
        lint_file(p, max_bytes=1024)
    assert exc.value.reference == reference


def test_lint_file_missing(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        lint_file(tmp_path / "nope.sh")


def test_missing_tool_is_reported_not_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shellcheck_adapter, "tool_path", lambda name: None)
    r = lint_text("echo $1\n", "bash")
    (f,) = [f for f in r.findings if f.code == "OPS005"]
    assert "shellcheck" in f.message and "missing" in f.message
    assert not [f for f in r.findings if f.source == "shellcheck"]
    assert ToolRun("shellcheck", "missing", 0.0, "not installed") in r.tools


def test_hung_tool_is_killed_and_reported(monkeypatch: pytest.MonkeyPatch,
                                          tmp_path: Path) -> None:
    fake = tmp_path / "shellcheck"
    fake.write_text("#!/bin/sh\nsleep 30\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(shellcheck_adapter, "tool_path", lambda name: str(fake))
    real_job = shellcheck_adapter.Job

    def quick_job(*args: object, **kw: object) -> object:
        kw["timeout"] = 0.5
        return real_job(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(shellcheck_adapter, "Job", quick_job)
    start = time.monotonic()
    r = lint_text("echo hi\n", "bash")
    assert time.monotonic() - start < 10
    (f,) = [f for f in r.findings if f.code == "OPS005"]
    assert "timeout" in f.message


@pytest.mark.docker
def test_lint_never_runs_anything_and_leaves_no_trace(monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path, tools_sandbox: Any) -> None:
    marker = tmp_path / "marker"
    home, tmp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    tmp.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    lint_text(f"#!/bin/bash\ntouch {marker}\n", "bash")
    play = (f"- hosts: localhost\n  tasks:\n    - name: touch\n      ansible.builtin.file:\n"
            f"        path: {marker}\n        state: touch\n"
            f"    - name: shell\n      ansible.builtin.command: touch {marker}\n")
    r = lint_text(play, "ansible", sandbox=tools_sandbox)  # with ansible-lint: the one to watch
    assert "ansible-lint" in {t.name for t in r.tools}
    assert all(t.status == "ok" for t in r.tools), r.tools
    assert not marker.exists()
    assert list(home.iterdir()) == [] and list(tmp.iterdir()) == []


@pytest.mark.docker
def test_jinja_lookups_are_never_evaluated(tmp_path: Path, tools_sandbox: Any) -> None:
    """Ansible templates vars_files and import paths while loading: a syntax check of the raw
    file would run the pipe lookups below. The tools get a Jinja-free copy instead."""
    m = tmp_path / "pwned"
    play = (f"- name: \"{{{{ lookup('pipe', 'touch {m}-name') }}}}\"\n  hosts: localhost\n"
            f"  vars_files:\n    - \"{{{{ lookup('pipe', 'touch {m}-vars-files') }}}}\"\n"
            f"  tasks:\n    - ansible.builtin.import_tasks: "
            f"\"{{{{ lookup('pipe', 'touch {m}-import') }}}}\"\n"
            f"    - name: x\n      ansible.builtin.debug:\n"
            f"        msg: \"{{% set x = lookup('pipe', 'touch {m}-block') %}}{{{{ x }}}}\"\n")
    r = lint_text(play, "ansible", "evil.yml", sandbox=tools_sandbox)
    assert list(tmp_path.iterdir()) == []
    assert {t.name for t in r.tools} >= {"ansible-playbook --syntax-check", "ansible-lint"}
    (partial,) = [f for f in r.findings if f.code == "OPS005"]
    assert "outside the lint input" in partial.message and "<lint dir>" in partial.message


@pytest.mark.docker
def test_missing_roles_are_incomplete_checks_not_errors(tools_sandbox: Any) -> None:
    play = "- hosts: all\n  roles:\n    - common\n"
    r = lint_text(play, "ansible", "site.yml", ansible_lint=False, sandbox=tools_sandbox)
    assert r.ok and [f.code for f in r.findings] == ["OPS005"]
    assert r.findings[0].location.line == 3


@pytest.mark.docker
def test_ansible_lint_findings_keep_their_ids(tools_sandbox: Any) -> None:
    play = "- hosts: all\n  tasks:\n    - shell: echo hi\n"
    r = lint_text(play, "ansible", "site.yml", sandbox=tools_sandbox)
    lint = {f.code: f for f in r.findings if f.source == "ansible-lint"}
    assert {"name[missing]", "no-changed-when"} <= lint.keys(), lint.keys()
    assert lint["name[missing]"].location.line == 3 and lint["name[missing]"].url
    fast = lint_text(play, "ansible", "site.yml", ansible_lint=False, sandbox=tools_sandbox)
    assert not [f for f in fast.findings if f.source == "ansible-lint"]


@pytest.mark.docker
def test_unknown_modules_are_all_named_once(tools_sandbox: Any) -> None:
    play = ("- hosts: all\n  tasks:\n    - name: x\n      ansible.builtin.apt_package:\n"
            "        name: nginx\n    - name: y\n      nginx_site: name=default\n")
    r = lint_text(play, "ansible", "site.yml", ansible_lint=False, sandbox=tools_sandbox)
    unknown = [(f.location.line, f.extra["module"]) for f in r.findings if f.code == "OPS204"]
    assert unknown == [(4, "ansible.builtin.apt_package"), (7, "nginx_site")]
    assert not [f for f in r.findings if f.code == "OPS004"]  # same fault, reported once


@pytest.mark.docker
def test_task_file_is_checked_through_a_wrapper_play(tools_sandbox: Any) -> None:
    tasks = "- name: bad\n  ansible.builtin.debug: msg=a\n  colour: red\n"
    r = lint_text(tasks, "ansible", "tasks.yml", ansible_lint=False, sandbox=tools_sandbox)
    (f,) = [f for f in r.findings if f.code == "OPS004"]
    assert f.location.line == 1 and "colour" in f.message


def test_300_line_script_is_fast_enough() -> None:
    lines = ["#!/usr/bin/env bash", "set -euo pipefail"]
    for i in range(100):
        lines += [f'echo "step {i}"', f'mkdir -p "/var/tmp/app{i}"',
                  f'cp /etc/hosts "/var/tmp/app{i}/hosts"']
    text = "\n".join(lines[:300]) + "\n"
    lint_text(text, "bash")  # warm-up: imports and detect-secrets plugins
    # CPU time (ours plus shellcheck's), not wall time: the CI host is shared and its load
    # swings; the 150 ms wall-time goal is measured by bench/lint_bench.py
    best = min(_cpu_seconds(text) for _ in range(3))
    assert best < 1.0, best


def _cpu_seconds(text: str) -> float:
    before = os.times()
    lint_text(text, "bash")
    after = os.times()
    return sum(after[:4]) - sum(before[:4])


def test_env_is_not_inherited_by_tools(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASH_ENV", "/nonexistent/evil")
    monkeypatch.setenv("ANSIBLE_CONFIG", "/nonexistent/ansible.cfg")
    assert lint_text("#!/bin/bash\nset -euo pipefail\nls\n").ok
    assert os.environ["BASH_ENV"] == "/nonexistent/evil"
    assert lint_text(PLAY, "ansible", ansible_lint=False).ok


def test_python_tools_run_under_a_memory_cap(tmp_path: Path) -> None:
    hog = [sys.executable, "-c", "x = bytearray(1 << 30); print('allocated')"]
    capped = Job("hog", list(hog), cwd=tmp_path, env=tool_env(tmp_path), timeout=60,
                 mem_limit=256 << 20).result()
    assert capped.run.status == "failed" and "allocated" not in capped.stdout
    assert "MemoryError" in capped.run.detail
