"""``opsgen version``."""

from __future__ import annotations

import typer

from opsgen import __version__
from opsgen.ui import console


def register(app: typer.Typer) -> None:
    """Add the ``version`` verb."""

    @app.command()
    def version() -> None:
        """Print the opsgen version."""
        console.print(f"opsgen {__version__}")
