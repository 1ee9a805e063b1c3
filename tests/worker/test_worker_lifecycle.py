"""`opsgen worker start|status|stop`, idle exit, stale code, peer uid, the light launcher."""

from __future__ import annotations

import os
import pwd
import signal
import socket
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from worker_helpers import OPSGEN, log_text, opsgen, served, wait_for

from opsgen.launcher import recv_msg, send_msg, socket_path


def test_start_status_stop(env: dict[str, str]) -> None:
    assert opsgen("worker", "status", env=env).returncode == 1
    started = opsgen("worker", "start", "--idle", "300", env=env)
    assert started.returncode == 0, started.stderr
    assert "worker started (pid " in started.stdout
    rundir = Path(env["OPSGEN_RUNTIME_DIR"])
    assert stat.S_IMODE(rundir.stat().st_mode) == 0o700
    assert stat.S_IMODE((rundir / "worker.sock").stat().st_mode) == 0o600
    status = opsgen("worker", "status", env=env)
    assert status.returncode == 0
    assert "worker running: pid " in status.stdout
    assert "0 request(s) served" in status.stdout
    again = opsgen("worker", "start", env=env)
    assert again.returncode == 0
    assert "a worker already runs" in again.stdout
    stopped = opsgen("worker", "stop", env=env)
    assert "worker stopped (pid " in stopped.stdout
    assert not (rundir / "worker.sock").exists()
    assert not (rundir / "worker.pid").exists()
    assert opsgen("worker", "status", env=env).returncode == 1
    assert "no worker runs" in opsgen("worker", "stop", env=env).stdout


def test_idle_worker_exits(env: dict[str, str]) -> None:
    assert opsgen("worker", "start", "--idle", "1", env=env).returncode == 0
    sock = Path(env["OPSGEN_RUNTIME_DIR"]) / "worker.sock"
    assert wait_for(lambda: not sock.exists(), timeout=30)
    assert "idle for 1s: exiting" in log_text(env)
    assert opsgen("worker", "status", env=env).returncode == 1


def test_served_verb_goes_through_the_worker(worker: dict[str, str]) -> None:
    proc = opsgen("version", env=worker)
    assert proc.returncode == 0
    assert proc.stdout.startswith("opsgen ")
    assert served(worker) == 1


def test_no_worker_and_opt_out_run_in_process(env: dict[str, str], tmp_path: Path) -> None:
    assert opsgen("version", env=env).stdout.startswith("opsgen ")
    missing = opsgen("dryrun", str(tmp_path / "nope.sh"), env=env)
    assert missing.returncode == 3
    assert missing.stderr.startswith("error[") and "no such file" in missing.stderr
    assert opsgen("worker", "start", env=env).returncode == 0
    assert opsgen("version", env={**env, "OPSGEN_NO_WORKER": "1"}).returncode == 0
    assert served(env) == 0


def test_stale_code_falls_back_and_stops_the_worker(worker: dict[str, str]) -> None:
    import opsgen.commands.version as loaded

    path = Path(str(loaded.__file__))
    before = path.stat()
    try:
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
        proc = opsgen("version", env=worker)
    finally:
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert proc.returncode == 0
    assert proc.stdout.startswith("opsgen ")
    assert "the installed opsgen changed: exiting" in log_text(worker)
    assert wait_for(lambda: opsgen("worker", "status", env=worker).returncode == 1)


def _raw_client(env: dict[str, str], msg: str, **kw: object) -> str:
    code = textwrap.dedent(f"""
        import socket
        from opsgen.launcher import recv_msg, send_msg, socket_path
        s = socket.socket(socket.AF_UNIX)
        s.connect(socket_path())
        send_msg(s, {msg}, [0, 1, 2])
        print(recv_msg(s)[0])
    """)
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60, **kw
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_version_mismatch_is_stale(worker: dict[str, str]) -> None:
    msg = '{"op": "run", "version": "0.0.0", "argv": ["version"]}'
    assert _raw_client(worker, msg) == "{'op': 'stale', 'reason': 'stale'}"


