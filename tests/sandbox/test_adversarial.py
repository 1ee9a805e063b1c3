"""Adversarial tests of the dry-run sandbox: one test per attack (security.md §5).

Modelled on CodeJail's ``test_jail_code.py``: each test runs a hostile script through the
product's own ``dryrun()`` (the "ops" profile: root in the container, writable rootfs diffed
and discarded, no network, 7 capabilities, NNP, pids/memory/CPU/fsize/disk/output/time
bounds) and asserts the exact outcome. Where an attack could only be shown to fail by
comparison, a control case runs the same payload without the one setting that stops it
(directly through the docker SDK, since our policy refuses to build such a container).

Every engine test is marked ``docker`` and uses the ``docker_client`` and ``no_leaks``
fixtures; tests of the outputs (rendering, export names) need no engine and always run.
Only loopback and this host's own docker bridge address are ever contacted.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import signal
import subprocess
import sys
import tarfile
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import opsgen.sandbox as sandbox
from opsgen.errors import ExportError, PolicyViolation
from opsgen.findings import Severity
from opsgen.sandbox.bundle import BUNDLE_DIR, make_bundle
from opsgen.sandbox.engine import DEFAULT_IMAGE
from opsgen.sandbox.models import (
    DryRunReport,
    FileChange,
    FileMeta,
    RunResult,
    SystemDiff,
)
from opsgen.sandbox.policy import LABEL, OPS, to_docker_kwargs
from opsgen.sandbox.reaper import reap_orphans

sys.path.insert(0, str(Path(__file__).parent))
from helpers import (
    SGR,
    Listener,
    ansi_c,
    bridge_gateway,
    containers_of,
    dry,
    own_pid,
    pid_alive,
    render,
    run_raw,
    wait_for,
)

MiB = 1 << 20
KILL_TIMEOUT = 3.0  # deadline for the kill tests: short, the machine is shared


def codes(report: DryRunReport) -> set[str]:
    return {f.code for f in report.findings}


def lines_with(text: str, prefix: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(prefix)]


def by_path(report: DryRunReport) -> dict[str, FileChange]:
    return {f.path: f for f in report.diff.files}


def assert_killed(report: DryRunReport, reason: str, code: str) -> None:
    run = report.first
    assert run.status == "killed", run
    assert run.stop_reason == reason, run
    assert run.exit_code == 137, run
    assert reason in run.limits_hit
    assert code in codes(report)
    assert not report.ok


def _cgroup_dir(cid: str) -> Path | None:
    for cand in (
        f"/sys/fs/cgroup/pids/docker/{cid}",
        f"/sys/fs/cgroup/pids/system.slice/docker-{cid}.scope",
        f"/sys/fs/cgroup/system.slice/docker-{cid}.scope",
        f"/sys/fs/cgroup/docker/{cid}",
    ):
        if Path(cand, "pids.current").exists():
            return Path(cand)
    return None


# --------------------------------------------------------------------- ADV-01 .. ADV-06


@pytest.mark.docker
def test_adv01_fork_bomb_is_bounded_and_reported(docker_client: Any, no_leaks: None) -> None:
    limit = OPS.pids_limit
    seen: list[int] = []
    pids_max: list[str] = []
    host_fork: list[int] = []
    stop = threading.Event()

    def monitor() -> None:  # reads the container's pids cgroup from the host while it runs
        cgroup = None
        while not stop.is_set():
            if cgroup is None:
                running = [
                    c
                    for c in containers_of(docker_client, owner_pid=own_pid())
                    if c.status == "running"
                ]
                cgroup = _cgroup_dir(running[0].id) if running else None
            else:
                try:
                    current = int((cgroup / "pids.current").read_text())
                    pids_max[:] = [(cgroup / "pids.max").read_text().strip()]
                except (OSError, ValueError):
                    break  # the container is gone
                seen.append(current)
                if current >= limit and not host_fork:  # the host can still fork
                    host_fork.append(subprocess.run(["true"], timeout=10).returncode)
            time.sleep(0.1)

    watcher = threading.Thread(target=monitor, daemon=True)
    watcher.start()
    t0 = time.monotonic()
    try:
        report = dry(docker_client, ":(){ :|:& };:\nsleep 30\n", timeout=10)
    finally:
        stop.set()
        watcher.join(5)
    run = report.first
    assert run.status == "killed" and run.exit_code == 137, run
    assert run.stop_reason in ("pids", "timeout"), run
    assert "pids" in run.limits_hit
    assert codes(report) & {"OPS407", "OPS401"}
    assert time.monotonic() - t0 < 40
    assert seen, "never saw the container's pids cgroup (cgroup layout unknown?)"
    assert pids_max == [str(limit)]
    assert max(seen) <= limit
    assert host_fork == [0]
    assert subprocess.run(["true"], timeout=10).returncode == 0


@pytest.mark.docker
def test_adv02_memory_hog_is_oom_killed(docker_client: Any, no_leaks: None) -> None:
    t0 = time.monotonic()
    report = dry(docker_client, "tail /dev/zero\n", timeout=60)
    assert_killed(report, "oom", "OPS402")
    assert report.first.duration_s < 15  # the 1 GiB limit is hit within a few seconds
    assert time.monotonic() - t0 < 40


@pytest.mark.docker
def test_adv03_big_file_on_rootfs_stops_at_fsize(docker_client: Any, no_leaks: None) -> None:
    report = dry(docker_client, "dd if=/dev/zero of=/var/tmp/f bs=1M count=1000\n")
    run = report.first
    assert run.exit_code == 128 + signal.SIGXFSZ  # 153: dd died of SIGXFSZ
    assert run.status == "failed" and run.stop_reason is None
    assert "File size limit exceeded" in run.stderr
    assert "disk" in run.limits_hit
    assert {"OPS405", "OPS408"} <= codes(report)
    f = by_path(report)["/var/tmp/f"]
    assert f.change == "added" and f.after is not None
    assert f.after.size == OPS.file_size_bytes == 64 * MiB  # exactly the cap, not a byte more


@pytest.mark.docker
def test_adv03_big_file_in_tmp_stops_at_the_cap(docker_client: Any, no_leaks: None) -> None:
    # /tmp is a 64 MiB tmpfs and fsize is 64 MiB: the file fills both exactly, and the next
    # write trips fsize first (SIGXFSZ) rather than ENOSPC. Either way nothing grows past 64 MiB.
    report = dry(
        docker_client,
        "dd if=/dev/zero of=/tmp/f bs=1M count=1000\necho rc=$?\nstat -c size=%s /tmp/f\n",
    )
    run = report.first
    assert run.exit_code == 0  # the script went on; dd's own status is in rc=
    assert run.stdout.splitlines() == ["rc=153", f"size={64 * MiB}"]
    assert "File size limit exceeded" in run.stderr
    assert "disk" in run.limits_hit and "OPS405" in codes(report)
    assert not [p for p in by_path(report) if p.startswith("/tmp")]  # tmpfs: never in the diff


@pytest.mark.docker
def test_adv04_many_files_hit_the_disk_quota(docker_client: Any, no_leaks: None) -> None:
    # The ops quota is 512 MiB; 48 MiB here keeps the test quick on a shared disk. Same code
    # path: SizeRw polled every 0.5 s, killed over quota.
    policy = replace(OPS, disk_quota_bytes=48 * MiB)
    script = "mkdir /var/fill\ni=0\nwhile :; do head -c 1048576 /dev/zero > /var/fill/f$i; i=$((i+1)); done\n"
    report = dry(docker_client, script, timeout=30, policy=policy)
    assert_killed(report, "disk", "OPS405")
    assert report.first.duration_s < 25
    assert by_path(report)["/var/fill"].change == "added"
    # Known gap (security.md §3.4, §6, README): overlay2 on ext4 refuses `--storage-opt size`,
    # so there is no hard cap, only this poll. Its overshoot is bounded by poll interval x
    # write speed: assert the bound, so a slower or broken poll fails here.
    written = sum(
        f.after.size
        for f in report.diff.files
        if f.path.startswith("/var/fill/") and f.after is not None
    )
    assert 48 * MiB < written < 48 * MiB + 400 * MiB


@pytest.mark.docker
def test_adv04_inode_cap_on_tmp(docker_client: Any, no_leaks: None) -> None:
    script = (
        'for i in $(seq 1 20000); do : > /tmp/f$i || { echo "stopped at $i"; exit 1; }; '
        'done\necho "all created"\n'
    )
    report = dry(docker_client, script)
    run = report.first
    assert run.status == "failed" and run.exit_code == 1
    stopped = lines_with(run.stdout, "stopped at ")
    assert stopped and int(stopped[0].split()[-1]) <= 16384  # nr_inodes=16384
    assert "No space left on device" in run.stderr
    assert "disk" in run.limits_hit


@pytest.mark.docker
@pytest.mark.parametrize(
    "script",
    ["while :; do :; done\n", "trap '' TERM INT\nwhile :; do :; done\n"],
    ids=["busy-loop", "busy-loop-ignoring-TERM"],
)
def test_adv05_infinite_loop_is_killed_at_the_deadline(
    docker_client: Any, no_leaks: None, script: str
) -> None:
    t0 = time.monotonic()
    report = dry(docker_client, script, timeout=KILL_TIMEOUT)
    assert_killed(report, "timeout", "OPS401")
    # SIGKILL at our deadline: a `docker stop` would wait 10 s for the TERM-ignoring loop.
    assert KILL_TIMEOUT <= report.first.duration_s <= KILL_TIMEOUT + 1.0
    assert time.monotonic() - t0 < KILL_TIMEOUT + 20


@pytest.mark.docker
def test_adv06_sleep_past_the_deadline(docker_client: Any, no_leaks: None) -> None:
    report = dry(docker_client, "sleep 100000\n", timeout=KILL_TIMEOUT)
    assert_killed(report, "timeout", "OPS401")
    assert KILL_TIMEOUT <= report.first.duration_s <= KILL_TIMEOUT + 1.0


# --------------------------------------------------------------------- ADV-07 .. ADV-12


def _connect_script(*targets: tuple[str, str, int]) -> str:
    return "".join(
        f'echo hi > /dev/tcp/{host}/{port}; echo "{name} rc=$?"\n' for name, host, port in targets
    )


@pytest.mark.docker
def test_adv07_no_tcp_exfiltration_to_the_host(docker_client: Any, no_leaks: None) -> None:
    gateway = bridge_gateway(docker_client)
    bridge, loop = Listener(gateway), Listener("127.0.0.1")
    with bridge.running(), loop.running():
        report = dry(
            docker_client,
            _connect_script(("bridge", gateway, bridge.port), ("loopback", "127.0.0.1", loop.port)),
        )
    run = report.first
    assert lines_with(run.stdout, "bridge rc=") == ["bridge rc=1"]
    assert lines_with(run.stdout, "loopback rc=") == ["loopback rc=1"]
    assert "Network is unreachable" in run.stderr
    assert "Connection refused" in run.stderr  # 127.0.0.1 is the container's own lo
    assert (bridge.connections, loop.connections) == (0, 0)
    assert report.network == "none"


@pytest.mark.docker
def test_adv07_control_bridge_network_reaches_the_listener(
    docker_client: Any, no_leaks: None
) -> None:
    gateway = bridge_gateway(docker_client)
    bridge = Listener(gateway)
    with bridge.running():
        report = dry(
            docker_client, _connect_script(("bridge", gateway, bridge.port)), network="bridge"
        )
    assert lines_with(report.first.stdout, "bridge rc=") == ["bridge rc=0"]
    assert bridge.connections == 1 and bridge.received == b"hi\n"
    assert report.network == "bridge"


@pytest.mark.docker
def test_adv08_no_dns_and_no_raw_sockets(docker_client: Any, no_leaks: None) -> None:
    script = """\
