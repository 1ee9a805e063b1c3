"""OpenAI-compatible chat API over HTTP: Ollama, vLLM, llama.cpp's server, hosted APIs.

Only the standard library is used (``urllib``), so this backend adds no dependency. The
key is read from the environment, never from a file we write, and is never echoed.
Configuration: ``OPSGEN_OPENAI_BASE_URL`` (default Ollama's ``http://127.0.0.1:11434/v1``),
``OPSGEN_OPENAI_MODEL``, and ``OPSGEN_OPENAI_API_KEY`` or ``OPENAI_API_KEY``.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from opsgen.errors import ConfigError, GenerationError, ModelUnavailable
from opsgen.generator.llm import GREEDY, Message, Sampling, StreamingClient

__all__ = ["OpenAIClient", "OpenAIConfig"]

DEFAULT_BASE_URL = "http://127.0.0.1:11434/v1"
DEFAULT_MODEL = "qwen2.5-coder:1.5b"  # Ollama's name for the same model


@dataclass(frozen=True, slots=True)
class OpenAIConfig:
    """Where the server is and which model to ask for."""

    base_url: str = DEFAULT_BASE_URL
    model: str = DEFAULT_MODEL
    api_key: str = ""
    timeout: float = 300.0

    @classmethod
    def from_env(cls, model: str | None = None) -> OpenAIConfig:
        """Read the ``OPSGEN_OPENAI_*`` variables; ``model`` overrides the model name."""
        base = os.environ.get("OPSGEN_OPENAI_BASE_URL", DEFAULT_BASE_URL)
        if not base.startswith(("http://", "https://")):
            raise ConfigError(f"OPSGEN_OPENAI_BASE_URL must be an http(s) URL, not {base!r}")
        key = os.environ.get("OPSGEN_OPENAI_API_KEY") or os.environ.get("OPENAI_API_KEY", "")
        name = model or os.environ.get("OPSGEN_OPENAI_MODEL") or DEFAULT_MODEL
        return cls(base_url=base.rstrip("/"), model=name, api_key=key)


class OpenAIClient(StreamingClient):
    """Streams ``POST {base_url}/chat/completions`` with greedy settings."""

    runtime = "openai"

    def __init__(self, config: OpenAIConfig) -> None:
        self.config = config
        self.name = config.model

    def _request(
        self, messages: Sequence[Message], max_tokens: int, sampling: Sampling = GREEDY
    ) -> urllib.request.Request:
        body: dict[str, Any] = {
            "model": self.config.model,
            "messages": [m.to_dict() for m in messages],
            "max_tokens": max_tokens,
            "temperature": 0 if sampling.greedy else sampling.temperature,
            "stream": True,
        }
        if not sampling.greedy:
            body["top_p"] = sampling.top_p
            if sampling.seed is not None:
                body["seed"] = sampling.seed
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self.config.api_key:
            headers["Authorization"] = f"Bearer {self.config.api_key}"
        url = f"{self.config.base_url}/chat/completions"
        # The scheme was checked to be http(s) in OpenAIConfig.from_env.
        data = json.dumps(body).encode()
        return urllib.request.Request(url, data, headers, method="POST")  # noqa: S310

    def _pieces(
        self, messages: Sequence[Message], max_tokens: int, sampling: Sampling
    ) -> Iterator[str]:
        req = self._request(messages, max_tokens, sampling)
        try:
            resp = urllib.request.urlopen(req, timeout=self.config.timeout)  # noqa: S310
        except urllib.error.HTTPError as exc:
            detail = exc.read(300).decode("utf-8", "replace")
            raise GenerationError(f"the model server answered HTTP {exc.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise ModelUnavailable(
                f"no model server at {self.config.base_url}: {exc}",
                hint="start the server or set OPSGEN_OPENAI_BASE_URL",
            ) from None
        with resp:
            for raw in resp:
                line = raw.decode("utf-8", "replace").strip()
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    return
                yield _delta_text(json.loads(data))


def _delta_text(event: dict[str, Any]) -> str:
    choices = event.get("choices") or [{}]
    delta = choices[0].get("delta") or {}
    return str(delta.get("content") or "")
