"""Connecting to the Docker engine and reading what guarantees it can give."""

from __future__ import annotations

from typing import Any

import docker
from docker.errors import APIError, DockerException, ImageNotFound

from opsgen.errors import ImageMissing, PolicyViolation, SandboxUnavailable

__all__ = ["API_VERSION", "DEFAULT_IMAGE", "connect", "engine_warnings", "resolve_image"]

#: The image `opsgen sandbox image build` makes; any other can be named with --image.
DEFAULT_IMAGE = "opsgen-sandbox:bookworm"
#: The engine API version asked for: that of Docker 20.10, which opsgen is tested on and
#: every later engine up to 28 serves. Naming it spares a ``/version`` round trip per
#: connection; an engine that refuses it (older, or one that dropped it) is asked its own.
API_VERSION = "1.41"


def connect(timeout: int = 120) -> docker.DockerClient:
    """Return a client for the engine of ``DOCKER_HOST`` (or the local socket), or raise.

    A dead engine is the most common set-up problem, so it gets a one-line error that names
    where we looked and what to do.
    """
    try:
        client = docker.from_env(version=API_VERSION, timeout=timeout)
        try:
            client.ping()
        except APIError:  # 400 "client version ... is too old/new"
            client.close()
            client = docker.from_env(version="auto", timeout=timeout)
            client.ping()
    except (DockerException, OSError) as exc:
        where = _docker_host()
        raise SandboxUnavailable(
            f"no Docker engine answers at {where} ({_short(exc)})",
            hint="start the engine (as root: `dockerd &`, or `make setup`), or set DOCKER_HOST",
        ) from None
    return client


def resolve_image(client: docker.DockerClient, name: str) -> Any:
    """The image object for ``name``; never pulls (no registry is assumed to be reachable).

    The default image must carry this opsgen's sandbox content label
    (:mod:`opsgen.sandbox.imagecontent`): an image built by another version is refused.
    """
    try:
        image = client.images.get(name)
    except ImageNotFound:
        hint = (
            "build it with `opsgen sandbox image build`"
            if name == DEFAULT_IMAGE
            else f"load or pull {name} first (opsgen never pulls by itself)"
        )
        raise ImageMissing(f"image {name} is not on this Docker engine", hint=hint) from None
    if name == DEFAULT_IMAGE:
        from opsgen.sandbox.imagecontent import is_stale

        if is_stale(image):
            raise ImageMissing(
                f"image {name} was built from another version of opsgen's sandbox files",
                hint="rebuild it with `opsgen sandbox image build` (or scripts/setup.sh)",
            )
    return image


def engine_warnings(
    info: dict[str, Any], *, require_userns: bool = False, runtime: str | None = None
) -> list[str]:
    """What this engine does not guarantee, as sentences for the report header.

    Args:
        info: ``client.info()``.
        require_userns: fail closed (``PolicyViolation``) when container root would be host
            root, instead of warning.
        runtime: an OCI runtime the user asked for (e.g. ``runsc``); it must be registered.
    """
    options = " ".join(info.get("SecurityOptions") or [])
    warnings: list[str] = []
    remapped = "name=userns" in options or "name=rootless" in options
    if not remapped:
        if require_userns:
            raise PolicyViolation(
                "this engine runs containers without user-namespace remapping or rootless mode",
                hint="enable userns-remap or rootless Docker, or drop --require-userns",
            )
        warnings.append(
            "no userns-remap or rootless mode: root in the sandbox is root on the host if the "
            "container runtime is ever escaped"
        )
    # A daemon started with --seccomp-profile=unconfined still lists seccomp, as
    # "name=seccomp,profile=unconfined", and then filters nothing by default.
    seccomp = [o for o in info.get("SecurityOptions") or [] if o.startswith("name=seccomp")]
    if not seccomp or any("profile=unconfined" in o for o in seccomp):
        warnings.append("seccomp is not enabled on this engine: the kernel surface is wider")
    if runtime is not None and runtime not in (info.get("Runtimes") or {}):
        raise PolicyViolation(
            f"runtime {runtime} is not registered with this engine",
            hint="register it in daemon.json (runtimes) or leave --runtime out",
        )
    return warnings


def _docker_host() -> str:
    import os

    return os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]