echo "ifaces=$(ls /sys/class/net | tr '\\n' ' ')"
echo "lo_tx_before=$(cat /sys/class/net/lo/statistics/tx_packets)"
getent hosts example.com; echo "getent rc=$?"
echo "lo_tx_after=$(cat /sys/class/net/lo/statistics/tx_packets)"
python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)' 2>&1 | tail -1
python3 -c 'import socket; socket.socket(socket.AF_PACKET, socket.SOCK_RAW)' 2>&1 | tail -1
"""
    run = dry(docker_client, script).first
    out = run.stdout.splitlines()
    assert "ifaces=lo " in out  # nothing but loopback: no packet can leave
    assert "getent rc=2" in out
    before = lines_with(run.stdout, "lo_tx_before=")[0].split("=")[1]
    after = lines_with(run.stdout, "lo_tx_after=")[0].split("=")[1]
    assert before == after  # the lookup sent nothing, not even on lo
    assert out.count("PermissionError: [Errno 1] Operation not permitted") == 2


@pytest.mark.docker
def test_adv09_no_docker_socket(docker_client: Any, no_leaks: None) -> None:
    script = (
        'ls -l /var/run/docker.sock /run/docker.sock; echo "rc=$?"\n'
        "grep -c docker.sock /proc/self/mountinfo\n"
    )
    run = dry(docker_client, script).first
    assert run.stdout.splitlines() == ["rc=2", "0"]
    assert "cannot access '/var/run/docker.sock': No such file or directory" in run.stderr
    assert "cannot access '/run/docker.sock': No such file or directory" in run.stderr


@pytest.mark.docker
def test_adv10_no_mounts_no_host_namespaces(docker_client: Any, no_leaks: None) -> None:
    script = """\
