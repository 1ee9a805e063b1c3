"""A package path, not a network: Debian packages through a caching proxy, nothing else.

Two Docker networks and one shared proxy container (issue 13):

* ``opsgen-pkg-inner``: internal (no route out) and with no address of the host on it
  (``inhibit_ipv4``: an internal bridge otherwise gives the host a gateway address that
  every container on it can connect to). Sandbox containers of the ``packages`` mode join
  it and nothing else.
* ``opsgen-pkg-outer``: an ordinary bridge, for the proxy alone to reach the mirror.
* ``opsgen-pkgproxy``: Debian's apt-cacher-ng (``image/Dockerfile.pkgproxy``), configured to
  serve the Debian archives only (``ForceManaged``: any other host is refused; no CONNECT),
  on both networks; its cache is the named volume ``opsgen-pkgcache``, so what was fetched
  once is there for later runs, offline too.

They start on demand, carry the label ``opsgen.pkgproxy``, and survive between dry-runs (a
warm cache is the point). :func:`reap_proxies` removes what is stale: a stopped proxy, one
of an older image, networks no proxy uses. The proxy has the sandbox's hardening where it
applies: no capabilities, no new privileges, read-only root, bounded pids, memory, CPU and
logs, an unprivileged user.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any

import docker
from docker.errors import APIError, NotFound
from docker.types import LogConfig

from opsgen.errors import ImageMissing, SandboxError

__all__ = [
    "INNER_NETWORK",
    "OUTER_NETWORK",
    "PROXY_IMAGE",
    "PROXY_LABEL",
    "PROXY_NAME",
    "PROXY_PORT",
    "RESOLV_CONF",
    "VOLUME",
    "ProxyStatus",
    "apt_config",
    "clear",
    "ensure_proxy",
    "proxy_kwargs",
    "proxy_status",
    "reap_proxies",
    "sandbox_files",
]

PROXY_IMAGE = "opsgen-pkgproxy:bookworm"
PROXY_LABEL = "opsgen.pkgproxy"
INNER_NETWORK = "opsgen-pkg-inner"
OUTER_NETWORK = "opsgen-pkg-outer"
PROXY_NAME = "opsgen-pkgproxy"
PROXY_PORT = 3142
VOLUME = "opsgen-pkgcache"
CACHE_DIR = "/var/cache/apt-cacher-ng"
MiB = 1 << 20


def apt_config(address: str) -> bytes:
    """The apt configuration a sandbox of the ``packages`` mode runs with (``APT_CONFIG``).

    Only plain http through the proxy: https has no route, and the proxy tunnels nothing.
    No SRV lookups: apt asks DNS for ``_http._tcp.deb.debian.org`` even through a proxy,
    and on the internal network an outside name gets no answer until the resolver gives up
    (measured: ``apt-get update`` 13.6 s with them, 2.8 s without, 2.7 s on a bridge).
    No translated descriptions (``apt-get update`` 2.0 -> 1.2 s: the long descriptions are
    all they hold) and no fsync after each unpacked file (``--force-unsafe-io``: the
    container is thrown away; what dpkg leaves installed is the same).
    """
    return (
        f'Acquire::http::Proxy "http://{address}:{PROXY_PORT}";\n'
        'Acquire::https::Proxy "DIRECT";\n'
        'Acquire::EnableSrvRecords "false";\n'
        'Acquire::Retries "2";\n'
        'Acquire::http::Timeout "30";\n'
        'Acquire::Languages "none";\n'
        'DPkg::Options:: "--force-unsafe-io";\n'
    ).encode()


#: The sandbox's /etc/resolv.conf in the ``packages`` mode. The engine's own resolver
#: (127.0.0.11) does not answer an outside name on an internal network until it gives up,
#: about 20 s a lookup (an Ansible fact, a ``curl`` to a mirror, a hostname check: each
#: stalled a run); a resolver on the container's own loopback, where nothing listens, is
#: refused at once. apt reaches the proxy by its address (:func:`apt_config`): no DNS at all.
RESOLV_CONF = (
    b"# opsgen dry-run (--network packages): Debian packages come through the package\n"
    b"# proxy; no other name resolves here.\n"
    b"nameserver 127.0.0.1\n"
    b"options ndots:0 timeout:1 attempts:1\n"
)


def sandbox_files(address: str) -> dict[str, bytes]:
    """The bundle files of a ``packages`` sandbox: apt's configuration (the proxy at
    ``address``) and the resolver the runner installs as /etc/resolv.conf on the first
    start (``shims/run``)."""
    return {"apt.conf": apt_config(address), "net.resolv.conf": RESOLV_CONF}


def proxy_kwargs(image_id: str) -> dict[str, Any]:
    """``client.containers.create`` keyword arguments of the proxy: hardened like the sandbox.

    It runs as apt-cacher-ng (the image's USER), with no capability (it binds port 3142),
    a read-only root, the cache volume as its only writable persistent path, and tmpfs for
    its socket and logs.
    """
    return {
        "image": image_id,
        "name": PROXY_NAME,
        "network": OUTER_NETWORK,
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "read_only": True,
        "pids_limit": 128,
        "mem_limit": 256 * MiB,
        "memswap_limit": 256 * MiB,
        "nano_cpus": 1_000_000_000,
        "init": True,
        "tmpfs": {
            "/run/apt-cacher-ng": "rw,noexec,nosuid,nodev,size=1m,uid=100,gid=101",
            "/var/log/apt-cacher-ng": "rw,noexec,nosuid,nodev,size=16m,uid=100,gid=101",
            "/tmp": "rw,noexec,nosuid,nodev,size=16m",  # noqa: S108 - the container's own
        },
        "volumes": {VOLUME: {"bind": CACHE_DIR, "mode": "rw"}},
        "log_config": LogConfig(type="json-file", config={"max-size": "1m", "max-file": "1"}),
        "environment": {},
        "use_config_proxy": False,
        "labels": {PROXY_LABEL: "1", f"{PROXY_LABEL}.image": image_id},
        "detach": True,
    }


def ensure_proxy(client: docker.DockerClient) -> str:
    """The networks, volume and proxy, running; created when missing (on demand).

    Returns the proxy's address on the internal network (the sandbox's apt uses it).

    Concurrent opsgen processes may race to create them: a name conflict means another won,
    and what it made is used.

    Raises:
        ImageMissing: the proxy image is not built.
        SandboxError: the engine refused to create or start them.
    """
    try:
        image = client.images.get(PROXY_IMAGE)
    except NotFound:
        raise ImageMissing(
            f"image {PROXY_IMAGE} (the package proxy) is not on this Docker engine",
            hint="build it with `opsgen sandbox image build`, or dry-run with --network none",
        ) from None
    try:
        _network(client, INNER_NETWORK, internal=True)
        _network(client, OUTER_NETWORK, internal=False)
        _volume(client)
        proxy = _running_proxy(client, str(image.id))
        if proxy is None:
            _start_proxy(client, str(image.id))
            proxy = client.containers.get(PROXY_NAME)
    except (APIError, NotFound) as exc:
        why = getattr(exc, "explanation", None) or str(exc)
        raise SandboxError(f"could not start the package proxy: {why}") from None
    address = _address(proxy)
    if not address:
        raise SandboxError(
            f"the package proxy has no address on {INNER_NETWORK}",
            hint="`opsgen sandbox packages clear` removes it; the next dry-run starts a new one",
        )
    return address


def _address(proxy: Any) -> str:
    """The proxy's address on the internal network; a proxy another process is starting
    gets its address when it starts, so wait a little for it (at most 5 s)."""
    for _ in range(50):
        networks = (proxy.attrs.get("NetworkSettings") or {}).get("Networks") or {}
        address = str((networks.get(INNER_NETWORK) or {}).get("IPAddress") or "")
        if address:
            return address
        time.sleep(0.1)
        with contextlib.suppress(NotFound, APIError):
            proxy.reload()
    return ""


def _network(client: docker.DockerClient, name: str, *, internal: bool) -> Any:
    with contextlib.suppress(NotFound):
        return client.networks.get(name)
    options = {"com.docker.network.bridge.inhibit_ipv4": "true"} if internal else {}
    try:
        return client.networks.create(
            name, driver="bridge", internal=internal, options=options,
            labels={PROXY_LABEL: "1"}, check_duplicate=True,
        )
    except APIError as exc:
        if exc.status_code == 409:
            return client.networks.get(name)
        raise


def _volume(client: docker.DockerClient) -> None:
    with contextlib.suppress(NotFound):
        client.volumes.get(VOLUME)
        return
    client.volumes.create(VOLUME, labels={PROXY_LABEL: "1"})


def _running_proxy(client: docker.DockerClient, image_id: str) -> Any:
    """The proxy if it runs this image; a stale one (stopped, older image) is removed."""
    try:
        proxy = client.containers.get(PROXY_NAME)
    except NotFound:
        return None
    if proxy.labels.get(PROXY_LABEL) != "1":
        raise SandboxError(
            f"a container named {PROXY_NAME} exists that opsgen did not make",
            hint="rename or remove it; opsgen never removes containers it did not label",
        )
    if proxy.status == "running" and proxy.labels.get(f"{PROXY_LABEL}.image") == image_id:
        return proxy
    with contextlib.suppress(NotFound):
        proxy.remove(force=True)
    return None


def _start_proxy(client: docker.DockerClient, image_id: str) -> None:
    try:
        proxy = client.containers.create(**proxy_kwargs(image_id))
    except APIError as exc:
        if exc.status_code == 409:
            return  # another opsgen process made it first
        raise
    client.networks.get(INNER_NETWORK).connect(proxy)
    try:
        proxy.start()
    except APIError as exc:
        if exc.status_code != 409 and "already" not in str(exc):
            raise


def reap_proxies(client: docker.DockerClient) -> list[str]:
    """Remove stale proxies (stopped, or of an older image); ids removed.

    The running proxy of the current image stays: it is shared and its cache is warm.
    """
    try:
        current = str(client.images.get(PROXY_IMAGE).id)
    except (NotFound, APIError):
        current = ""
    removed: list[str] = []
    try:
        found = client.containers.list(all=True, filters={"label": f"{PROXY_LABEL}=1"})
    except APIError:
        return removed
    for proxy in found:
        if proxy.status == "running" and proxy.labels.get(f"{PROXY_LABEL}.image") == current:
            continue
        try:
            proxy.remove(force=True)
            removed.append(str(proxy.id))
        except (NotFound, APIError):
            continue
    return removed


@dataclass(frozen=True, slots=True)
class ProxyStatus:
    """What ``opsgen sandbox packages status`` reports."""

    image: str | None
    running: bool
    networks: tuple[str, ...]
    cache_bytes: int | None


def proxy_status(client: docker.DockerClient) -> ProxyStatus:
    """Whether the proxy image, container, networks and cache exist, and the cache's size."""
    try:
        image: str | None = str(client.images.get(PROXY_IMAGE).id)
    except NotFound:
        image = None
    nets = tuple(
        n.name for n in client.networks.list(filters={"label": f"{PROXY_LABEL}=1"})
    )
    running, size = False, None
    with contextlib.suppress(NotFound):
        proxy = client.containers.get(PROXY_NAME)
        running = proxy.status == "running"
        if running:
            code, out = proxy.exec_run(["du", "-sb", CACHE_DIR], user="apt-cacher-ng")
            if code == 0:
                with contextlib.suppress(ValueError, IndexError):
                    size = int(out.split()[0])
    return ProxyStatus(image, running, tuple(sorted(nets)), size)


def clear(client: docker.DockerClient) -> list[str]:
    """Remove the proxy, its cache volume and its networks (only what carries our label)."""
    gone: list[str] = []
    for proxy in client.containers.list(all=True, filters={"label": f"{PROXY_LABEL}=1"}):
        with contextlib.suppress(NotFound):
            proxy.remove(force=True)
            gone.append(f"container {proxy.name}")
    for volume in client.volumes.list(filters={"label": f"{PROXY_LABEL}=1"}):
        try:
            volume.remove(force=True)
            gone.append(f"volume {volume.name}")
        except APIError:
            continue  # in use by a running proxy of another process: next time
    for network in client.networks.list(filters={"label": f"{PROXY_LABEL}=1"}):
        try:
            network.remove()
            gone.append(f"network {network.name}")
        except APIError:
            continue  # a dry-run is using it now
    return gone
