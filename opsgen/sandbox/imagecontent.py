"""Which sandbox files an image was built from, so a stale image is never used quietly.

The sandbox image keeps one tag (``opsgen-sandbox:bookworm``, named in exported tests and
in users' scripts) across opsgen versions, but what it holds comes from this package: the
Dockerfile and the service shims installed in it. ``opsgen sandbox image build`` labels the
image with a hash of those files; a dry-run in the default image checks the label, so an
image built by another version (whose shims record or start services differently) is
reported as needing a rebuild instead of giving evidence from other code.
"""

from __future__ import annotations

import functools
import hashlib
from importlib import resources
from typing import Any

__all__ = ["CONTENT_LABEL", "is_stale", "sandbox_content"]

#: The image label that carries :func:`sandbox_content`.
CONTENT_LABEL = "opsgen.content"


@functools.cache
def sandbox_content() -> str:
    """A hash of the sandbox image's build context as this package would write it."""
    pkg = resources.files("opsgen.sandbox")
    digest = hashlib.sha256((pkg / "image" / "Dockerfile").read_bytes() + b"\0")
    for entry in sorted((pkg / "shims").iterdir(), key=lambda e: e.name):
        if entry.is_file() and not entry.name.startswith((".", "__")):
            digest.update(entry.name.encode() + b"\0" + entry.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def is_stale(image: Any) -> bool:
    """Whether ``image`` (a docker-py image) was built from other sandbox files than these."""
    return (image.labels or {}).get(CONTENT_LABEL) != sandbox_content()