mount -t tmpfs none /mnt; echo "tmpfs rc=$?"
mount --bind / /mnt; echo "bind rc=$?"
nsenter --net=/proc/1/ns/net true; echo "nsenter rc=$?"
echo "mnt_mounts=$(grep -c ' /mnt ' /proc/self/mountinfo)"
"""
    run = dry(docker_client, script).first
    assert [ln for ln in run.stdout.splitlines() if " rc=" in ln] == [
        "tmpfs rc=32",
        "bind rc=32",
        "nsenter rc=1",
    ]
    assert "mnt_mounts=0" in run.stdout.splitlines()
    assert run.stderr.count("permission denied") == 2
    assert (
        "nsenter: reassociate to namespace 'ns/net' failed: Operation not permitted" in run.stderr
    )


_SETUID = """\
cp /usr/bin/id /usr/local/bin/suid-id; cp /bin/cat /usr/local/bin/suid-cat
chmod 4755 /usr/local/bin/suid-id /usr/local/bin/suid-cat
echo topsecret > /root/secret; chmod 0600 /root/secret; chmod 0755 /root
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
echo "mode=$(stat -c %A /usr/local/bin/suid-id)"
echo "euid=$(as_nobody /usr/local/bin/suid-id -u)"
echo "read=$(as_nobody /usr/local/bin/suid-cat /root/secret 2>&1)"
"""


@pytest.mark.docker
def test_adv11_setuid_helper_gives_no_privileges(docker_client: Any, no_leaks: None) -> None:
    run = dry(docker_client, _SETUID).first
    assert run.status == "passed", run
    out = run.stdout.splitlines()
    assert out[0] == "mode=-rwsr-xr-x"  # the setuid bit is really set
    assert "euid=65534" in out
    assert "read=/usr/local/bin/suid-cat: /root/secret: Permission denied" in out


@pytest.mark.docker
def test_adv11_control_without_nnp_the_helper_gives_root(
    docker_client: Any, no_leaks: None
) -> None:
    # Same kwargs minus no-new-privileges: proves the test above can fail.
    kwargs = to_docker_kwargs(OPS, run_id=f"adv11-control-{uuid.uuid4().hex[:6]}")
    kwargs["security_opt"] = []
    code, out = run_raw(docker_client, kwargs, _SETUID)
    assert code == 0
    assert "euid=0" in out.splitlines()
    assert "read=topsecret" in out.splitlines()


@pytest.mark.docker
def test_adv12_namespace_and_kernel_tricks_are_refused(docker_client: Any, no_leaks: None) -> None:
    keyctl = {"x86_64": 250, "aarch64": 219}.get(platform.machine())
    if keyctl is None:
        pytest.skip(f"keyctl syscall number unknown for {platform.machine()}")
    script = """\
