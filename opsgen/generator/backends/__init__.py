"""Choosing and loading a model client from a name, a path and the environment.

``runtime=auto`` picks llama.cpp for a GGUF file on a CPU (5-7x faster there), and
transformers for a Hugging Face folder, when a GPU is present, or when llama.cpp is not
installed. ``OPSGEN_BACKEND=openai`` sends requests to an OpenAI-compatible server instead.
Runtimes are imported only when chosen, so ``opsgen --help`` never pays for torch.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from opsgen.errors import ConfigError, ModelUnavailable
from opsgen.generator.catalogue import CATALOGUE, DEFAULT_MODEL
from opsgen.generator.install import installed_path, is_verified, runtime_available
from opsgen.generator.llm import LLMClient

__all__ = ["ModelChoice", "load_client", "resolve_model"]

RUNTIMES = ("auto", "llama", "hf")


@dataclass(frozen=True, slots=True)
class ModelChoice:
    """A resolved model: what to load and with which runtime.

    Attributes:
        name: catalogue name or the path as given.
        path: the GGUF file or model folder.
        fmt: ``gguf`` or ``hf``.
        runtime: ``llama`` or ``hf``.
    """

    name: str
    path: Path
    fmt: str
    runtime: str


def _gpu_present() -> bool:
    # Cheap and import-free: importing torch to ask costs seconds on every run.
    return Path("/dev/nvidia0").exists() or shutil.which("nvidia-smi") is not None


def _model_path(model: str) -> tuple[Path, str]:
    if model in CATALOGUE:
        spec = CATALOGUE[model]
        if not is_verified(spec):
            raise ModelUnavailable(
                f"model {model} is not installed (or its file changed since it was verified)",
                hint=f"run: opsgen model install --model {model}",
            )
        return installed_path(spec), "gguf"
    path = Path(model).expanduser()
    if path.is_dir() and (path / "config.json").is_file():
        return path, "hf"
    if path.is_file():
        with path.open("rb") as fh:
            if fh.read(4) == b"GGUF":
                return path, "gguf"
        raise ConfigError(f"{path}: not a GGUF file", hint="give a .gguf file or a HF folder")
    known = ", ".join(sorted(CATALOGUE))
    raise ConfigError(f"unknown model {model!r}", hint=f"use one of {known}, or a path")


def _pick_runtime(fmt: str, requested: str) -> str:
    if requested not in RUNTIMES:
        raise ConfigError(f"unknown runtime {requested!r}", hint="use auto, llama or hf")
    if requested != "auto":
        if fmt == "hf" and requested == "llama":
            raise ConfigError("llama.cpp needs a GGUF file, not a Hugging Face folder")
        return requested
    if fmt == "hf" or (_gpu_present() and runtime_available("hf")):
        return "hf"
    if runtime_available("llama"):
        return "llama"
    if runtime_available("hf"):
        return "hf"
    raise ModelUnavailable(
        "no model runtime is installed",
        hint="run: opsgen model install --runtime   (llama.cpp, compiled once)",
    )


def resolve_model(model: str | None = None, runtime: str | None = None) -> ModelChoice:
    """Resolve ``--model``/``OPSGEN_MODEL`` and ``--runtime``/``OPSGEN_RUNTIME``."""
    name = model or os.environ.get("OPSGEN_MODEL") or DEFAULT_MODEL
    path, fmt = _model_path(name)
    chosen = _pick_runtime(fmt, runtime or os.environ.get("OPSGEN_RUNTIME") or "auto")
    return ModelChoice(name=name, path=path, fmt=fmt, runtime=chosen)


def load_client(model: str | None = None, runtime: str | None = None) -> LLMClient:
    """Build the client for the configured backend; loads the weights for local models."""
    if os.environ.get("OPSGEN_BACKEND", "local") == "openai":
        from opsgen.generator.backends.openai import OpenAIClient, OpenAIConfig

        return OpenAIClient(OpenAIConfig.from_env(model))
    choice = resolve_model(model, runtime)
    if choice.runtime == "llama":
        from opsgen.generator.backends.llamacpp import load

        return load(choice.path)
    from opsgen.generator.backends.hf import TransformersClient

    return TransformersClient(choice.path, int8=os.environ.get("OPSGEN_HF_INT8") == "1")
