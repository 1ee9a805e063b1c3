"""Change names: made from a request or a file name, checked before anything is stored.

One helper for every sequence (``new`` names a change after its request, ``import`` and
``convert`` after the file), and one check, the export's: a change's name becomes the
file names of its export (``NAME.sh``, ``NAME.opsgen.json``), so it is refused at the door
rather than repaired at export time.
"""

from __future__ import annotations

import re
from pathlib import PurePath

from opsgen.errors import ExportError

__all__ = ["change_name", "check_name", "slug"]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")


def _slugify(text: str, limit: int) -> str:
    name = re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-._")[:limit].strip("-._")
    return name or "change"


def change_name(request: str) -> str:
    """A short file-safe name from the request's first six words (``install-a-cron-job``)."""
    words = re.findall(r"[a-z0-9]+", request.lower())[:6]
    return _slugify("-".join(words), 48)


def slug(path: str) -> str:
    """A safe default change name from a file name (``Fix Nginx!.sh`` -> ``fix-nginx``)."""
    return _slugify(PurePath(path).name.split(".", 1)[0], 60)


def check_name(name: str) -> str:
    """An artifact name (``NAME.sh``, ``NAME.opsgen.json``): letters, digits, ``._-``."""
    if not _NAME.fullmatch(name) or ".." in name or name.endswith((".", ".lock")):
        raise ExportError(
            f"invalid export name {name!r}",
            reference="bad-export-path",
            hint="use 1-80 letters, digits, '.', '_' or '-', starting with a letter or digit",
        )
    return name
