"""Building the sandbox image without a registry: debootstrap, docker import, docker build.

No image registry is reachable on many of our machines, so the base is a Debian bookworm
rootfs made by ``debootstrap --variant=minbase`` and imported; a second step installs what a
dry-run needs (python3 and ansible-core for playbooks, cron, passwd, sudo...) with Debian's
apt, and the service-manager shims.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import docker
from docker.errors import BuildError, DockerException, ImageNotFound

from opsgen.errors import SandboxError
from opsgen.sandbox.engine import DEFAULT_IMAGE
from opsgen.sandbox.imagecontent import CONTENT_LABEL, sandbox_content

__all__ = ["BASE_IMAGE", "TOOL_DISTS", "build_image", "build_proxy_image", "build_tools_image",
           "image_status", "tools_image_tag", "tools_requirements"]

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
        return _docker_build(client, Path(ctx), tag, "sandbox", progress,
                             {CONTENT_LABEL: sandbox_content()})


def build_proxy_image(
    client: docker.DockerClient, *, tag: str, progress: Progress = lambda line: None
) -> str:
    """Build the package proxy's image (apt-cacher-ng on the base image); return its id."""
    if image_status(client, BASE_IMAGE) is None:
        _import_base(client, progress)
    pkg = resources.files("opsgen.sandbox") / "image"
    with tempfile.TemporaryDirectory(prefix="opsgen-pkgproxy-build-") as tmp:
        ctx = Path(tmp)
        (ctx / "Dockerfile").write_bytes((pkg / "Dockerfile.pkgproxy").read_bytes())
        (ctx / "acng.conf").write_bytes((pkg / "acng.conf").read_bytes())
        return _docker_build(client, ctx, tag, "pkgproxy", progress)


def _docker_build(
    client: docker.DockerClient, ctx: Path, tag: str, kind: str, progress: Progress,
    labels: dict[str, str] | None = None,
) -> str:
    """``docker build`` of ``ctx`` on the base image (host network for apt only); the id."""
    progress(f"docker build {tag}")
    try:
        image, logs = client.images.build(
            path=str(ctx), tag=tag, buildargs={"BASE": BASE_IMAGE}, network_mode="host",
            rm=True, forcerm=True, labels={"opsgen.image": kind, **(labels or {})},
        )
    except BuildError as exc:
        tail = "".join(str(c.get("stream", "")) for c in exc.build_log)[-600:]
        raise SandboxError(f"{kind} image build failed: {exc.msg}; {tail.strip()}") from None
    except DockerException as exc:
        raise SandboxError(f"{kind} image build failed: {exc}") from None
    for chunk in logs:
        line = str(chunk.get("stream", "")).strip()
        if line:
            progress(line)
    return str(image.id)


#: what the tools image holds: the Ansible tools that read untrusted playbooks during lint
TOOL_DISTS = ("ansible-core", "ansible-lint")
#: taken along when installed here: the collections that PyPI's ``ansible`` package ships
OPTIONAL_TOOL_DISTS = ("ansible",)
TOOLS_REPO = "opsgen-tools"


@functools.cache
def tools_requirements(dists: tuple[str, ...] | None = None) -> str:
    """``name==version`` lines for ``dists`` and everything they need, as installed here.

    The closure is read from this environment's own metadata, so the container runs the
    very versions opsgen was installed and tested with (and its cache keys stay honest).
    Read once per process: every playbook lint asks for the tools image's tag, and walking
    the metadata costs 15-30 ms.
    """
    from importlib import metadata

    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    if dists is None:
        dists = TOOL_DISTS + tuple(d for d in OPTIONAL_TOOL_DISTS if _installed(d))
    pins: dict[str, str] = {}
    todo = list(dists)
    while todo:
        name = canonicalize_name(todo.pop())
        if name in pins:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise SandboxError(
                f"{name} is not installed in opsgen's environment",
                hint="run `scripts/setup.sh` (it installs opsgen's dependencies)",
            ) from None
        pins[name] = dist.version
        for line in dist.requires or []:
            try:
                req = Requirement(line)
            except InvalidRequirement:
                continue
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return "".join(f"{name}=={version}\n" for name, version in sorted(pins.items()))


def _installed(name: str) -> bool:
    from importlib import metadata

    try:
        metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return False
    return True


def tools_image_tag(requirements: str | None = None) -> str:
    """``opsgen-tools:<hash>`` of the pins, the Dockerfile and the driver: a new version of
    any of them is a new image, so a stale one is never used."""
    pkg = resources.files("opsgen.sandbox") / "image"
    digest = hashlib.sha256()
    for part in (
        requirements if requirements is not None else tools_requirements(),
        (pkg / "Dockerfile.tools").read_text(),
        (pkg / "runtools.py").read_text(),
        (pkg / "moduledocs.py").read_text(),
    ):
        digest.update(part.encode() + b"\0")
    return f"{TOOLS_REPO}:{digest.hexdigest()[:16]}"


def build_tools_image(
    client: docker.DockerClient, *, progress: Progress = lambda line: None
) -> str:
    """Build the tools image (and the debootstrap base when missing); return its tag.

    The wheels are made here, by this environment's pip (its index, its cache), and copied
    into the build context: the build itself needs no Python package index.
    """
    requirements = tools_requirements()
    tag = tools_image_tag(requirements)
    if image_status(client, tag) is not None:
        return tag
    if image_status(client, BASE_IMAGE) is None:
        _import_base(client, progress)
    pkg = resources.files("opsgen.sandbox") / "image"
    with tempfile.TemporaryDirectory(prefix="opsgen-tools-build-", dir=_scratch()) as tmp:
        ctx = Path(tmp)
        (ctx / "Dockerfile").write_bytes((pkg / "Dockerfile.tools").read_bytes())
        for helper in ("runtools.py", "moduledocs.py"):
            (ctx / helper).write_bytes((pkg / helper).read_bytes())
        (ctx / "requirements.txt").write_text(requirements)
        progress(f"pip wheel {', '.join(TOOL_DISTS)} and what they need")
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--wheel-dir",
             str(ctx / "wheels"), "-r", str(ctx / "requirements.txt")],
            capture_output=True, text=True, timeout=1800, check=False,
        )
        if proc.returncode != 0:
            tail = proc.stderr.strip()[-400:]
            raise SandboxError(f"pip wheel for the tools image failed: {tail}")
        _docker_build(client, ctx, tag, "tools", progress)
    return tag


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
