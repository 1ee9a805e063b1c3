"""llama.cpp runtime (``llama-cpp-python``): the fast path for GGUF models on a CPU.

Measured on 2 cores with the 1.5B Q4 model: about 10 tokens/s and a 3 s load, against
1.3 tokens/s and about 2 minutes for transformers. llama.cpp's OpenMP threads spin-wait
for work; on a machine where anything else runs (a Docker dry-run, CI) that collapsed
throughput from 14 to 0.8 tokens/s, so ``OMP_WAIT_POLICY=PASSIVE`` is set before the
library is first imported.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from opsgen.errors import ModelUnavailable
from opsgen.generator.llm import Message, Sampling, StreamingClient

__all__ = ["LlamaCppClient", "default_threads"]


def default_threads() -> int:
    """``OPSGEN_THREADS`` or the CPUs this process may use (at most 8: more do not help)."""
    explicit = os.environ.get("OPSGEN_THREADS")
    if explicit:
        return max(1, int(explicit))
    return max(1, min(8, len(os.sched_getaffinity(0))))


def _import_llama() -> Any:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import llama_cpp
    except ImportError:
        raise ModelUnavailable(
            "the llama.cpp runtime (llama-cpp-python) is not installed",
            hint="run: opsgen model install --runtime   (compiles once, 10-30 minutes)",
        ) from None
    return llama_cpp


class LlamaCppClient(StreamingClient):
    """A GGUF model loaded in-process with llama.cpp.

    Args:
        path: the GGUF file.
        n_ctx: context window in tokens; prompts plus answer fit in 4096 with room to spare.
        n_threads: CPU threads (default :func:`default_threads`).
    """

    runtime = "llama"

    def __init__(self, path: Path, *, n_ctx: int = 4096, n_threads: int | None = None) -> None:
        llama_cpp = _import_llama()
        self.name = path.name
        self.path = path
        try:
            self._llm = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=n_threads or default_threads(),
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise ModelUnavailable(f"llama.cpp could not load {path}: {exc}") from None

    def _pieces(
        self, messages: Sequence[Message], max_tokens: int, sampling: Sampling
    ) -> Iterator[str]:
        knobs: dict[str, Any] = {"temperature": 0.0, "top_k": 1}
        if not sampling.greedy:
            knobs = {"temperature": sampling.temperature, "top_p": sampling.top_p, "top_k": 40}
            if sampling.seed is not None:
                knobs["seed"] = sampling.seed
        stream = self._llm.create_chat_completion(
            messages=[m.to_dict() for m in messages],
            max_tokens=max_tokens,
            stream=True,
            **knobs,
        )
        for chunk in stream:
            delta = chunk["choices"][0].get("delta", {})
            yield delta.get("content") or ""
