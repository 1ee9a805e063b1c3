"""The sandbox policy: every hardening setting as data, turned into docker SDK kwargs.

Docker's secure settings are opt-in (security.md §2), so we set every one ourselves, keep them
in one frozen value, and check the final kwargs against a deny-list before any container is
created. A test snapshots the exact kwargs (ADV-27), so a lost flag fails loudly.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from docker.types import LogConfig, Ulimit

from opsgen.errors import PolicyViolation

__all__ = ["OPS", "SandboxPolicy", "check_kwargs", "process_start", "to_docker_kwargs"]

LABEL = "opsgen.sandbox"
#: The internal network of the package path (``opsgen.sandbox.packages.INNER_NETWORK``).
PACKAGE_NETWORK = "opsgen-pkg-inner"
MiB = 1 << 20


@dataclass(frozen=True, slots=True)
class SandboxPolicy:
    """Limits and privileges of one dry-run container.

    The defaults are the "ops" profile of security.md §4: root in the container (scripts
    administer accounts and files) but no network, all capabilities dropped except the few
    that file and account administration needs, no privilege gain through setuid, and hard
    bounds on processes, memory, CPU, file size, disk, output and wall time.
    """

    #: ``packages``: only the package proxy's internal network (:mod:`.packages`).
    network: Literal["none", "bridge", "packages"] = "none"
    cap_add: tuple[str, ...] = (
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "SETUID",
        "SETGID",
        "KILL",
    )
    pids_limit: int = 256
    memory_bytes: int = 1024 * MiB
    nano_cpus: int = 1_000_000_000
    file_size_bytes: int = 64 * MiB
    nofile: int = 1024
    tmp_size_bytes: int = 64 * MiB
    #: The writable layer's quota, polled and killed above (there is no hard cap on overlay2
    #: over ext4, security.md §3.4). Counted in allocated blocks where the host can walk the
    #: layer (a file's size when a sparse file is larger), else in the engine's apparent
    #: ``SizeRw``.
    disk_quota_bytes: int = 512 * MiB
    #: Entries (files, directories, links) in the writable layer, where the host can count
    #: them: 100k empty files cost disk blocks, and every one costs the host a read later.
    inode_quota: int = 100_000
    output_cap_bytes: int = 1 * MiB
    timeout_s: float = 120.0
    runtime: str | None = None
    extra_labels: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """What the report records about the policy a run used."""
        return asdict(self)


OPS = SandboxPolicy()

# Settings that would hand the script the host; refused whatever the caller asks.
_FORBIDDEN_TRUE = ("privileged", "publish_all_ports", "auto_remove", "tty", "stdin_open")
_FORBIDDEN_PRESENT = (
    "volumes",
    "mounts",
    "devices",
    "device_requests",
    "ports",
    "volumes_from",
    "links",
    "dns",
    "extra_hosts",
    "sysctls",
    "cgroup_parent",
    "userns_mode",
    # docker-py's ``network`` overrides ``network_mode`` in the HostConfig it builds.
    "network",
    "networking_config",
)
# The only security options we send. The daemon applies them in order, so an allow-list, not
# a deny-list: ["no-new-privileges", "no-new-privileges=false"] ends with NNP off, and
# "label:disable" or a permissive "seccomp=<json>" profile would pass a substring check.
_SECURITY_OPTS = {"no-new-privileges", "no-new-privileges=true", "no-new-privileges:true"}
_FORBIDDEN_CAPS = {
    "ALL",
    "SYS_ADMIN",
    "NET_ADMIN",
    "NET_RAW",
    "SYS_PTRACE",
    "SYS_MODULE",
    "DAC_READ_SEARCH",
    "SYS_RAWIO",
    "MKNOD",
    "SYS_TIME",
    "SYS_BOOT",
    "BPF",
    "PERFMON",
    "SYSLOG",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "LINUX_IMMUTABLE",
}
_HOST_MODES = ("network_mode", "pid_mode", "ipc_mode", "uts_mode", "cgroupns")


def to_docker_kwargs(policy: SandboxPolicy, *, run_id: str) -> dict[str, Any]:
    """The ``client.containers.create`` keyword arguments for ``policy``.

    The environment is set here and nowhere else: nothing of the host's is passed in.
    """
    labels = {
        LABEL: "1",
        f"{LABEL}.run": run_id,
        f"{LABEL}.owner_pid": str(os.getpid()),
        f"{LABEL}.owner_start": process_start(os.getpid()),
        f"{LABEL}.owner_host": os.uname().nodename,
        **policy.extra_labels,
    }
    kwargs: dict[str, Any] = {
        "network_mode": PACKAGE_NETWORK if policy.network == "packages" else policy.network,
        "cap_drop": ["ALL"],
        "cap_add": list(policy.cap_add),
        "security_opt": ["no-new-privileges"],
        "pids_limit": policy.pids_limit,
        "mem_limit": policy.memory_bytes,
        "memswap_limit": policy.memory_bytes,
        "nano_cpus": policy.nano_cpus,
        "ulimits": [
            Ulimit(name="fsize", soft=policy.file_size_bytes, hard=policy.file_size_bytes),
            Ulimit(name="nofile", soft=policy.nofile, hard=policy.nofile),
            Ulimit(name="core", soft=0, hard=0),
        ],
        # The container's own /tmp, not the host's.
        "tmpfs": {
            "/tmp": f"rw,noexec,nosuid,nodev,size={policy.tmp_size_bytes},nr_inodes=16384"  # noqa: S108
        },
        "init": True,
        "ipc_mode": "private",
        "log_config": LogConfig(type="none"),
        "environment": {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": "/root",
            "LANG": "C.UTF-8",
        },
        # docker-py would otherwise copy proxies from ~/.docker/config.json into the env.
        "use_config_proxy": False,
        "tty": False,
        "stdin_open": False,
        "read_only": False,
        "labels": labels,
        "hostname": "opsgen-sandbox",
        "working_dir": "/root",
    }
    if policy.runtime:
        kwargs["runtime"] = policy.runtime
    check_kwargs(kwargs)
    return kwargs


def check_kwargs(kwargs: dict[str, Any]) -> None:
    """Raise :class:`PolicyViolation` for any setting that weakens the sandbox.

    Pure, so it is tested without Docker (ADV-09, ADV-10, ADV-27).
    """
    for key in _FORBIDDEN_TRUE:
        if kwargs.get(key):
            raise PolicyViolation(f"sandbox policy forbids {key}=True")
    for key in _FORBIDDEN_PRESENT:
        if kwargs.get(key):
            raise PolicyViolation(
                f"sandbox policy forbids {key} (nothing of the host is mounted or exposed)"
            )
    for key in _HOST_MODES:
        value = str(kwargs.get(key) or "")
        if value == "host" or value.startswith("container:"):
            raise PolicyViolation(f"sandbox policy forbids {key}={value}")
    if kwargs.get("network_mode") not in ("none", "bridge", PACKAGE_NETWORK):
        raise PolicyViolation(
            f"sandbox network must be none, bridge or {PACKAGE_NETWORK}, "
            f"not {kwargs.get('network_mode')!r}"
        )
    if kwargs.get("cap_drop") != ["ALL"]:
        raise PolicyViolation("sandbox policy requires cap_drop=['ALL']")
    bad_caps = {
        str(c).upper().removeprefix("CAP_") for c in kwargs.get("cap_add") or []
    } & _FORBIDDEN_CAPS
    if bad_caps:
        raise PolicyViolation(f"sandbox policy forbids capabilities {sorted(bad_caps)}")
    sec = [str(s) for s in kwargs.get("security_opt") or []]
    if not sec:
        raise PolicyViolation("sandbox policy requires no-new-privileges")
    if any(s not in _SECURITY_OPTS for s in sec):
        raise PolicyViolation(f"sandbox policy forbids security options {sec}")
    for key in ("pids_limit", "mem_limit", "memswap_limit", "nano_cpus"):
        if not kwargs.get(key) or int(kwargs[key]) <= 0:
            raise PolicyViolation(f"sandbox policy requires a positive {key}")
    if kwargs.get("memswap_limit") != kwargs.get("mem_limit"):
        raise PolicyViolation("sandbox policy requires memswap_limit == mem_limit (no swap)")
    if kwargs.get("use_config_proxy") is not False:
        raise PolicyViolation("sandbox policy requires use_config_proxy=False (no host env)")
    if not kwargs.get("init"):
        raise PolicyViolation("sandbox policy requires init=True (signals and zombies)")
    if any("docker.sock" in str(v) for v in kwargs.values()):
        raise PolicyViolation("sandbox policy forbids any reference to the Docker socket")


def process_start(pid: int) -> str:
    """The start time of ``pid`` in clock ticks, so the reaper is not fooled by PID reuse."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""
