"""Sandbox policy, bundle names and engine checks without Docker (security.md §5).

ADV-09/10 (forbidden kwargs), ADV-21 (bundle path traversal), ADV-27 (exact kwargs
snapshot), ADV-28 (engine capability drift, fake ``client.info()``). None of these needs an
engine: they must always run, in CI and on a laptop without Docker.
"""

from __future__ import annotations

import copy
import io
import tarfile
from typing import Any

import pytest
from docker.types import Mount

from opsgen.errors import PolicyViolation
from opsgen.sandbox.bundle import BUNDLE_DIR, check_member_name, make_bundle
from opsgen.sandbox.engine import engine_warnings
from opsgen.sandbox.policy import LABEL, OPS, SandboxPolicy, check_kwargs, to_docker_kwargs

# --------------------------------------------------------------------------- ADV-27


#: The exact create() kwargs of the ops profile. A hardening kwarg that disappears, or a new
#: one that appears, fails this test; change it only together with security.md §4.
OPS_SNAPSHOT: dict[str, Any] = {
    "network_mode": "none",
    "cap_drop": ["ALL"],
    "cap_add": ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "SETUID", "SETGID", "KILL"],
    "security_opt": ["no-new-privileges"],
    "pids_limit": 256,
    "mem_limit": 1024 << 20,
    "memswap_limit": 1024 << 20,
    "nano_cpus": 1_000_000_000,
    "ulimits": [
        {"Name": "fsize", "Soft": 64 << 20, "Hard": 64 << 20},
        {"Name": "nofile", "Soft": 1024, "Hard": 1024},
        {"Name": "core", "Soft": 0, "Hard": 0},
    ],
    "tmpfs": {"/tmp": "rw,noexec,nosuid,nodev,size=67108864,nr_inodes=16384"},
    "init": True,
    "ipc_mode": "private",
    "log_config": {"Type": "none", "Config": {}},
    "environment": {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": "/root",
        "LANG": "C.UTF-8",
    },
    "use_config_proxy": False,
    "tty": False,
    "stdin_open": False,
    "read_only": False,
    "labels": {"opsgen.sandbox": "1", "opsgen.sandbox.run": "x"},
    "hostname": "opsgen-sandbox",
    "working_dir": "/root",
}
_HOST_DEPENDENT = ("owner_pid", "owner_start", "owner_host")


def _ops_kwargs() -> dict[str, Any]:
    return copy.deepcopy(to_docker_kwargs(OPS, run_id="x"))