unshare -U -r true; echo "unshare-user rc=$?"
unshare -m true; echo "unshare-mount rc=$?"
chroot / true; echo "chroot rc=$?"
mknod /root/null2 c 1 3; echo "mknod rc=$?"
python3 -c 'import ctypes; l = ctypes.CDLL(None, use_errno=True); r = l.syscall(KEYCTL, 0, 0, 0, 0, 0); print("keyctl", r, ctypes.get_errno())'
""".replace("KEYCTL", str(keyctl))
    report = dry(docker_client, script)
    run = report.first
    assert run.stdout.splitlines() == [
        "unshare-user rc=1",
        "unshare-mount rc=1",
        "chroot rc=125",
        "mknod rc=1",
        "keyctl -1 1",
    ]
    assert run.stderr.count("Operation not permitted") == 4
    assert "/root/null2" not in by_path(report)


# --------------------------------------------------------------------- ADV-13 .. ADV-16


@pytest.mark.docker
def test_adv13_writes_outside_the_workdir_stay_in_the_container(
    docker_client: Any, no_leaks: None
) -> None:
    # Ops profile: the rootfs is writable (strict would say "Read-only file system"); the
    # writes land in the container's own layer, show up in the diff and never on the host.
    name = f"opsgen-adv13-{uuid.uuid4().hex[:8]}"
    targets = [f"/etc/{name}", f"/{name}", f"/var/tmp/{name}"]
    assert not any(os.path.lexists(t) for t in targets)
    report = dry(docker_client, f"touch {' '.join(targets)}\necho rc=$?\n")
    assert report.first.status == "passed" and report.first.stdout == "rc=0\n"
    changes = by_path(report)
    for t in targets:
        assert changes[t].change == "added" and changes[t].after.ftype == "file"  # type: ignore[union-attr]
        assert not os.path.lexists(t), f"{t} appeared on the host"


def _container_log_info(client: Any, seen: dict[str, Any]) -> Any:
    """A progress callback that records the run container's log settings at "collect"."""

    def progress(stage: str) -> None:
        if stage == "collect" and not seen:
            for c in containers_of(client, owner_pid=own_pid()):
                if c.labels.get(f"{LABEL}.run") != "pristine":
                    seen["log"] = c.attrs["HostConfig"]["LogConfig"]
                    seen["path"] = c.attrs.get("LogPath", "")

    return progress


@pytest.mark.docker
def test_adv14_stdout_flood_is_cut_at_the_cap(docker_client: Any, no_leaks: None) -> None:
    seen: dict[str, Any] = {}
    report = sandbox.dryrun(
        "yes AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
        "bash",
        sandbox.DryRunOptions(timeout=30),
        client=docker_client,
        progress=_container_log_info(docker_client, seen),
    )
    assert_killed(report, "output", "OPS403")
    run = report.first
    assert run.stdout_truncated and not run.stderr_truncated
    assert len(run.stdout) == OPS.output_cap_bytes  # exactly the cap, read by us
    assert run.duration_s < 5  # killed within about a second of the flood (start included)
    # No host log file at all: the engine's log driver is off, we read through attach.
    assert seen["log"]["Type"] == "none" and seen["path"] == ""


@pytest.mark.docker
def test_adv15_binary_stderr_flood(docker_client: Any, no_leaks: None) -> None:
    report = dry(docker_client, "head -c 100M /dev/urandom >&2\n", timeout=30)
    assert_killed(report, "output", "OPS403")
    run = report.first
    assert run.stderr_truncated and run.stdout == ""
    assert "\ufffd" in run.stderr  # decoded with errors="replace", no crash
    json.dumps(report.to_dict())  # the report stays serialisable
    shown = SGR.sub("", render(report))
    for raw in ("\x1b", "\x07", "\x9b", "\r"):
        assert raw not in shown