def test_unserved_verb_is_refused(worker: dict[str, str]) -> None:
    import opsgen

    msg = f'{{"op": "run", "version": "{opsgen.__version__}", "argv": ["export"]}}'
    assert _raw_client(worker, msg) == "{'op': 'refused', 'reason': 'verb'}"


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to act as another user")
def test_peer_with_another_uid_is_refused(
    worker: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    nobody = pwd.getpwnam("nobody")
    monkeypatch.setenv("OPSGEN_RUNTIME_DIR", worker["OPSGEN_RUNTIME_DIR"])  # socket_path()
    rundir = Path(worker["OPSGEN_RUNTIME_DIR"])
    # Open the doors the server keeps shut, so that only the credential check is left.
    for path in (rundir.parent, rundir):
        path.chmod(0o755)
    (rundir / "worker.sock").chmod(0o666)

    # The interpreter lives under /root, which nobody cannot read: fork instead of exec.
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            sock = socket.socket(socket.AF_UNIX)
            sock.connect(socket_path())
            try:
                send_msg(sock, {"op": "status"})
            except BrokenPipeError:
                pass  # the server answers and hangs up before reading anything
            os.write(write_end, repr(recv_msg(sock)[0]).encode())
        except BaseException as exc:
            os.write(write_end, repr(exc).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    answer = os.read(read_end, 4096).decode()
    os.waitpid(pid, 0)
    assert answer == "{'op': 'refused', 'reason': 'uid'}"
    assert f"refused a peer with uid {nobody.pw_uid}" in log_text(worker)


def test_launcher_imports_only_the_standard_library() -> None:
    code = (
        "import sys, opsgen.launcher\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'opsgen', 'typer', 'rich', 'docker', 'pydantic', 'click', 'yaml'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['opsgen', 'opsgen.launcher']"


def test_sigterm_stops_the_worker_and_cleans_up(worker: dict[str, str]) -> None:
    rundir = Path(worker["OPSGEN_RUNTIME_DIR"])
    pid = int((rundir / "worker.pid").read_text())
    os.kill(pid, signal.SIGTERM)
    assert wait_for(lambda: not (rundir / "worker.pid").exists())
    assert not (rundir / "worker.sock").exists()
    assert "signal: stopping" in log_text(worker)


def test_concurrent_requests_are_served_side_by_side(worker: dict[str, str]) -> None:
    procs = [
        subprocess.Popen([OPSGEN, "version"], env=worker, stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    outs = [p.communicate(timeout=60)[0] for p in procs]
    assert [p.returncode for p in procs] == [0] * 4
    assert all(o.startswith("opsgen ") for o in outs)
    assert served(worker) == 4, log_text(worker)


def test_a_served_command_without_a_worker_starts_one_for_the_next(env, tmp_path):
    script = tmp_path / "ok.sh"
    script.write_text("#!/usr/bin/env bash\nset -euo pipefail\necho hi\n")
    first = opsgen("lint", str(script), env=env)  # in-process; starts a worker behind it
    assert first.returncode == 0, first.stderr
    assert wait_for(lambda: served(env) >= 0, timeout=60), log_text(env)
    second = opsgen("lint", str(script), env=env)
    assert second.returncode == 0 and second.stdout == first.stdout
    assert served(env) == 1  # the second one ran in the worker


def test_autostart_can_be_turned_off(env, tmp_path):
    script = tmp_path / "ok.sh"
    script.write_text("#!/usr/bin/env bash\nset -euo pipefail\necho hi\n")
    quiet = {**env, "OPSGEN_WORKER_AUTOSTART": "0"}
    assert opsgen("lint", str(script), env=quiet).returncode == 0
    time.sleep(2)
    assert served(env) == -1
    assert not os.path.exists(os.path.join(env["OPSGEN_RUNTIME_DIR"], "worker.sock"))
