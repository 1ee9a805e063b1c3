"""The real transformers code path on a tiny randomly initialised Qwen2 model.

Random weights say nothing about quality; this checks the plumbing: loading a local folder
offline, the chat template, greedy generation in a thread, streaming, the token budget.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

transformers = (
    pytest.importorskip("transformers") if not os.environ.get("CI") else __import__("transformers")
)
torch = pytest.importorskip("torch") if not os.environ.get("CI") else __import__("torch")

from opsgen.generator.backends import load_client  # noqa: E402
from opsgen.generator.backends.hf import TransformersClient  # noqa: E402
from opsgen.generator.llm import Message  # noqa: E402

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    from tokenizers import Tokenizer, models, pre_tokenizers

    folder = tmp_path_factory.mktemp("tiny-qwen2")
    words = [
        "<|im_start|>",
        "<|im_end|>",
        "<unk>",
        "\n",
        "```",
        "bash",
        "echo",
        "hi",
        "mkdir",
        "-p",
        "/srv",
        "system",
        "user",
        "assistant",
        "you",
        "write",
        "scripts",
    ]
    words += [f"w{i}" for i in range(64)]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", unk_token="<unk>", pad_token="<unk>"
    )
    fast.chat_template = CHATML
    fast.save_pretrained(folder)
    torch.manual_seed(0)
    config = transformers.Qwen2Config(
        vocab_size=len(words),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        eos_token_id=1,
        pad_token_id=2,
    )
    transformers.Qwen2ForCausalLM(config).save_pretrained(folder)
    return folder


def test_loads_a_folder_and_streams_greedy_tokens(tiny_model):
    client = TransformersClient(tiny_model)
    pieces: list[str] = []
    msgs = [Message("system", "you write scripts"), Message("user", "mkdir -p /srv")]
    out = client.complete(msgs, max_tokens=12, on_token=pieces.append)
    assert out.runtime == "hf"
    assert 0 < out.completion_tokens <= 12
    assert "".join(pieces) == out.text
    again = client.complete(msgs, max_tokens=12)
    assert again.text == out.text  # greedy: deterministic


def test_budget_and_early_stop_end_the_generation_thread(tiny_model):
    import threading

    client = TransformersClient(tiny_model)
    msgs = [Message("user", "echo hi")]
    assert client.complete(msgs, max_tokens=3, stop_at_fence=False).completion_tokens <= 3

    class Enough(Exception):
        pass

    seen: list[str] = []

    def interrupt(piece: str) -> None:
        seen.append(piece)
        if len(seen) == 2:
            raise Enough

    before = threading.active_count()
    with pytest.raises(Enough):
        client.complete(msgs, max_tokens=200, stop_at_fence=False, on_token=interrupt)
    assert threading.active_count() == before  # the worker saw the stop flag and ended
    assert len(seen) == 2


def test_auto_runtime_picks_transformers_for_a_folder(tiny_model, monkeypatch):
    monkeypatch.delenv("OPSGEN_BACKEND", raising=False)
    client = load_client(str(tiny_model), None)
    assert client.runtime == "hf"


def test_int8_quantisation_still_generates(tiny_model):
    client = TransformersClient(tiny_model, int8=True)
    out = client.complete([Message("user", "hi")], max_tokens=4)
    assert out.completion_tokens > 0
