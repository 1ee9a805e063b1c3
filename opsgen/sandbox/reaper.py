"""Removing sandbox containers left behind by an opsgen process that died (SIGKILL, crash).

Only containers carrying our label are ever touched, and only those whose owner process,
on this host, is gone: the engine may be shared with other people's containers and with
other opsgen processes that are still running (security.md §3.12).
"""

from __future__ import annotations

import os

import docker
from docker.errors import APIError, NotFound

from opsgen.sandbox.policy import LABEL, _process_start

__all__ = ["owner_alive", "reap_orphans", "remove_owned"]


def owner_alive(labels: dict[str, str]) -> bool:
    """Whether the opsgen process that created a container still runs (same PID, same start)."""
    if labels.get(f"{LABEL}.owner_host", "") != os.uname().nodename:
        return True  # another machine's container: not ours to judge
    try:
        pid = int(labels.get(f"{LABEL}.owner_pid", ""))
    except ValueError:
        return False
    if pid <= 0 or not os.path.exists(f"/proc/{pid}"):
        return False
    started = labels.get(f"{LABEL}.owner_start", "")
    return not started or _process_start(pid) == started


def reap_orphans(client: docker.DockerClient) -> list[str]:
    """Remove our orphaned containers; return their ids."""
    removed: list[str] = []
    try:
        containers = client.containers.list(all=True, filters={"label": f"{LABEL}=1"})
    except APIError:
        return removed
    for container in containers:
        if owner_alive(dict(container.labels)):
            continue
        try:
            container.remove(force=True)
            removed.append(str(container.id))
        except NotFound:
            pass
        except APIError:
            continue
    return removed


def remove_owned(client: docker.DockerClient, pid: int, started: str) -> list[str]:
    """Remove the containers of one process of this host that has ended; return their ids.

    The worker calls this for a child that died before its own clean-up. ``started`` (its
    start time, read before it was waited for) keeps a later process with the same PID out.
    """
    labels = [f"{LABEL}=1", f"{LABEL}.owner_pid={pid}", f"{LABEL}.owner_host={os.uname().nodename}"]
    if started:
        labels.append(f"{LABEL}.owner_start={started}")
    removed: list[str] = []
    try:
        containers = client.containers.list(all=True, filters={"label": labels})
    except APIError:
        return removed
    for container in containers:
        try:
            container.remove(force=True)
            removed.append(str(container.id))
        except NotFound:
            pass
        except APIError:
            continue
    return removed
