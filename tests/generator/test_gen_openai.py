"""The OpenAI-compatible backend against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import pytest
from openai_stub import serve

from opsgen.errors import ConfigError, GenerationError, ModelUnavailable
from opsgen.generator.backends import load_client
from opsgen.generator.backends.openai import OpenAIClient, OpenAIConfig
from opsgen.generator.llm import Message

ANSWER = "Here you go:\n```bash\nmkdir -p /srv/app\n```\nThis creates the folder."


def test_streams_greedy_request_and_stops_at_the_fence():
    with serve([ANSWER]) as stub:
        client = OpenAIClient(OpenAIConfig(base_url=stub.base_url, model="m1", api_key="sk-test"))
        pieces: list[str] = []
        out = client.complete(
            [Message("system", "s"), Message("user", "u")], max_tokens=99, on_token=pieces.append
        )
    # The piece that closed the fence was "```\nThis ": kept whole, the rest never read.
    assert out.text == "Here you go:\n```bash\nmkdir -p /srv/app\n```\nThis "
    assert out.finish_reason == "fence" and out.runtime == "openai"
    assert "".join(pieces) == out.text
    body = stub.requests[0]
    assert body["model"] == "m1" and body["stream"] is True
    assert body["temperature"] == 0 and body["max_tokens"] == 99
    assert body["messages"] == [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "u"},
    ]
    assert stub.headers[0]["Authorization"] == "Bearer sk-test"


def test_selected_by_environment(monkeypatch):
    with serve([ANSWER]) as stub:
        monkeypatch.setenv("OPSGEN_BACKEND", "openai")
        monkeypatch.setenv("OPSGEN_OPENAI_BASE_URL", stub.base_url)
        monkeypatch.setenv("OPSGEN_OPENAI_MODEL", "qwen-test")
        monkeypatch.delenv("OPSGEN_OPENAI_API_KEY", raising=False)
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        client = load_client()
        client.complete([Message("user", "u")])
    assert client.name == "qwen-test"
    assert "Authorization" not in stub.headers[0]


def test_http_errors_and_dead_servers_are_clear():
    with serve([ANSWER], status=500) as stub:
        client = OpenAIClient(OpenAIConfig(base_url=stub.base_url))
        with pytest.raises(GenerationError, match="HTTP 500"):
            client.complete([Message("user", "u")])
    dead = OpenAIClient(OpenAIConfig(base_url=stub.base_url))  # server is shut down now
    with pytest.raises(ModelUnavailable, match="no model server"):
        dead.complete([Message("user", "u")])


def test_base_url_must_be_http(monkeypatch):
    monkeypatch.setenv("OPSGEN_OPENAI_BASE_URL", "file:///etc/passwd")
    with pytest.raises(ConfigError):
        OpenAIConfig.from_env()


def test_defaults_without_environment(monkeypatch):
    for var in (
        "OPSGEN_OPENAI_BASE_URL",
        "OPSGEN_OPENAI_MODEL",
        "OPSGEN_OPENAI_API_KEY",
        "OPENAI_API_KEY",
    ):
        monkeypatch.delenv(var, raising=False)
    config = OpenAIConfig.from_env()
    assert (config.base_url, config.model, config.api_key) == (
        "http://127.0.0.1:11434/v1",
        "qwen2.5-coder:1.5b",
        "",
    )
    assert OpenAIConfig.from_env("llama3").model == "llama3"
