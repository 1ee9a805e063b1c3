"""Issue 14, point 1: nothing a playbook says runs on this host while opsgen checks it.

``ansible-playbook --syntax-check`` and ansible-lint evaluate Jinja while they load a
playbook, and YAML escapes (``\\u007B``) spell Jinja that no rewrite of the text sees. On
main, the payload below ran ``id`` as root on the host during ``opsgen lint``. The Ansible
tools now run only in a container of the tools image; each test here has a control that
shows the payload is live, so the test could fail.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from opsgen.sandbox.toolbox import ContainerTools
from opsgen.validators import lint_text

REPO = Path(__file__).resolve().parents[2]
OPSGEN = [sys.executable, "-m", "opsgen.cli"]


def payload(marker: Path, command: str = "id") -> str:
    """The issue's playbook: its Jinja spelled with YAML escapes, so a text rewrite misses it."""
    return (
        "- hosts: all\n  vars_files:\n"
        f"    - \"\\u007B\\u007B lookup('pipe', '{command} > {marker}') \\u007D\\u007D\"\n"
        "  tasks: [{ansible.builtin.debug: {msg: hi}}]\n"
    )


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPSGEN_NO_WORKER": "1", "OPSGEN_NO_CACHE": "1"}
    return subprocess.run([*OPSGEN, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300, check=False)


@pytest.mark.docker
def test_control_the_payload_runs_when_ansible_loads_it_here(tmp_path: Path) -> None:
    """The control: a plain syntax check on this host does run the escaped lookup."""
    marker = tmp_path / "proof"
    book = tmp_path / "pb.yml"
    book.write_text(payload(marker))
    exe = Path(sys.executable).parent / "ansible-playbook"
    env = {"PATH": os.defpath, "HOME": str(tmp_path), "ANSIBLE_LOCAL_TEMP": str(tmp_path / "t")}
    subprocess.run([str(exe), "--syntax-check", "-i", "localhost,", str(book)], cwd=tmp_path,
                   env=env, capture_output=True, timeout=120, check=False)
    assert marker.exists() and "uid=" in marker.read_text()


@pytest.mark.docker
@pytest.mark.parametrize("extra", [["--no-ansible-lint"], []], ids=["syntax-check", "ansible-lint"])
def test_opsgen_lint_never_runs_the_payload_on_the_host(
    tmp_path: Path, extra: list[str], no_leaks: None, tools_sandbox: Any
) -> None:
    marker = tmp_path / "proof"
    (tmp_path / "pb.yml").write_text(payload(marker))
    res = cli("lint", "--no-cache", *extra, "pb.yml", cwd=tmp_path)
    assert not marker.exists(), "the playbook ran a command on the host"
    assert res.returncode == 1, res.stderr  # OPS211: the lookup itself is an error finding
    assert "OPS211" in res.stdout and "ansible-playbook --syntax-check could not run" not in (
        res.stdout)


@pytest.mark.docker
def test_the_tools_run_as_nobody_without_network(tools_sandbox: Any, no_leaks: None) -> None:
    """What the lookup sees is the container: uid 65534 and only the loopback interface."""
    play = ("- hosts: all\n  tasks:\n    - ansible.builtin.import_tasks: \"\\u007B\\u007B "
            "lookup('pipe', 'id -u') \\u007D\\u007D-\\u007B\\u007B lookup('pipe', "
            "'ls /sys/class/net | tr -d \\\"\\\\n\\\"') \\u007D\\u007D.yml\"\n")
    r = lint_text(play, "ansible", "pb.yml", ansible_lint=False, cache=False,
                  sandbox=tools_sandbox)
    (stop,) = [f for f in r.findings if f.code == "OPS005"]
    assert "'<lint dir>/65534-lo.yml'" in stop.message, stop.message
    assert {t.name: t.status for t in r.tools} == {
        "ansible-playbook --syntax-check": "ok", "ansible module lookup": "ok",
        "ansible module docs": "ok"}


@pytest.mark.docker
def test_every_caller_lints_in_the_sandbox(tmp_path: Path, no_leaks: None,
                                           tools_sandbox: Any) -> None:
    """``import``/``new``/``convert`` lint through ``evaluate.lint_findings`` and the repair
    loop through ``generator.checks.make_lint``: neither runs the payload here."""
    from opsgen.flow.checks import lint_findings, make_lint

    first, second = tmp_path / "one", tmp_path / "two"
    codes = {f.code for f in lint_findings(payload(first), "ansible", "pb.yml")}
    report = make_lint("print hi")(payload(second), "ansible")
    assert not first.exists() and not second.exists()
    assert "OPS211" in codes and "OPS211" in {f.code for f in report.findings}


def test_without_a_sandbox_the_tools_do_not_run_at_all(tmp_path: Path) -> None:
    """Fail closed: the library call without a sandbox reports the tools as not run."""
    marker = tmp_path / "proof"
    r = lint_text(payload(marker), "ansible", "pb.yml", cache=False)
    assert not marker.exists()
    assert {t.name: t.status for t in r.tools} == {
        "ansible-playbook --syntax-check": "missing", "ansible module lookup": "missing",
        "ansible module docs": "missing", "ansible-lint": "missing"}
    missing = [f for f in r.findings if f.code == "OPS005"]
    assert len(missing) == 4 and all("never run on the host" in f.message for f in missing)


@pytest.mark.docker
def test_a_missing_tools_image_is_reported_not_replaced_by_the_host(
    docker_client: Any, tmp_path: Path
) -> None:
    tools = ContainerTools("opsgen-tools:not-built", client=docker_client)
    r = lint_text(payload(tmp_path / "proof"), "ansible", "pb.yml", cache=False,
                  ansible_lint=False, sandbox=tools)
    assert not (tmp_path / "proof").exists()
    (first, *_) = [f for f in r.findings if f.code == "OPS005"]
    assert "opsgen-tools:not-built is not built" in first.message


@pytest.mark.docker
def test_killed_batch_leaves_no_container(tools_sandbox: Any, docker_client: Any) -> None:
    """Closing a lint early (Ctrl-C) removes its tools container at once."""
    from opsgen.contained import ToolCall

    batch = tools_sandbox.start({"x": b"1"}, [ToolCall("sleep", ("sleep", "60"), 90.0)], {
        "HOME": "/tmp/h"})
    for _ in range(100):
        if batch.container is not None:
            break
        time.sleep(0.1)
    batch.close()
    assert batch.wait()["sleep"].status in ("missing", "failed")
    label = f"opsgen.sandbox.run={batch.run_id}"
    left = docker_client.containers.list(all=True, filters={"label": label})
    assert left == []


def test_alias_bomb_is_refused_before_any_tool_runs(tmp_path: Path) -> None:
    """A 'billion laughs' playbook: on main ansible-lint spent 120 s and 2.4 GB on it and the
    lint exited 0. Now our loader refuses it (OPS003) and no tool is started."""
    levels = ['    a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, cur in zip("abcdefgh", "bcdefghi", strict=True):
        levels.append(f"    {cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    book = "- hosts: all\n  vars:\n" + "\n".join(levels) + "\n  tasks: []\n"
    r = lint_text(book, "ansible", "bomb.yml", cache=False, sandbox=ContainerTools("never:used"))
    assert not r.ok and [f.code for f in r.errors] == ["OPS003"]
    assert "billion laughs" in r.errors[0].message
    assert r.tools == ()
