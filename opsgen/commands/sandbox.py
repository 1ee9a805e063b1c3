"""``opsgen sandbox ...``: the sandbox image and housekeeping."""

from __future__ import annotations

import typer

from opsgen.errors import ImageMissing
from opsgen.ui import console, err_console, safe

sandbox_app = typer.Typer(help="Manage the dry-run sandbox: its image and leftover containers.")
image_app = typer.Typer(help="Build or inspect the sandbox image.")
sandbox_app.add_typer(image_app, name="image")


@image_app.command("build")
def image_build(
    tag: str = typer.Option("opsgen-sandbox:bookworm", help="Tag of the image to build."),
    rebuild_base: bool = typer.Option(False, help="Re-run debootstrap for the base image too."),
) -> None:
    """Build the sandbox image offline-from-registries (debootstrap + docker import + apt),
    and the tools image in which lint runs the Ansible tools (never on this host)."""
    from opsgen.sandbox.engine import connect
    from opsgen.sandbox.image import build_image, build_proxy_image, build_tools_image
    from opsgen.sandbox.packages import PROXY_IMAGE

    client = connect()

    def progress(line: str) -> None:
        err_console.print(f"  {safe(line)}", highlight=False)

    image_id = build_image(client, tag=tag, rebuild_base=rebuild_base, progress=progress)
    console.print(f"built {safe(tag)} {image_id}")
    tools = build_tools_image(client, progress=progress)
    console.print(f"built {safe(tools)} (the Ansible tools of opsgen lint)")
    proxy = build_proxy_image(client, tag=PROXY_IMAGE, progress=progress)
    console.print(f"built {PROXY_IMAGE} {proxy} (the package proxy of dry-runs)")


@image_app.command("status")
def image_status(
    tag: str = typer.Option("opsgen-sandbox:bookworm", help="Image to look for."),
) -> None:
    """Print the ids of the sandbox image and of the tools image (lint's Ansible tools);
    exit 4 when either is missing, or the sandbox image was built by another version."""
    from opsgen.sandbox.engine import DEFAULT_IMAGE, connect, resolve_image
    from opsgen.sandbox.image import image_status as status
    from opsgen.sandbox.image import tools_image_tag

    client = connect()
    for name in (tag, tools_image_tag()):
        image_id = status(client, name)
        if image_id is None:
            raise ImageMissing(
                f"image {name} is not built", hint="run `opsgen sandbox image build`"
            )
        if name == DEFAULT_IMAGE:
            resolve_image(client, name)  # refuses an image of another opsgen version
        console.print(f"{safe(name)} {image_id}", soft_wrap=True)


@sandbox_app.command("reap")
def reap() -> None:
    """Remove sandbox containers whose owning opsgen process is gone."""
    from opsgen.sandbox.engine import connect
    from opsgen.sandbox.packages import reap_proxies
    from opsgen.sandbox.reaper import reap_orphans

    client = connect()
    removed = reap_orphans(client)
    console.print(f"removed {len(removed)} orphaned sandbox container(s)")
    stale = reap_proxies(client)
    if stale:
        console.print(f"removed {len(stale)} stale package proxy container(s)")


packages_app = typer.Typer(
    help="The package path of dry-runs: a caching proxy that serves only the Debian mirrors."
)
sandbox_app.add_typer(packages_app, name="packages")


@packages_app.command("status")
def packages_status() -> None:
    """Print the proxy's image, whether it runs, its networks and the cache's size; exit 4
    when the proxy image is not built."""
    from opsgen.sandbox.engine import connect
    from opsgen.sandbox.packages import PROXY_IMAGE, proxy_status

    status = proxy_status(connect())
    if status.image is None:
        raise ImageMissing(f"image {PROXY_IMAGE} is not built",
                           hint="run `opsgen sandbox packages build`")
    size = "unknown" if status.cache_bytes is None else f"{status.cache_bytes / (1 << 20):,.1f} MiB"
    console.print(f"{PROXY_IMAGE} {status.image}", soft_wrap=True)
    console.print(f"proxy {'running' if status.running else 'not running (starts on demand)'}")
    console.print(f"networks {', '.join(status.networks) or 'none yet'}; cache {size}")


@packages_app.command("build")
def packages_build() -> None:
    """Build the package proxy's image (apt-cacher-ng on the base image) only."""
    from opsgen.sandbox.engine import connect
    from opsgen.sandbox.image import build_proxy_image
    from opsgen.sandbox.packages import PROXY_IMAGE

    image_id = build_proxy_image(
        connect(), tag=PROXY_IMAGE,
        progress=lambda line: err_console.print(f"  {safe(line)}", highlight=False),
    )
    console.print(f"built {PROXY_IMAGE} {image_id}")


@packages_app.command("warm")
def packages_warm(
    packages: list[str] = typer.Argument(..., help="Debian package names to fetch once."),
    timeout: float = typer.Option(600.0, min=1, max=3600, help="Wall-clock limit in seconds."),
) -> None:
    """Fetch packages (and the package lists) into the proxy's cache, in a sandbox."""
    from opsgen.errors import InputError
    from opsgen.sandbox import DryRunOptions, dryrun
    from opsgen.sandbox.apt import NAME

    bad = [p for p in packages if not NAME.fullmatch(p)]
    if bad:
        raise InputError(f"not a Debian package name: {safe(bad[0])}")
    script = (
        "set -e\napt-get update -qq\n"
        f"apt-get install -y -qq --download-only {' '.join(packages)}\n"
    )
    report = dryrun(script, "bash", DryRunOptions(timeout=timeout, network="packages"))
    run = report.runs[0]
    if run.status != "passed":
        tail = run.stderr.strip().splitlines()[-1:] or [run.status]
        err_console.print(f"warming failed: {safe(tail[0])}")
        raise typer.Exit(1)
    console.print(f"cached {len(packages)} package(s) and their dependencies")


@packages_app.command("clear")
def packages_clear() -> None:
    """Remove the proxy, its cache volume and its networks (they are made again on demand)."""
    from opsgen.sandbox.engine import connect
    from opsgen.sandbox.packages import clear

    gone = clear(connect())
    console.print(f"removed {len(gone)}: {', '.join(gone) or 'nothing'}")


def register(app: typer.Typer) -> None:
    """Add the ``sandbox`` verb group."""
    app.add_typer(sandbox_app, name="sandbox")
