"""Removing sandbox containers left behind by an opsgen process that died (SIGKILL, crash).

Only containers carrying our label are ever touched, and only those whose owner process,
on this host, is gone: the engine may be shared with other people's containers and with
other opsgen processes that are still running (security.md §3.12).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import docker
from docker.errors import APIError, NotFound

from opsgen.sandbox.policy import LABEL, process_start

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
    return not started or process_start(pid) == started


def reap_orphans(client: docker.DockerClient) -> list[str]:
    """Remove our orphaned containers; return their ids."""
    try:
        containers = client.containers.list(all=True, filters={"label": f"{LABEL}=1"})
    except APIError:
        return []
    return _remove(c for c in containers if not owner_alive(dict(c.labels)))


def remove_owned(client: docker.DockerClient, pid: int, started: str) -> list[str]:
    """Remove the containers of one process of this host that has ended; return their ids.

    The worker calls this for a child that died before its own clean-up. ``started`` (its
    start time, read before it was waited for) keeps a later process with the same PID out.
    """
    labels = [f"{LABEL}=1", f"{LABEL}.owner_pid={pid}", f"{LABEL}.owner_host={os.uname().nodename}"]
    if started:
        labels.append(f"{LABEL}.owner_start={started}")
    try:
        containers = client.containers.list(all=True, filters={"label": labels})
    except APIError:
        return []
    return _remove(containers)


def _remove(containers: Iterable[Any]) -> list[str]:
    """Force-remove each container; the ids of those removed (gone already or refused by
    the engine: skipped, the next reaper pass tries again)."""
    removed: list[str] = []
    for container in containers:
        try:
            container.remove(force=True)
            removed.append(str(container.id))
        except (NotFound, APIError):
            continue
    return removed
