"""The exported tests run by the real tools: bats in a sandbox container, ``molecule test``
against the local engine. Each has a control that must fail, so a test that cannot fail
(a bats file that skips its checks, a verify.yml that checks nothing) is caught here.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from opsgen.export import export_change, verify_artifact
from opsgen.scenario import Check, Scenario
from opsgen.store.repo import Store

pytestmark = pytest.mark.docker

IMAGE = "opsgen-sandbox:bookworm"
Approve = Callable[..., int]

# "Remove logs older than a week from /var/log/app and print how many are left."
PRUNE = """\
#!/bin/bash
set -euo pipefail
find /var/log/app -name '*.log' -mtime +{days} -delete
find /var/log/app -name '*.log' | wc -l
"""
# Untrusted text in a name and in a command: neither may run as code when bats reads the
# file; the command must reach bash -c byte for byte ($BASH_EXECUTION_STRING shows it).
HOSTILE_NAME = "it's \"odd\" $(touch /tmp/pwned-name) `touch /tmp/pwned-tick` \\ {{ x }}"
EXACT = "printf %s \"$BASH_EXECUTION_STRING\" > /out/seen # 'q' \"$(touch /tmp/pwned-run)\" \u00e9"
PRUNE_SCENARIO = Scenario(
    "mkdir -p /var/log/app\ntouch -d '10 days ago' /var/log/app/old.log\n"
    "touch /var/log/app/new.log\n",
    (
        Check("old logs are gone", "test ! -e /var/log/app/old.log"),
        Check("new logs are kept", "test -e /var/log/app/new.log"),
        Check("prints how many are left", 'test "$(tr -d \'[:space:]\' < "$OPSGEN_STDOUT")" = 1'),
        Check(HOSTILE_NAME, EXACT),
    ),
    ("operator",),
)

PLAYBOOK = """\
- name: Set the motd and drop the old banner
  hosts: all
  become: true
  vars:
    motd: hello
  tasks:
    - name: Write motd
      ansible.builtin.copy:
        dest: /etc/motd
        content: "{{ motd }}\\n"
        mode: "0644"
    - name: Remove the old banner
      ansible.builtin.file:
        path: /etc/app/banner
        state: absent
"""


def _unavailable(reason: str) -> None:
    # tests/conftest.py's rule: in CI a tool these tests need is a failure, never a skip.
    if os.environ.get("CI"):
        pytest.fail(f"CI needs this, but: {reason}", pytrace=False)
    pytest.skip(reason)


def _bats_mounts() -> dict[str, dict[str, str]]:
    """The host's bats installation (``bin/bats`` + ``libexec`` + ``lib``), read-only."""
    found = shutil.which("bats")
    if found is None:
        _unavailable("bats is not installed (scripts/setup.sh installs it)")
    root = Path(os.path.realpath(str(found))).parent.parent
    parts = {"bin/bats": root / "bin" / "bats", "libexec/bats-core": root / "libexec" / "bats-core",
             "lib/bats-core": root / "lib" / "bats-core"}
    for path in parts.values():
        if not path.exists():
            _unavailable(f"unexpected bats layout: {path} is missing")
    return {str(path): {"bind": f"/opt/bats/{rel}", "mode": "ro"} for rel, path in parts.items()}


def _run_bats(client: Any, export: Path, out: Path) -> tuple[int, str]:
    """bats on the export folder in a sandbox container (no network, export read-only)."""
    volumes = {**_bats_mounts(), str(export): {"bind": "/export", "mode": "ro"},
               str(out): {"bind": "/out", "mode": "rw"}}
    # After bats: list what the hostile text would have created had it run as code.
    command = ["bash", "-c", "/opt/bats/bin/bats --tap /export/prune.bats; rc=$?; "
               "for f in /tmp/pwned-*; do [ -e \"$f\" ] && echo \"CREATED $f\"; done; exit $rc"]
    container = client.containers.create(IMAGE, command, volumes=volumes, network_mode="none",
                                         labels={"opsgen.test": "export-bats"})
    try:
        container.start()
        status = container.wait(timeout=180)["StatusCode"]
        return status, container.logs().decode("utf-8", "replace")
    finally:
        container.remove(force=True)


def _export_prune(store: Store, with_scenario: Approve, tmp_path: Path, days: int) -> Path:
    change = with_scenario(script=PRUNE.format(days=days), scenario=PRUNE_SCENARIO, name="prune")
    export = tmp_path / "export"
    export_change(store, change, actor="me", to=export)
    return export


