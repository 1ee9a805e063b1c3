"""Where opsgen keeps what it may rebuild: one root for every cache.

``$OPSGEN_CACHE_DIR``, else ``$XDG_CACHE_HOME/opsgen``, else ``~/.cache/opsgen``; each user
of it takes a folder of its own (``lint``, ``pristine``, ``kv``). Deleting any of them is
always safe. This module imports nothing from the package.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir"]


def cache_dir(*parts: str) -> Path:
    """The cache root joined with ``parts`` (not created here)."""
    base = os.environ.get("OPSGEN_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "opsgen")
    return Path(base).joinpath(*parts)
