"""Read the metadata of a GGUF file without any ML dependency.

We inspect a downloaded model *before* any runtime parses it: the magic, the format
version, the architecture and the tokenizer tell us the bytes are the model we pinned and
not something else with the right name. The format is documented in ggml's
``docs/gguf.md``: a little-endian header, then key/value pairs, then tensor infos. Only the
key/value section is read; big arrays (the 151k-token vocabulary) are skipped, not loaded.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

__all__ = ["GGUFError", "GGUFInfo", "read_gguf_info"]

_MAGIC = b"GGUF"
# value type id -> struct format of one scalar
_SCALARS = {
    0: "B",
    1: "b",
    2: "H",
    3: "h",
    4: "I",
    5: "i",
    6: "f",
    7: "?",
    10: "Q",
    11: "q",
    12: "d",
}
_STRING, _ARRAY = 8, 9
_MAX_KV = 100_000  # a real header has a few dozen; refuse garbage early
_MAX_STR = 1 << 24


class GGUFError(ValueError):
    """The file is not a GGUF file we can read."""


@dataclass(frozen=True, slots=True)
class GGUFInfo:
    """What the header says about the model.

    Attributes:
        version: GGUF format version.
        tensor_count: number of tensors declared.
        metadata: scalar and string values; arrays are replaced by their length.
    """

    version: int
    tensor_count: int
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def architecture(self) -> str:
        """``general.architecture`` (``qwen2``, ``llama``...)."""
        return str(self.metadata.get("general.architecture", ""))

    @property
    def name(self) -> str:
        """``general.name`` as the converter wrote it."""
        return str(self.metadata.get("general.name", ""))

    @property
    def tokenizer(self) -> str:
        """``tokenizer.ggml.model`` (``gpt2`` for Qwen's byte-level BPE)."""
        return str(self.metadata.get("tokenizer.ggml.model", ""))

    @property
    def vocab_size(self) -> int:
        """Number of tokens in ``tokenizer.ggml.tokens`` (0 when absent)."""
        return int(self.metadata.get("tokenizer.ggml.tokens", 0))

    @property
    def has_chat_template(self) -> bool:
        """True when the file carries a chat template (we rely on it for prompting)."""
        return bool(self.metadata.get("tokenizer.chat_template"))


def _read(fh: BinaryIO, fmt: str) -> Any:
    size = struct.calcsize("<" + fmt)
    data = fh.read(size)
    if len(data) != size:
        raise GGUFError("file ends inside the header")
    return struct.unpack("<" + fmt, data)[0]


def _read_str(fh: BinaryIO) -> str:
    length = _read(fh, "Q")
    if length > _MAX_STR:
        raise GGUFError(f"string of {length} bytes in the header")
    data = fh.read(length)
    if len(data) != length:
        raise GGUFError("file ends inside the header")
    return data.decode("utf-8", errors="replace")


def _skip_array(fh: BinaryIO, item_type: int, count: int) -> None:
    if item_type in _SCALARS:
        fh.seek(struct.calcsize("<" + _SCALARS[item_type]) * count, 1)
    elif item_type == _STRING:
        for _ in range(count):
            fh.seek(_read(fh, "Q"), 1)
    else:  # nested arrays do not occur in model files
        raise GGUFError(f"unsupported array item type {item_type}")


def _read_value(fh: BinaryIO, vtype: int) -> Any:
    if vtype in _SCALARS:
        return _read(fh, _SCALARS[vtype])
    if vtype == _STRING:
        return _read_str(fh)
    if vtype == _ARRAY:
        item_type, count = _read(fh, "I"), _read(fh, "Q")
        _skip_array(fh, item_type, count)
        return count
    raise GGUFError(f"unknown value type {vtype}")


def read_gguf_info(path: str | Path) -> GGUFInfo:
    """Parse the header and metadata of the GGUF file at ``path``.

    Raises:
        GGUFError: wrong magic, unsupported version, or a truncated/garbled header.
    """
    with Path(path).open("rb") as fh:
        if fh.read(4) != _MAGIC:
            raise GGUFError("not a GGUF file (bad magic)")
        version = _read(fh, "I")
        if version not in (2, 3):
            raise GGUFError(f"unsupported GGUF version {version}")
        tensor_count, kv_count = _read(fh, "Q"), _read(fh, "Q")
        if kv_count > _MAX_KV:
            raise GGUFError(f"implausible metadata count {kv_count}")
        metadata: dict[str, Any] = {}
        for _ in range(kv_count):
            key = _read_str(fh)
            metadata[key] = _read_value(fh, _read(fh, "I"))
    return GGUFInfo(version=version, tensor_count=tensor_count, metadata=metadata)
