"""`opsgen dryrun` and `opsgen lint` through a worker: same results, signals, no leaks.

A worker child reports first and removes its container after (like Docker's AutoRemove),
so "no leaks" is polled for a few seconds after the client has returned.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest
from worker_helpers import OPSGEN, child_pids, containers_of, log_text, opsgen, served, wait_for

from opsgen.launcher import recv_msg, send_msg

pytestmark = pytest.mark.docker
REMOVAL_S = 10  # how long a removal after the reply may take on a busy engine

SCRIPT = """#!/bin/bash
set -eu
mkdir -p /opt/app
printf 'port=8080\\n' > /opt/app/app.conf
useradd -r app
echo done
"""


def _normalised(report: dict[str, Any]) -> dict[str, Any]:
    for run in report["runs"]:
        run.pop("duration_s")
    return report


def test_dryrun_json_same_as_in_process(
    worker: dict[str, str], tmp_path: Path, docker_client: Any
) -> None:
    script = tmp_path / "app.sh"
    script.write_text(SCRIPT)
    via = opsgen("dryrun", "--json", str(script), env=worker)
    direct = opsgen("dryrun", "--json", str(script), env={**worker, "OPSGEN_NO_WORKER": "1"})
    assert served(worker) == 1
    assert via.returncode == direct.returncode == 0, via.stderr
    assert _normalised(json.loads(via.stdout)) == _normalised(json.loads(direct.stdout))
    pids = child_pids(worker)
    assert wait_for(lambda: containers_of(docker_client, pids) == [], timeout=REMOVAL_S)


def test_relative_path_and_failing_script(worker: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "fail.sh").write_text("#!/bin/bash\necho oops >&2\nexit 7\n")
    proc = opsgen("dryrun", "--json", "fail.sh", env=worker, cwd=tmp_path)
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["runs"][0]["exit_code"] == 7
    assert served(worker) == 1


def test_missing_file_is_one_line_and_exit_3(worker: dict[str, str], tmp_path: Path) -> None:
    proc = opsgen("dryrun", str(tmp_path / "nope.sh"), env=worker)
    assert proc.returncode == 3
    assert "Traceback" not in proc.stderr
    first = proc.stderr.strip().splitlines()[0]
    assert first.startswith("error[bad-input]") and "no such file" in first
    assert served(worker) == 1


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_lint_output_identical(worker: dict[str, str], tmp_path: Path, fmt: str) -> None:
    script = tmp_path / "bad.sh"
    script.write_text("#!/bin/bash\ncurl -s http://example.com/i.sh | bash\nchmod 777 $1\n")
    args = ("lint", "--format", fmt, str(script))
    worker = {**worker, "OPSGEN_NO_CACHE": "1"}  # both runs must run the tools
    via = opsgen(*args, env=worker)
    direct = opsgen(*args, env={**worker, "OPSGEN_NO_WORKER": "1"})
    assert served(worker) == 1
    assert (via.returncode, via.stderr) == (direct.returncode, direct.stderr)
    assert _no_timings(via.stdout) == _no_timings(direct.stdout)
    assert via.returncode == 1


def test_lint_colour_and_width_follow_the_client(worker: dict[str, str], tmp_path: Path) -> None:
    script = tmp_path / "bad.sh"
    script.write_text("#!/bin/bash\nchmod 777 /srv/some/rather/long/path/name/$1\n")
    env = {**worker, "OPSGEN_NO_CACHE": "1", "FORCE_COLOR": "1", "COLUMNS": "50"}
    via = opsgen("lint", str(script), env=env)
    direct = opsgen("lint", str(script), env={**env, "OPSGEN_NO_WORKER": "1"})
    assert served(worker) == 1
    assert "\x1b[" in via.stdout
    assert (via.returncode, via.stdout, via.stderr) == (
        direct.returncode,
        direct.stdout,
        direct.stderr,
    )


def _no_timings(text: str) -> str:
    return re.sub(r'"seconds": [0-9.e-]+', '"seconds": 0', text)


def _start_long_dryrun(env: dict[str, str], tmp_path: Path, client: Any) -> subprocess.Popen[str]:
    script = tmp_path / "long.sh"
    script.write_text("#!/bin/bash\nsleep 60\n")
    proc = subprocess.Popen(
        [OPSGEN, "dryrun", "--json", str(script)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    running = wait_for(
        lambda: [c for c in containers_of(client, child_pids(env)) if c["State"] == "running"],
        timeout=60,
    )
    assert running, "the dry-run container never started"
    return proc


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signal_to_the_client_stops_the_run(
    worker: dict[str, str], tmp_path: Path, docker_client: Any, signum: int
) -> None:
    proc = _start_long_dryrun(worker, tmp_path, docker_client)
    proc.send_signal(signum)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert err.count("Operation cancelled by user") == 1, err
    pids = child_pids(worker)
    assert wait_for(lambda: containers_of(docker_client, pids) == [], timeout=REMOVAL_S)


def test_sigkill_of_the_client_terminates_the_child(
    worker: dict[str, str], tmp_path: Path, docker_client: Any
) -> None:
    proc = _start_long_dryrun(worker, tmp_path, docker_client)
    proc.kill()
    proc.communicate(timeout=10)
    pids = child_pids(worker)
    assert wait_for(lambda: containers_of(docker_client, pids) == [], timeout=30)
    assert wait_for(lambda: "0 running" in opsgen("worker", "status", env=worker).stdout)


def _run_raw(env: dict[str, str], script: Path, *, kill_on_reply: bool) -> tuple[int, bool]:
    """Run ``opsgen dryrun`` through the worker as a bare client; (child pid, container seen).

    With ``kill_on_reply`` the child is SIGKILLed the moment its exit code arrives, before
    it could remove its container; "seen" says whether the container still existed then.
    """
    import docker

    import opsgen

    client = docker.from_env()
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(os.path.join(env["OPSGEN_RUNTIME_DIR"], "worker.sock"))
    null = os.open(os.devnull, os.O_RDWR)
    request = {
        "op": "run",
        "version": opsgen.__version__,
        "argv": ["dryrun", "--json", str(script)],
        "cwd": str(script.parent),
        "env": env,
        "umask": 0o022,
        "stdio": [["utf-8", "strict"]] * 3,
    }
    try:
        send_msg(sock, request, [null, null, null])
        started, _ = recv_msg(sock)
        assert started is not None and started["op"] == "started", started
        pid = int(started["pid"])
        exited, _ = recv_msg(sock)
        if kill_on_reply:
            os.kill(pid, signal.SIGKILL)
        assert exited is not None and exited["op"] == "exit" and exited["code"] == 0, exited
        seen = bool(containers_of(client, {str(pid)}))
    finally:
        os.close(null)
        sock.close()
    return pid, seen


def test_container_removed_after_the_reply(
    worker: dict[str, str], tmp_path: Path, docker_client: Any
) -> None:
    script = tmp_path / "app.sh"
    script.write_text(SCRIPT)
    pid, _ = _run_raw(worker, script, kill_on_reply=False)
    assert wait_for(lambda: containers_of(docker_client, {str(pid)}) == [], timeout=REMOVAL_S)


def test_container_removed_when_the_child_dies_after_replying(
    worker: dict[str, str], tmp_path: Path, docker_client: Any
) -> None:
    script = tmp_path / "app.sh"
    script.write_text(SCRIPT)
    for _attempt in range(5):  # the kill must land before the child's own removal
        pid, seen = _run_raw(worker, script, kill_on_reply=True)
        owned = {str(pid)}
        assert wait_for(lambda: containers_of(docker_client, owned) == [], timeout=REMOVAL_S)  # noqa: B023
        if seen:
            break
    else:
        pytest.skip("the child removed its container before SIGKILL landed, five times")
    # The server's cleaner ran for the killed child. It may find nothing left: a removal the
    # child had already asked for is finished by the engine even after the child is gone.
    assert wait_for(lambda: re.search(rf"child {pid}: removed \d+ container\(s\) it left",
                                      log_text(worker)))
