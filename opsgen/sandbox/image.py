"""Building the sandbox image without a registry: debootstrap, docker import, docker build.

No image registry is reachable on many of our machines, so the base is a Debian bookworm
rootfs made by ``debootstrap --variant=minbase`` and imported; a second step installs what a
dry-run needs (python3 and ansible-core for playbooks, cron, passwd, sudo...) with Debian's
apt, and the service-manager shims.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import docker
from docker.errors import BuildError, DockerException, ImageNotFound

from opsgen.errors import SandboxError
from opsgen.sandbox.engine import DEFAULT_IMAGE

__all__ = ["BASE_IMAGE", "build_image", "image_status"]

BASE_IMAGE = "opsgen-base:bookworm"
MIRROR = os.environ.get("OPSGEN_DEBIAN_MIRROR", "http://deb.debian.org/debian")

Progress = Callable[[str], None]


def image_status(client: docker.DockerClient, name: str = DEFAULT_IMAGE) -> str | None:
    """The image id when ``name`` exists, else None."""
    try:
        return str(client.images.get(name).id)
    except ImageNotFound:
        return None


def build_image(
    client: docker.DockerClient,
    *,
    tag: str = DEFAULT_IMAGE,
    rebuild_base: bool = False,
    progress: Progress = lambda line: None,
) -> str:
    """Build ``tag`` (and the debootstrap base when missing); return the image id."""
    if rebuild_base or image_status(client, BASE_IMAGE) is None:
        _import_base(client, progress)
    with tempfile.TemporaryDirectory(prefix="opsgen-build-") as ctx:
        _write_context(Path(ctx))
        progress(f"docker build {tag}")
        try:
            image, logs = client.images.build(
                path=ctx,
                tag=tag,
                buildargs={"BASE": BASE_IMAGE},
                network_mode="host",
                rm=True,
                forcerm=True,
                labels={"opsgen.image": "sandbox"},
            )
        except BuildError as exc:
            tail = "".join(str(c.get("stream", "")) for c in exc.build_log)[-600:]
            raise SandboxError(f"sandbox image build failed: {exc.msg}; {tail.strip()}") from None
        except DockerException as exc:
            raise SandboxError(f"sandbox image build failed: {exc}") from None
        for chunk in logs:
            line = str(chunk.get("stream", "")).strip()
            if line:
                progress(line)
    return str(image.id)


def _write_context(ctx: Path) -> None:
    pkg = resources.files("opsgen.sandbox")
    (ctx / "Dockerfile").write_bytes((pkg / "image" / "Dockerfile").read_bytes())
    shims = ctx / "shims"
    shims.mkdir()
    for entry in (pkg / "shims").iterdir():
        if entry.is_file() and not entry.name.startswith((".", "__")):
            (shims / entry.name).write_bytes(entry.read_bytes())


def _import_base(client: docker.DockerClient, progress: Progress) -> None:
    if shutil.which("debootstrap") is None or os.geteuid() != 0:
        raise SandboxError(
            "building the base image needs root and debootstrap",
            hint="run `scripts/setup.sh` as root (it installs debootstrap), or load an image "
            "and pass --image",
        )
    with tempfile.TemporaryDirectory(prefix="opsgen-rootfs-", dir=_scratch()) as tmp:
        rootfs = Path(tmp) / "rootfs"
        progress(f"debootstrap --variant=minbase bookworm ({MIRROR})")
        proc = subprocess.run(
            ["debootstrap", "--variant=minbase", "bookworm", str(rootfs), MIRROR],
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        if proc.returncode != 0:
            raise SandboxError(f"debootstrap failed: {proc.stderr.strip()[-400:]}")
        shutil.rmtree(rootfs / "var/cache/apt/archives", ignore_errors=True)
        (rootfs / "var/cache/apt/archives/partial").mkdir(parents=True, exist_ok=True)
        tar_path = Path(tmp) / "rootfs.tar"
        progress("packing the rootfs")
        with tarfile.open(tar_path, "w") as tar:
            for child in sorted(rootfs.iterdir()):
                tar.add(child, arcname=child.name)
        progress(f"docker import {BASE_IMAGE}")
        repo, tag = BASE_IMAGE.split(":")
        client.api.import_image_from_file(str(tar_path), repository=repo, tag=tag)


def _scratch() -> str | None:
    # /tmp may be a small tmpfs; the rootfs is about 200 MB.
    for cand in (os.environ.get("OPSGEN_SCRATCH"), "/var/tmp"):  # noqa: S108 - a private mkdtemp inside
        if cand and os.path.isdir(cand) and os.access(cand, os.W_OK):
            return cand
    return None
