from __future__ import annotations

from opsgen.generator.llm import FakeLLM, LLMClient, Message, collect_stream, fence_closed


def test_fence_closed_needs_an_opening_and_a_bare_closing_line():
    assert not fence_closed("```bash")
    assert not fence_closed("```bash\necho hi\n")
    assert not fence_closed("```bash\necho\n```yaml")  # a new block opening, not a close
    assert fence_closed("```bash\necho hi\n```")
    assert fence_closed("Text first\n```\nx\n```\nmore")


def test_stream_stops_at_the_closing_fence_and_counts():
    pieces = ["```bash\n", "echo ", "hi\n", "```", "\nThis ", "explains ", "it."]
    seen: list[str] = []
    out = collect_stream(
        pieces, model="m", runtime="t", stop_at_fence=True, on_token=seen.append, max_tokens=100
    )
    assert out.text == "```bash\necho hi\n```"
    assert out.finish_reason == "fence"
    assert out.completion_tokens == 4 == len(seen)


def test_stream_without_fence_stop_reads_everything_and_reports_length():
    pieces = ["a"] * 5
    out = collect_stream(
        pieces, model="m", runtime="t", stop_at_fence=False, on_token=None, max_tokens=5
    )
    assert out.text == "aaaaa"
    assert out.finish_reason == "length"


def test_fake_llm_is_an_llm_client_and_records_calls():
    fake = FakeLLM(["one", "two"])
    assert isinstance(fake, LLMClient)
    msgs = [Message("user", "hi")]
    assert fake.complete(msgs).text == "one"
    assert fake.complete(msgs).text == "two"
    assert fake.complete(msgs).text == "two"
    assert len(fake.calls) == 3
    assert fake.calls[0] == msgs