def test_bats_passes_on_the_exported_script(
    store: Store, with_scenario: Approve, tmp_path: Path, docker_client: Any
) -> None:
    export = _export_prune(store, with_scenario, tmp_path, days=7)
    out = tmp_path / "out"
    out.mkdir()
    status, log = _run_bats(docker_client, export, out)
    assert status == 0, log
    # "new logs are kept" and the hostile check held on the prepared state already: as in
    # the sandbox (OPS412), they prove nothing and are skipped, not counted as passed.
    vacuous = " # skip it held before the script already, so it proves nothing (OPS412)"
    assert log.splitlines()[:7] == [
        "1..6",
        "ok 1 run 1: prune.sh exits 0",
        "ok 2 run 2: prune.sh exits 0 again (idempotence)",
        "ok 3 check: old logs are gone",
        "ok 4 check: new logs are kept" + vacuous,
        "ok 5 check: prints how many are left",
        f"ok 6 check: {HOSTILE_NAME}" + vacuous,  # shown as written
    ], log
    assert "CREATED" not in log  # neither the name nor the command ran as code
    assert (out / "seen").read_text(encoding="utf-8") == EXACT  # the command, byte for byte
    assert verify_artifact(export / "prune.sh", store).vetted


def test_bats_fails_when_the_script_does_not_do_what_was_asked(
    store: Store, with_scenario: Approve, tmp_path: Path, docker_client: Any
) -> None:
    """Control: a script that keeps last week's logs (and so prints 2) fails two checks."""
    export = _export_prune(store, with_scenario, tmp_path, days=30)
    out = tmp_path / "out"
    out.mkdir()
    status, log = _run_bats(docker_client, export, out)
    assert status != 0, log
    lines = log.splitlines()
    assert "not ok 3 check: old logs are gone" in lines, log
    assert "not ok 5 check: prints how many are left" in lines, log
    assert "ok 2 run 2: prune.sh exits 0 again (idempotence)" in lines
    assert any(line.startswith("ok 4 check: new logs are kept # skip") for line in lines)


def _molecule(role: Path, home: Path) -> subprocess.CompletedProcess[str]:
    binary = Path(sys.executable).parent / "molecule"
    if not binary.exists():
        _unavailable("molecule is not installed (pip install -e '.[dev]')")
    env = {**os.environ, "HOME": str(home), "NO_COLOR": "1", "ANSIBLE_NOCOLOR": "1",
           "PATH": f"{binary.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run([str(binary), "test"], cwd=role, env=env, capture_output=True,
                          text=True, timeout=480, check=False)


def _export_role(
    store: Store, with_scenario: Approve, tmp_path: Path, checks: tuple[Check, ...]
) -> Path:
    # A name of this process: the instance (container) is opsgen-NAME.
    name = f"motd-{os.getpid()}-{secrets.token_hex(3)}"
    scenario = Scenario("mkdir -p /etc/app\necho old > /etc/app/banner\n", checks, ("operator",))
    change = with_scenario(script=PLAYBOOK, scenario=scenario, lang="ansible", name=name)
    export_change(store, change, actor="me", to=tmp_path / "roles", as_role=True)
    return tmp_path / "roles" / name


def _cleanup(client: Any, role: Path) -> None:
    # molecule destroys its instance even on failure; this is for a run that was killed.
    for container in client.containers.list(all=True, filters={"name": f"opsgen-{role.name}"}):
        container.remove(force=True)


def test_molecule_test_passes_on_the_exported_role(
    store: Store, with_scenario: Approve, tmp_path: Path, docker_client: Any
) -> None:
    pwned = tmp_path / "pwned"  # on this host: the Ansible controller
    checks = (
        Check("motd says hello", "grep -qx hello /etc/motd"),
        Check("the old banner is gone", "test ! -e /etc/app/banner"),
        # Jinja in a name and a command: shown and run as written, never templated.
        Check(f"{{{{ lookup('ansible.builtin.pipe', 'touch {pwned}') }}}}",
              "[ '{{ x }}' = \"{{ x }}\" ] && test -d /etc/app"),
    )
    role = _export_role(store, with_scenario, tmp_path, checks)
    try:
        proc = _molecule(role, tmp_path / "home")
    finally:
        _cleanup(docker_client, role)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-6000:]
    for step in ("prepare", "converge", "idempotence", "verify"):
        assert f"{step}: Executed: Successful" in log, step
    assert "TASK [check: the old banner is gone]" in log
    assert not pwned.exists()
    assert verify_artifact(role, store).vetted  # molecule left the exported files as they were


def test_molecule_test_fails_when_a_check_cannot_hold(
    store: Store, with_scenario: Approve, tmp_path: Path, docker_client: Any
) -> None:
    """Control: the role is right, but one check asks for something it never does."""
    checks = (Check("motd says hello", "grep -qx hello /etc/motd"),
              Check("motd says goodbye", "grep -qx goodbye /etc/motd"))
    role = _export_role(store, with_scenario, tmp_path, checks)
    try:
        proc = _molecule(role, tmp_path / "home")
    finally:
        _cleanup(docker_client, role)
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0, log[-6000:]
    assert "converge: Executed: Successful" in log
    failed = log.split("TASK [check: motd says goodbye]", 1)
    assert len(failed) == 2 and "FAILED!" in failed[1], log[-6000:]
    assert "destroy: Executed: Successful" in log  # no instance left behind
