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
    from opsgen.sandbox.image import build_image, build_tools_image

    client = connect()

    def progress(line: str) -> None:
        err_console.print(f"  {safe(line)}", highlight=False)

    image_id = build_image(client, tag=tag, rebuild_base=rebuild_base, progress=progress)
    console.print(f"built {safe(tag)} {image_id}")
    tools = build_tools_image(client, progress=progress)
    console.print(f"built {safe(tools)} (the Ansible tools of opsgen lint)")


@image_app.command("status")
def image_status(
    tag: str = typer.Option("opsgen-sandbox:bookworm", help="Image to look for."),
) -> None:
    """Print the ids of the sandbox image and of the tools image (lint's Ansible tools);
    exit 4 when either is missing."""
    from opsgen.sandbox.engine import connect
    from opsgen.sandbox.image import image_status as status
    from opsgen.sandbox.image import tools_image_tag

    client = connect()
    for name in (tag, tools_image_tag()):
        image_id = status(client, name)
        if image_id is None:
            raise ImageMissing(
                f"image {name} is not built", hint="run `opsgen sandbox image build`"
            )
        console.print(f"{safe(name)} {image_id}", soft_wrap=True)


@sandbox_app.command("reap")
def reap() -> None:
    """Remove sandbox containers whose owning opsgen process is gone."""
    from opsgen.sandbox.engine import connect
    from opsgen.sandbox.reaper import reap_orphans

    removed = reap_orphans(connect())
    console.print(f"removed {len(removed)} orphaned sandbox container(s)")


def register(app: typer.Typer) -> None:
    """Add the ``sandbox`` verb group."""
    app.add_typer(sandbox_app, name="sandbox")
