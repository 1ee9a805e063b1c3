"""`opsgen dryrun` and `opsgen lint` through a worker: same results, signals, no leaks."""

from __future__ import annotations

import json
import re
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
from worker_helpers import OPSGEN, child_pids, containers_of, opsgen, served, wait_for

pytestmark = pytest.mark.docker

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
    assert containers_of(docker_client, child_pids(worker)) == []


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
    assert containers_of(docker_client, child_pids(worker)) == []


def test_sigkill_of_the_client_terminates_the_child(
    worker: dict[str, str], tmp_path: Path, docker_client: Any
) -> None:
    proc = _start_long_dryrun(worker, tmp_path, docker_client)
    proc.kill()
    proc.communicate(timeout=10)
    pids = child_pids(worker)
    assert wait_for(lambda: containers_of(docker_client, pids) == [], timeout=30)
    assert wait_for(lambda: "0 running" in opsgen("worker", "status", env=worker).stdout)