@pytest.mark.docker
def test_adv16_no_zombies_with_init(docker_client: Any, no_leaks: None) -> None:
    script = """\
for i in 1 2 3 4 5; do ( sleep 3 & ) ; done
ps -eo ppid=,comm= | awk '$2 == "sleep" {print "orphan ppid=" $1}'
sleep 4
z=0; for s in /proc/[0-9]*/status; do grep -q '^State:.*Z' "$s" 2>/dev/null && z=$((z+1)); done
echo "zombies=$z"
"""
    # (the orphans live 3 s: long enough for ps to see them on a loaded machine)
    run = dry(docker_client, script).first
    assert lines_with(run.stdout, "orphan ppid=") == ["orphan ppid=1"] * 5  # adopted by init
    assert "zombies=0" in run.stdout.splitlines()


# --------------------------------------------------------------------- ADV-17, ADV-18


def _default_hangup() -> None:
    # Under `nohup` (a CI harness, a detached shell) SIGHUP is inherited as ignored, and the
    # CLI rightly leaves an ignored SIGHUP alone; this test is about a delivered one.
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


def _cli(script: Path) -> subprocess.Popen[bytes]:
    """``opsgen dryrun SCRIPT`` in its own session. SIGINT is not ignored here; if a harness
    ever starts it with SIGINT ignored, ``opsgen.cli.main`` restores the default handler."""
    exe = Path(sys.executable).with_name("opsgen")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "opsgen.cli"]
    return subprocess.Popen(
        [*cmd, "dryrun", str(script), "--timeout", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=_default_hangup,
        env={**os.environ, "OPSGEN_NO_WORKER": "1"},  # this process owns the container
    )


def _running_container_of(client: Any, proc: subprocess.Popen[bytes]) -> Any:
    def find() -> Any:
        if proc.poll() is not None:
            pytest.fail(f"the CLI exited early: {proc.communicate()}")
        for c in containers_of(client, owner_pid=str(proc.pid)):
            if c.status == "running" and c.labels.get(f"{LABEL}.run") != "pristine":
                return c
        return None

    container = wait_for(find, timeout=60)
    assert container is not None, "the CLI never started its container"
    return container


@pytest.mark.docker
@pytest.mark.parametrize(
    "sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["SIGINT", "SIGTERM", "SIGHUP"]
)
def test_adv17_no_orphan_after_ctrl_c_or_term(
    docker_client: Any, no_leaks: None, tmp_path: Path, sig: signal.Signals
) -> None:
    script = tmp_path / "adv17.sh"
    script.write_text("#!/bin/bash\nsleep 120\n")
    proc = _cli(script)
    try:
        container = _running_container_of(docker_client, proc)
        run_id = container.labels[f"{LABEL}.run"]
        os.kill(proc.pid, sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            for c in containers_of(docker_client, owner_pid=str(proc.pid)):
                c.remove(force=True)
    assert proc.returncode == 130, err.decode(errors="replace")
    assert b"Traceback" not in err
    assert err.count(b"Operation cancelled by user") == 1, err.decode(errors="replace")
    assert containers_of(docker_client, run=run_id) == []
    assert containers_of(docker_client, owner_pid=str(proc.pid)) == []


@pytest.mark.docker
def test_adv18_orphan_after_sigkill_is_reaped_and_only_it(
    docker_client: Any, no_leaks: None, tmp_path: Path
) -> None:
    node = os.uname().nodename
    with open(f"/proc/{os.getpid()}/stat") as f:
        my_start = f.read().rsplit(")", 1)[1].split()[19]
    tag = f"adv18-{uuid.uuid4().hex[:8]}"

    def make(labels: dict[str, str]) -> Any:  # created, never started: costs nothing
        return docker_client.containers.create(
            DEFAULT_IMAGE,
            entrypoint=["/bin/true"],
            network_mode="none",
            labels={"opsgen.test": tag, **labels},
        )

    ours = {LABEL: "1", f"{LABEL}.run": tag}
    other_host = make(
        {
            **ours,
            f"{LABEL}.owner_pid": "999999",
            f"{LABEL}.owner_host": f"not-{node}",
            f"{LABEL}.owner_start": "1",
        }
    )
    live_owner = make(
        {
            **ours,
            f"{LABEL}.owner_pid": own_pid(),
            f"{LABEL}.owner_host": node,
            f"{LABEL}.owner_start": my_start,
        }
    )
    reused_pid = make(
        {
            **ours,
            f"{LABEL}.owner_pid": own_pid(),
            f"{LABEL}.owner_host": node,
            f"{LABEL}.owner_start": "1",
        }
    )  # same PID, another process: an orphan
    unlabelled = make({})
    script = tmp_path / "adv18.sh"
    script.write_text("#!/bin/bash\nsleep 120\n")
    proc = _cli(script)
    try:
        orphan = _running_container_of(docker_client, proc)
        proc.kill()
        proc.wait(timeout=30)
        assert not pid_alive(proc.pid)
        orphan.reload()
        assert orphan.status == "running"  # SIGKILL runs no finally: the container survives

        removed = reap_orphans(docker_client)

        # Another opsgen process's reaper may get there first: assert on what is left.
        gone = {c.id for c in (orphan, reused_pid)}
        left = {
            c.id
            for c in docker_client.containers.list(
                all=True, filters={"label": f"opsgen.test={tag}"}
            )
        }
        assert gone.isdisjoint(left)
        assert not containers_of(docker_client, owner_pid=str(proc.pid))
        assert {other_host.id, live_owner.id, unlabelled.id} <= left
        assert not {other_host.id, live_owner.id, unlabelled.id} & set(removed)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for c in docker_client.containers.list(all=True, filters={"label": f"opsgen.test={tag}"}):
            c.remove(force=True)
        for c in containers_of(docker_client, owner_pid=str(proc.pid)):
            c.remove(force=True)


# --------------------------------------------------------------------- ADV-19, ADV-20

HOSTILE_NAMES = {
    "newline": ("nl\nname", "nl\\nname"),
    "carriage-return": ("cr\rname", "cr\\rname"),
    "clear-screen": ("cls\x1b[2Jname", "cls\\x1b[2Jname"),
    "osc-title": ("title\x1b]0;pwned\x07name", "title\\x1b]0;pwned\\x07name"),
    "rich-markup": ("[bold red]APPROVED[blink]", "[bold red]APPROVED[blink]"),
    "leading-dash": ("--force", "--force"),
    "rtl-override": ("rtl\u202etxt.sh", "rtl\\u202etxt.sh"),
    "long": ("L" * 250, "L" * 250),
}
#: Known bug (see test_adv19_newline_in_a_name_stays_on_one_line): checked there, not here.


def _assert_inert(out: str, base: str, keys: set[str]) -> None:
    """``out`` is what a colour terminal received: only rich's own SGR codes are escapes."""
    shown = SGR.sub("", out)
    for raw in ("\x1b", "\x07", "\r", "\u202e", "\x9b"):
        assert raw not in shown, f"raw {raw!r} reached the terminal"
    lines = shown.splitlines()
    for key in keys:
        path = f"{base}/{HOSTILE_NAMES[key][1]}"
        assert any(path in line for line in lines), f"{path!r} not shown on one line"
    # The markup is shown literally, never interpreted as a bold red "APPROVED".
    assert "[bold red]APPROVED[blink]" in shown


def _hand_made(base: str, keys: Any) -> DryRunReport:
    meta = FileMeta("file", 0o644, 0, 0, 1, "0" * 64)
    files = tuple(
        FileChange(
            f"{base}/{HOSTILE_NAMES[k][0]}",
            "added",
            None,
            meta,
            diff=f"+{HOSTILE_NAMES[k][0]}\n",
            notes=(HOSTILE_NAMES[k][0],),
        )
        for k in keys
    )
    hostile = "\x1b[2J\x1b]0;pwned\x07[bold red]APPROVED[/]\r\u202eevil"
    run = RunResult(1, "failed", 0.1, stdout=hostile + "\n", stderr=hostile + "\n")
    report = DryRunReport("bash", "img", "sha256:x", "0" * 64, (run,), SystemDiff(files=files))
    return replace(report, findings=tuple(sandbox.outcome_findings(report)))


@pytest.mark.docker
def test_adv19_hostile_filenames_are_shown_escaped(docker_client: Any, no_leaks: None) -> None:
    base = "/root/adv19"
    script = f"mkdir {base}\n" + "".join(
        f"touch -- {base}/{ansi_c(raw)}\n" for raw, _ in HOSTILE_NAMES.values()
    )
    report = dry(docker_client, script)
    assert report.first.status == "passed", report.first
    changes = by_path(report)
    for raw, _ in HOSTILE_NAMES.values():  # the report keeps the names verbatim, as data
        assert changes[f"{base}/{raw}"].change == "added"
    _assert_inert(render(report), base, set(HOSTILE_NAMES))


def test_adv19_renderer_escapes_hostile_output_without_engine() -> None:
    # The same check on a hand-made report: rendering needs no Docker and must always run.
    report = _hand_made("/srv", HOSTILE_NAMES)
    assert any(f.severity is Severity.ERROR for f in report.findings)
    out = render(report)
    _assert_inert(out, "/srv", set(HOSTILE_NAMES))
    # Output lines are split on \r too, each shown escaped behind the frame (issue 14).
    shown = SGR.sub("", out).splitlines()
    assert shown.count("    │ \\x1b[2J\\x1b]0;pwned\\x07[bold red]APPROVED[/]") == 2  # out, err
    assert shown.count("    │ \\u202eevil") == 2


def test_adv19_newline_in_a_name_stays_on_one_line() -> None:
    base = "/srv"
    forged = "x\nadded   /etc/harmless"
    meta = FileMeta("file", 0o644, 0, 0, 1, "0" * 64)
    report = _hand_made(base, ["newline"])
    report = replace(
        report,
        diff=SystemDiff(
            files=(*report.diff.files, FileChange(f"{base}/{forged}", "added", None, meta))
        ),
    )
    shown = SGR.sub("", render(report)).splitlines()
    assert not any(line.lstrip().startswith("added   /etc/harmless") for line in shown)
    assert any(f"{base}/x\\nadded   /etc/harmless" in line for line in shown)
    assert any(f"{base}/nl\\nname" in line for line in shown)


@pytest.mark.parametrize("key", [k for k in HOSTILE_NAMES if k not in ("rich-markup", "long")])
def test_adv19_export_refuses_hostile_paths(key: str) -> None:
    # Container file names never become export paths (only the approved script and its
    # manifest are exported); a hostile path given to export is refused, not repaired.
    from opsgen.export.paths import check_relpath

    with pytest.raises(ExportError):
        check_relpath(f"ops/{HOSTILE_NAMES[key][0]}")


@pytest.mark.docker
@pytest.mark.parametrize("observer", ["api", "auto"])
def test_adv20_links_and_specials_are_described_never_followed(
    docker_client: Any,
    no_leaks: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    observer: str,
) -> None:
    # "auto" uses the overlay2 observer (reads the layers on this host) where it applies:
    # exactly where a followed link would read a host file.
    monkeypatch.setenv("OPSGEN_OBSERVE", observer)
    secret = f"HOST-CANARY-{uuid.uuid4().hex}"
    canary = tmp_path / "canary"
    canary.write_text(secret)
    canary_stat = canary.stat()
    shadow_before = hashlib.sha256(Path("/etc/shadow").read_bytes()).hexdigest()
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    calls: list[str] = []

    def refuse(name: str) -> Any:
        def spy(*args: Any, **kwargs: Any) -> None:
            calls.append(name)
            raise AssertionError(f"{name} called on the host")

        return spy

    real_symlink = os.symlink

    def own_links_only(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        # The one link the host makes: opsgen's own constant /etc/<name> ->
        # /.opsgen/engine/<name>, written below a descriptor of the *created* (never started)
        # container's upper directory (opsgen.sandbox.netfiles); anything else, and above
        # all a link the container made, is never recreated here.
        from opsgen.sandbox.netfiles import ENGINE_DIR, NET_FILES

        if str(src) in {f"{ENGINE_DIR}/{n}" for n in NET_FILES} and kwargs.get("dir_fd"):
            real_symlink(src, dst, *args, **kwargs)
            return
        calls.append("symlink")
        raise AssertionError(f"symlink {src} -> {dst} called on the host")

    monkeypatch.setattr(os, "symlink", own_links_only)
    for mod, name in (
        (os, "link"),
        (os, "mkfifo"),
        (os, "mknod"),
        (tarfile.TarFile, "extract"),
        (tarfile.TarFile, "extractall"),
    ):
        monkeypatch.setattr(mod, name, refuse(name))
    base = "/root/adv20"
    script = f"""\
mkdir {base} && cd {base}
ln -s /etc/shadow shadow-link
ln -s ../../../../../etc/passwd up-link
ln -s /var/run/docker.sock sock-link
ln -s {canary} host-link
mkfifo fifo
echo data > regular
ln regular hard
mknod dev c 1 3 2>/dev/null || echo "mknod refused"
ln -sf {canary} /etc/motd
"""
    report = dry(docker_client, script)
    run = report.first
    assert run.status == "passed" and run.stdout == "mknod refused\n", run
    files = by_path(report)
    for name, target in (
        ("shadow-link", "/etc/shadow"),
        ("up-link", "../../../../../etc/passwd"),
        ("sock-link", "/var/run/docker.sock"),
        ("host-link", str(canary)),
    ):
        meta = files[f"{base}/{name}"].after
        assert meta is not None and meta.ftype == "symlink" and meta.link_target == target
        assert meta.sha256 == "" and meta.size == 0  # described, never opened
    assert files[f"{base}/fifo"].after.ftype == "fifo"  # type: ignore[union-attr]
    pair = {files[f"{base}/{n}"].after.ftype for n in ("regular", "hard")}  # type: ignore[union-attr]
    assert pair in ({"file"}, {"file", "hardlink"})
    assert f"{base}/dev" not in files  # no device can be made (no CAP_MKNOD)
    motd = files["/etc/motd"]
    assert motd.change == "modified" and motd.after.ftype == "symlink"  # type: ignore[union-attr]
    assert motd.after.link_target == str(canary) and "type file -> symlink" in motd.notes  # type: ignore[union-attr]
    dumped = json.dumps(report.to_dict())
    assert secret not in dumped  # no link was followed to the host's canary
    assert hashlib.sha256(secret.encode()).hexdigest() not in dumped
    assert calls == []
    assert list(cwd.iterdir()) == []
    assert canary.read_text() == secret and canary.stat().st_mtime_ns == canary_stat.st_mtime_ns
    assert hashlib.sha256(Path("/etc/shadow").read_bytes()).hexdigest() == shadow_before
    shown = SGR.sub("", render(report))
    assert "symlink" in shown and "fifo" in shown


def test_adv20_no_extraction_helper_exists() -> None:
    # security.md §4 step 7 describes extracting with tarfile filter="data". The product
    # never extracts container files at all (tarstream reads members in memory; overlay
    # reads with lstat/O_NOFOLLOW), so there is no extraction helper to test. If one is
    # added, this test fails and asks for its ADV-20 unit test.
    import pkgutil

    import opsgen

    offenders = []
    for info in pkgutil.walk_packages(opsgen.__path__, "opsgen."):
        spec = info.module_finder.find_spec(info.name, None)
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            continue
        text = Path(spec.origin).read_text(encoding="utf-8")
        archives = any(m in text for m in ("tarfile", "zipfile", "unpack_archive"))
        extracts = any(c in text for c in (".extractall(", ".extract(", "unpack_archive("))
        if archives and extracts:
            offenders.append(info.name)
    assert offenders == [], f"extraction code appeared in {offenders}: add ADV-20 tests for it"


# --------------------------------------------------------------------- ADV-26 .. ADV-29


@pytest.mark.docker
def test_adv26_host_environment_does_not_leak(
    docker_client: Any, no_leaks: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    canary = f"canary-{uuid.uuid4().hex}"
    monkeypatch.setenv("OPS_CANARY", canary)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", canary)
    script = "env\necho ---\ntr '\\0' '\\n' < /proc/1/environ\n"
    run = dry(docker_client, script).first
    assert canary not in run.stdout
    _, init_env = run.stdout.split("---\n")
    names = {line.split("=", 1)[0] for line in init_env.splitlines() if line}
    # What the engine gave PID 1: our three and HOSTNAME. Not even DEBIAN_FRONTEND: a
    # script that forgets it must not pass here and hang on a real server.
    assert names == {"PATH", "HOME", "LANG", "HOSTNAME"}


@pytest.mark.docker
def test_adv26_docker_client_proxy_config_does_not_leak(
    tmp_path: Path, docker_client: Any, no_leaks: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # docker-py copies proxies from ~/.docker/config.json into a new container's env unless
    # told not to; proxy URLs often carry credentials.
    canary = f"canary{uuid.uuid4().hex[:12]}"
    (tmp_path / "config.json").write_text(
        json.dumps(
            {
                "proxies": {
                    "default": {"httpProxy": f"http://user:{canary}@127.0.0.1:9", "noProxy": canary}
                }
            }
        )
    )
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    client = sandbox.connect(timeout=60)
    try:
        assert client.api._proxy_configs.http  # the client did load the proxy config
        run = dry(client, "env\n").first
    finally:
        client.close()
    assert canary not in run.stdout
    assert "proxy" not in run.stdout.lower()


@pytest.mark.docker
def test_adv28_engine_drift_fails_closed_before_any_container(
    docker_client: Any, no_leaks: None
) -> None:
    options = " ".join(docker_client.info().get("SecurityOptions") or [])
    if "name=userns" in options or "name=rootless" in options:
        pytest.skip("this engine remaps container root: --require-userns has nothing to refuse")
    before = {c.id for c in containers_of(docker_client, owner_pid=own_pid())}
    with pytest.raises(PolicyViolation, match="user-namespace remapping"):
        dry(docker_client, "echo hi\n", require_userns=True)
    if "runsc" not in (docker_client.info().get("Runtimes") or {}):
        with pytest.raises(PolicyViolation, match="runtime runsc is not registered"):
            dry(docker_client, "echo hi\n", policy=replace(OPS, runtime="runsc"))
    assert {c.id for c in containers_of(docker_client, owner_pid=own_pid())} == before


@pytest.mark.docker
def test_adv29_script_sees_its_bundle_intact(docker_client: Any, no_leaks: None) -> None:
    kwargs = to_docker_kwargs(OPS, run_id="x")
    assert not any(
        BUNDLE_DIR == m or BUNDLE_DIR.startswith(m.rstrip("/") + "/") for m in kwargs["tmpfs"]
    )  # never under a mount that would hide it (§3.11)
    report = dry(docker_client, "cd /.opsgen && sha256sum -c SHA256SUMS && sha256sum script\n")
    run = report.first
    assert run.status == "passed", run
    assert "script: OK" in run.stdout.splitlines() and "run: OK" in run.stdout.splitlines()
    assert f"{report.script_sha256}  script" in run.stdout.splitlines()


def _tampered(real: Any) -> Any:
    def make(script: str, lang: str, extra: Any = None) -> bytes:
        src = tarfile.open(fileobj=io.BytesIO(real(script, lang, extra)))
        buf = io.BytesIO()
        with src, tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as dst:
            for m in src.getmembers():
                data = src.extractfile(m).read() if m.isfile() else None  # type: ignore[union-attr]
                if m.name == ".opsgen/script":
                    data = b"echo TAMPERED\n"
                    m.size = len(data)
                dst.addfile(m, io.BytesIO(data) if data is not None else None)
        return buf.getvalue()

    return make


@pytest.mark.docker
def test_adv29_tampered_bundle_never_runs(
    docker_client: Any, no_leaks: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    stage = sys.modules[sandbox.dryrun.__module__]
    monkeypatch.setattr(stage, "make_bundle", _tampered(make_bundle))
    report = dry(docker_client, "echo original\n")
    run = report.first
    assert run.exit_code == 197 and run.status == "failed"
    assert "the script bundle does not match its checksums" in run.stderr
    assert "TAMPERED" not in run.stdout and "original" not in run.stdout
    assert "OPS408" in codes(report) and not report.ok
