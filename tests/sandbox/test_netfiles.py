"""/etc/hosts, /etc/hostname, /etc/resolv.conf are ordinary files of the dry-run (issue 13).

The engine bind-mounts them; a script or playbook that replaces one by rename (what
``lineinfile`` does) must pass as on a real server, and what it changed must be in the diff.
"""

from __future__ import annotations

import os
import textwrap
from typing import Any

import pytest

from opsgen.sandbox import DryRunOptions, DryRunReport, dryrun
from opsgen.sandbox.policy import OPS, to_docker_kwargs
from tests.sandbox.helpers import dry, run_raw

pytestmark = pytest.mark.docker

RENAME = "cp /etc/hosts /tmp/h; echo '10.0.0.5 db' >> /tmp/h; mv /tmp/h /etc/hosts\n"
NET_PATHS = {"/etc/hosts", "/etc/hostname", "/etc/resolv.conf"}


def _files(report: DryRunReport) -> dict[str, Any]:
    return {f.path: f for f in report.diff.files}


@pytest.fixture(params=["auto", "api"])
def observer(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both observers (overlay on this host, and the engine API) must see the same."""
    monkeypatch.setenv("OPSGEN_OBSERVE", request.param)
    return str(request.param)


def test_control_rename_onto_the_engine_mount_fails(docker_client: Any, no_leaks: None) -> None:
    """Control: with the engine's bind mount in place (the policy's kwargs, no links), the
    same rename fails, so the test below can fail."""
    code, out = run_raw(docker_client, to_docker_kwargs(OPS, run_id="control"), RENAME)
    assert code != 0
    assert "Device or resource busy" in out


def test_hosts_replaced_by_rename_passes_and_is_in_the_diff(
    docker_client: Any, no_leaks: None, observer: str
) -> None:
    report = dry(docker_client, RENAME + "grep -q '^10.0.0.5 db$' /etc/hosts\n")
    assert report.runs[0].status == "passed", report.runs[0].stderr
    files = _files(report)
    change = files["/etc/hosts"]
    assert change.change == "modified"
    assert "+10.0.0.5 db" in change.diff
    assert "-127.0.0.1" not in change.diff  # the engine's lines were the "before"
    # The others were not touched: not in the diff, though they are ordinary files now.
    assert not {"/etc/hostname", "/etc/resolv.conf"} & set(files)


def test_untouched_files_are_not_in_the_diff_and_are_ordinary(
    docker_client: Any, no_leaks: None, observer: str
) -> None:
    script = textwrap.dedent(
        """\
        set -e
        for f in /etc/hosts /etc/hostname /etc/resolv.conf; do
          test -f "$f" && ! test -L "$f"
          ! grep -q " $f " /proc/self/mountinfo
        done
        getent hosts localhost >/dev/null
        test "$(cat /etc/hostname)" = "$(hostname)"
        """
    )
    report = dry(docker_client, script)
    assert report.runs[0].status == "passed", report.runs[0].stderr
    assert not NET_PATHS & set(_files(report))
    assert not any(p.startswith("/.opsgen") for p in _files(report))


def test_second_run_starts_from_the_first_runs_files(docker_client: Any, no_leaks: None) -> None:
    """Each start mounts the engine's files again; the script's state must survive it."""
    script = textwrap.dedent(
        """\
        set -e
        if grep -q '^10.0.0.5 db$' /etc/hosts; then echo seen; exit 0; fi
        sed '$a 10.0.0.5 db' /etc/hosts > /tmp/h && mv /tmp/h /etc/hosts
        rm /etc/hostname
        """
    )
    report = dry(docker_client, script, twice=True)
    assert [r.status for r in report.runs] == ["passed", "passed"], report.runs[0].stderr
    assert report.runs[1].stdout.strip() == "seen"
    assert _files(report)["/etc/hostname"].change == "deleted"
    assert report.second_diff is not None and not report.second_diff.files
    assert report.idempotent is True


def test_ansible_lineinfile_on_hosts(docker_client: Any, no_leaks: None) -> None:
    playbook = textwrap.dedent(
        """\
        - hosts: all
          gather_facts: false
          tasks:
            - ansible.builtin.lineinfile:
                path: /etc/hosts
                line: "10.0.0.5 db"
        """
    )
    report = dryrun(playbook, "ansible", DryRunOptions(timeout=90), client=docker_client)
    assert report.runs[0].status == "passed", report.runs[0].stdout[-2000:]
    assert "+10.0.0.5 db" in _files(report)["/etc/hosts"].diff


@pytest.mark.skipif(os.geteuid() != 0, reason="the upper-directory path needs root")
def test_archive_path_gives_the_same(docker_client: Any, no_leaks: None,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """With the engine's copy forced (no upper-directory writes), the same result."""
    monkeypatch.setenv("OPSGEN_BUNDLE_COPY", "archive")
    report = dry(docker_client, RENAME)
    assert report.runs[0].status == "passed", report.runs[0].stderr
    assert set(_files(report)) & NET_PATHS == {"/etc/hosts"}