def _plain(value: Any) -> Any:
    """docker.types values (Ulimit, LogConfig) are dict subclasses: compare as plain data."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def test_adv27_ops_kwargs_snapshot_is_exact() -> None:
    kwargs = _plain(_ops_kwargs())
    labels = kwargs["labels"]
    for key in _HOST_DEPENDENT:
        assert labels.pop(f"{LABEL}.{key}")  # present and non-empty, then left out
    assert kwargs == OPS_SNAPSHOT


def test_adv27_ownership_labels_identify_this_process() -> None:
    import os

    labels = to_docker_kwargs(OPS, run_id="x")["labels"]
    assert labels[f"{LABEL}.owner_pid"] == str(os.getpid())
    assert labels[f"{LABEL}.owner_host"] == os.uname().nodename
    assert labels[f"{LABEL}.owner_start"].isdigit()


def test_adv27_policy_values_are_the_ops_profile() -> None:
    assert OPS == SandboxPolicy()
    assert OPS.summary()["network"] == "none"
    assert OPS.timeout_s == 120.0 and OPS.output_cap_bytes == 1 << 20
    assert OPS.disk_quota_bytes == 512 << 20 and OPS.file_size_bytes == 64 << 20
    assert OPS.inode_quota == 100_000


def test_adv27_bridge_network_is_the_only_other_network() -> None:
    from dataclasses import replace

    assert to_docker_kwargs(replace(OPS, network="bridge"), run_id="x")["network_mode"] == "bridge"
    with pytest.raises(PolicyViolation):
        to_docker_kwargs(replace(OPS, network="host"), run_id="x")  # type: ignore[arg-type]


def test_adv27_extra_labels_cannot_smuggle_kwargs() -> None:
    from dataclasses import replace

    kwargs = to_docker_kwargs(replace(OPS, extra_labels={"privileged": "true"}), run_id="x")
    assert "privileged" not in kwargs and kwargs["labels"]["privileged"] == "true"


#: Each entry weakens the sandbox; check_kwargs must refuse every one (ADV-09, ADV-10, ADV-27).
FORBIDDEN: dict[str, dict[str, Any]] = {
    # ADV-09: the Docker socket, by any route
    "volume docker.sock": {"volumes": {"/var/run/docker.sock": {"bind": "/var/run/docker.sock"}}},
    "volume list docker.sock": {"volumes": ["/run/docker.sock:/run/docker.sock"]},
    "mount docker.sock": {
        "mounts": [Mount("/var/run/docker.sock", "/var/run/docker.sock", type="bind")]
    },
    "docker.sock anywhere": {"working_dir": "/var/run/docker.sock"},
    # ADV-10: host paths, devices, privileges, host namespaces
    "volume host root": {"volumes": ["/:/host"]},
    "mount host root": {"mounts": [Mount("/host", "/", type="bind")]},
    "volumes_from": {"volumes_from": ["other"]},
    "devices": {"devices": ["/dev/sda:/dev/sda:rwm"]},
    "device_requests": {"device_requests": [{"Driver": "nvidia", "Count": -1}]},
    "privileged": {"privileged": True},
    "pid host": {"pid_mode": "host"},
    "pid container": {"pid_mode": "container:abc"},
    "network host": {"network_mode": "host"},
    "network container": {"network_mode": "container:abc"},
    "network custom": {"network_mode": "my-lan"},
    "ipc host": {"ipc_mode": "host"},
    "uts host": {"uts_mode": "host"},
    "cgroupns host": {"cgroupns": "host"},
    "userns host": {"userns_mode": "host"},
    "ports": {"ports": {"22/tcp": 2222}},
    "publish all": {"publish_all_ports": True},
    "sysctls": {"sysctls": {"net.ipv4.ip_forward": "1"}},
    "cgroup_parent": {"cgroup_parent": "/"},
    "tty": {"tty": True},
    "stdin_open": {"stdin_open": True},
    "auto_remove": {"auto_remove": True},
    "cap SYS_ADMIN": {"cap_add": ["CHOWN", "SYS_ADMIN"]},
    "cap CAP_SYS_ADMIN": {"cap_add": ["CAP_SYS_ADMIN"]},
    "cap sys_admin lower": {"cap_add": ["sys_admin"]},
    "cap NET_RAW": {"cap_add": ["NET_RAW"]},
    "cap NET_ADMIN": {"cap_add": ["NET_ADMIN"]},
    "cap SYS_PTRACE": {"cap_add": ["SYS_PTRACE"]},
    "cap MKNOD": {"cap_add": ["MKNOD"]},
    "cap ALL": {"cap_add": ["ALL"]},
    "cap_drop missing": {"cap_drop": []},
    "cap_drop partial": {"cap_drop": ["NET_RAW"]},
    # seccomp, AppArmor, SELinux, no-new-privileges
    "seccomp unconfined": {"security_opt": ["no-new-privileges", "seccomp=unconfined"]},
    "seccomp unconfined colon": {"security_opt": ["no-new-privileges", "seccomp:unconfined"]},
    "seccomp custom profile": {
        "security_opt": ["no-new-privileges", 'seccomp={"defaultAction": "SCMP_ACT_ALLOW"}']
    },
    "apparmor unconfined": {"security_opt": ["no-new-privileges", "apparmor=unconfined"]},
    "label disable": {"security_opt": ["no-new-privileges", "label=disable"]},
    "label disable colon": {"security_opt": ["no-new-privileges", "label:disable"]},
    "nnp missing": {"security_opt": []},
    # The daemon applies security options in order: a later one turns NNP back off
    # (verified on this engine: NoNewPrivs 0 in /proc/self/status).
    "nnp turned off later": {"security_opt": ["no-new-privileges", "no-new-privileges=false"]},
    "nnp turned off colon": {"security_opt": ["no-new-privileges", "no-new-privileges:false"]},
    # docker-py's `network` overrides `network_mode` in HostConfig (verified: a container
    # created with network_mode="none", network="host" has NetworkMode "host").
    "network kwarg host": {"network": "host"},
    "networking_config": {"networking_config": {"host": None}},
    # docker-py injects ~/.docker/config.json proxies into the environment unless disabled.
    "config proxy": {"use_config_proxy": True},
    "config proxy default": {"use_config_proxy": None},
    # bounds
    "no pids limit": {"pids_limit": 0},
    "unlimited pids": {"pids_limit": -1},
    "no memory limit": {"mem_limit": 0, "memswap_limit": 0},
    "swap": {"memswap_limit": 4096 << 20},
    "no cpu limit": {"nano_cpus": 0},
    "no init": {"init": False},
}


@pytest.mark.parametrize("change", FORBIDDEN.values(), ids=list(FORBIDDEN))
def test_adv09_adv10_policy_refuses(change: dict[str, Any]) -> None:
    kwargs = {**_ops_kwargs(), **change}
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    with pytest.raises(PolicyViolation):
        check_kwargs(kwargs)


def test_adv09_adv10_ops_kwargs_pass_the_check() -> None:
    check_kwargs(_ops_kwargs())  # the control: the refusals above are not blanket refusals


@pytest.mark.parametrize(
    "opt", ["no-new-privileges", "no-new-privileges=true", "no-new-privileges:true"]
)
def test_adv10_nnp_spellings_that_keep_it_on_are_accepted(opt: str) -> None:
    check_kwargs({**_ops_kwargs(), "security_opt": [opt]})


# --------------------------------------------------------------------------- ADV-21


@pytest.mark.parametrize(
    "name",
    [
        "../../.bashrc",
        "/etc/cron.d/x",
        "files/../../etc/passwd",
        "..",
        ".",
        "",
        "a//b",
        "a/./b",
        "a/",
        "x\ny",
        "x\r",
        "\x1b[2J",
        "rtl\u202etxt",
        "a\\b",
        "\x00",
        "a\u2066b",
    ],
)
def test_adv21_bundle_rejects_traversal_and_hostile_names(name: str) -> None:
    with pytest.raises(PolicyViolation):
        check_member_name(name)
    with pytest.raises(PolicyViolation):  # before any container could exist: no client used
        make_bundle("echo hi\n", "bash", extra={name: b"x"})


@pytest.mark.parametrize("name", ["nginx.conf", "files/nginx/site.conf", "a-b_c.1"])
def test_adv21_bundle_accepts_plain_relative_names(name: str) -> None:
    assert check_member_name(name) == name
    members = _members(make_bundle("echo hi\n", "bash", extra={name: b"x"}))
    assert f".opsgen/{name}" in members


def _members(bundle: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(bundle)) as tar:
        return {m.name: m for m in tar.getmembers()}


@pytest.mark.parametrize("lang", ["bash", "ansible"])
def test_adv21_every_bundle_member_stays_under_the_bundle_dir(lang: str) -> None:
    script = "- hosts: web\n  tasks: []\n" if lang == "ansible" else "echo hi\n"
    members = _members(make_bundle(script, lang))
    assert BUNDLE_DIR == "/.opsgen"
    for name, info in members.items():
        assert name == ".opsgen" or name.startswith(".opsgen/"), name
        assert ".." not in name.split("/")
        assert info.isfile() or info.isdir(), f"{name}: only files and directories"
        assert not info.mode & 0o6000, f"{name}: no setuid/setgid bits"
    assert ".opsgen/SHA256SUMS" in members and ".opsgen/run" in members


# --------------------------------------------------------------------------- ADV-28

SECCOMP = "name=seccomp,profile=default"


def test_adv28_warns_without_userns_remap() -> None:
    warnings = engine_warnings({"SecurityOptions": [SECCOMP], "Runtimes": {"runc": {}}})
    assert len(warnings) == 1 and "no userns-remap or rootless" in warnings[0]


@pytest.mark.parametrize("option", ["name=userns", "name=rootless"])
def test_adv28_remapped_engine_has_no_warning(option: str) -> None:
    info = {"SecurityOptions": [SECCOMP, option], "Runtimes": {"runc": {}}}
    assert engine_warnings(info) == []
    assert engine_warnings(info, require_userns=True) == []


@pytest.mark.parametrize("info", [{}, {"SecurityOptions": None}, {"SecurityOptions": []}])
def test_adv28_engine_without_seccomp_or_userns_warns_twice(info: dict[str, Any]) -> None:
    warnings = engine_warnings(info)
    assert len(warnings) == 2
    assert any("seccomp is not enabled" in w for w in warnings)


def test_adv28_engine_whose_default_seccomp_is_unconfined_warns() -> None:
    # `dockerd --seccomp-profile=unconfined` still lists seccomp, with profile=unconfined:
    # every container without its own profile then runs with no syscall filter.
    info = {"SecurityOptions": ["name=seccomp,profile=unconfined", "name=userns"]}
    warnings = engine_warnings(info)
    assert len(warnings) == 1 and "seccomp is not enabled" in warnings[0]


@pytest.mark.parametrize("info", [{"SecurityOptions": [SECCOMP]}, {}])
def test_adv28_require_userns_fails_closed(info: dict[str, Any]) -> None:
    with pytest.raises(PolicyViolation, match="user-namespace remapping"):
        engine_warnings(info, require_userns=True)


def test_adv28_missing_runtime_is_refused() -> None:
    runtimes: dict[str, Any] = {"runc": {}}
    info = {"SecurityOptions": [SECCOMP, "name=userns"], "Runtimes": runtimes}
    with pytest.raises(PolicyViolation, match="runtime runsc is not registered"):
        engine_warnings(info, runtime="runsc")
    runtimes["runsc"] = {"path": "/usr/bin/runsc"}
    assert engine_warnings(info, runtime="runsc") == []
