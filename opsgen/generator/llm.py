"""The one seam between opsgen and a language model: the :class:`LLMClient` protocol.

Every runtime (llama.cpp, transformers, an OpenAI-compatible server) implements
``complete()``; the generator and the repair loop receive a client object and never build
one themselves, so unit tests inject :class:`FakeLLM` instead of patching module globals
(shell_gpt's pain point, style.md §3).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

__all__ = [
    "GREEDY",
    "Completion",
    "FakeLLM",
    "FenceStop",
    "LLMClient",
    "Message",
    "Sampling",
    "StreamingClient",
    "TokenCallback",
    "collect_stream",
]

Role = Literal["system", "user", "assistant"]
TokenCallback = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message."""

    role: Role
    content: str

    def to_dict(self) -> dict[str, str]:
        """The ``{"role", "content"}`` shape every chat API takes."""
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True, slots=True)
class Sampling:
    """How to pick tokens: greedy by default, sampled for extra candidates.

    Greedy decoding gives the same answer every time, which is what a repair needs; the
    consensus stage (:mod:`opsgen.flow.consensus`) asks for *different* answers to the
    same request, so it samples, with a seed per candidate (runtimes do not promise the same
    sample twice: llama.cpp's prompt-cache reuse alone can change the last bits of a logit).
    """

    temperature: float = 0.0
    top_p: float = 0.95
    seed: int | None = None

    @property
    def greedy(self) -> bool:
        """True when no sampling happens."""
        return self.temperature <= 0.0


GREEDY = Sampling()


@dataclass(frozen=True, slots=True)
class Completion:
    """What a model returned, with the numbers the benchmarks and progress display need.

    Attributes:
        text: the generated text, unmodified.
        model: the model's name or path.
        runtime: ``llama``, ``hf``, ``openai`` or ``fake``.
        completion_tokens: tokens generated (streamed pieces where the API does not count).
        seconds: wall time of the call.
        first_token_s: seconds until the first token arrived.
        finish_reason: ``stop``, ``fence`` (closing code fence seen) or ``length``.
    """

    text: str
    model: str
    runtime: str
    completion_tokens: int = 0
    seconds: float = 0.0
    first_token_s: float = 0.0
    finish_reason: str = "stop"

    @property
    def tokens_per_s(self) -> float:
        """Decode speed after the first token (0 when too few tokens to say)."""
        decode = self.seconds - self.first_token_s
        if self.completion_tokens < 2 or decode <= 0:
            return 0.0
        return (self.completion_tokens - 1) / decode


@runtime_checkable
class LLMClient(Protocol):
    """A chat model that can complete a conversation, streaming tokens as they come."""

    name: str
    runtime: str

    def complete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 768,
        stop_at_fence: bool = True,
        on_token: TokenCallback | None = None,
        sampling: Sampling = GREEDY,
    ) -> Completion:
        """Generate until end of turn, the token budget or a closed code fence.

        Args:
            messages: the conversation, system message first.
            max_tokens: the token budget for the answer.
            stop_at_fence: stop as soon as a fenced code block has been closed; the model
                tends to add prose after the block that we would throw away anyway.
            on_token: called with each new piece of text, for progress displays.
            sampling: greedy (the default) or sampled decoding.
        """
        ...


_OPEN_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})", re.M)
_CLOSE_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*$", re.M)


class FenceStop:
    """Tells when streamed text has opened *and* closed a fenced code block.

    A plain stop string cannot do this: the answer *starts* with a fence, so stopping on
    "```" would stop before the script. Counting fence lines after each piece can.
    """

    def __init__(self) -> None:
        self.text = ""

    def feed(self, piece: str) -> bool:
        """Add a piece of output; True once a block has been opened and closed."""
        self.text += piece
        return fence_closed(self.text)


def fence_closed(text: str) -> bool:
    """True when ``text`` opens a fenced block and a later line closes it (a bare fence)."""
    opening = _OPEN_FENCE.search(text)
    if opening is None:
        return False
    body_start = text.find("\n", opening.end())
    return body_start != -1 and _CLOSE_FENCE.search(text, body_start + 1) is not None


def collect_stream(
    pieces: Iterable[str],
    *,
    model: str,
    runtime: str,
    stop_at_fence: bool,
    on_token: TokenCallback | None,
    max_tokens: int,
) -> Completion:
    """Drain a stream of text pieces into a :class:`Completion`, stopping at a closed fence.

    Shared by the streaming backends so they stop, count and time the same way. The caller's
    iterator is abandoned (not drained) on a stop, which for llama.cpp and HTTP streams ends
    generation early: that is the point.
    """
    start = time.perf_counter()
    first = 0.0
    count = 0
    stopper = FenceStop()
    reason = "stop"
    for piece in pieces:
        if not piece:
            continue
        if count == 0:
            first = time.perf_counter() - start
        count += 1
        if on_token is not None:
            on_token(piece)
        if stopper.feed(piece) and stop_at_fence:
            reason = "fence"
            break
    else:
        if count >= max_tokens:
            reason = "length"
    return Completion(
        text=stopper.text,
        model=model,
        runtime=runtime,
        completion_tokens=count,
        seconds=time.perf_counter() - start,
        first_token_s=first,
        finish_reason=reason,
    )


Responder = Callable[[Sequence[Message]], str]


class StreamingClient:
    """Base of the backends that stream text pieces: only :meth:`_pieces` differs.

    ``complete`` (fence stop, token callback, timing) is the same for llama.cpp and an
    OpenAI-compatible server, so it lives here once.
    """

    name: str
    runtime: str

    def _pieces(
        self, messages: Sequence[Message], max_tokens: int, sampling: Sampling
    ) -> Iterable[str]:
        raise NotImplementedError

    def complete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 768,
        stop_at_fence: bool = True,
        on_token: TokenCallback | None = None,
        sampling: Sampling = GREEDY,
    ) -> Completion:
        """Chat completion, streamed; see :class:`LLMClient`.

        The piece stream is closed at the end (if it has ``close``), so a backend that
        generates in a thread stops and joins it even when the fence ended the answer.
        """
        pieces = self._pieces(messages, max_tokens, sampling)
        try:
            return collect_stream(
                pieces,
                model=self.name,
                runtime=self.runtime,
                stop_at_fence=stop_at_fence,
                on_token=on_token,
                max_tokens=max_tokens,
            )
        finally:
            close = getattr(pieces, "close", None)
            if close is not None:
                close()


@dataclass
class FakeLLM:
    """A deterministic stand-in model for tests: canned answers, every call recorded.

    Args:
        responses: answers returned in order (the last one repeats), or a function of the
            messages, for tests that answer depending on the prompt.
    """

    responses: Sequence[str] | Responder = ("```bash\necho hello\n```",)
    name: str = "fake"
    runtime: str = "fake"
    calls: list[list[Message]] = field(default_factory=list)
    samplings: list[Sampling] = field(default_factory=list)

    def complete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 768,
        stop_at_fence: bool = True,
        on_token: TokenCallback | None = None,
        sampling: Sampling = GREEDY,
    ) -> Completion:
        """Return the next canned answer, streamed word by word to ``on_token``."""
        self.calls.append(list(messages))
        self.samplings.append(sampling)
        if callable(self.responses):
            text = self.responses(messages)
        else:
            text = self.responses[min(len(self.calls), len(self.responses)) - 1]
        pieces = re.findall(r"\S+\s*|\s+", text)
        return collect_stream(
            pieces[:max_tokens],
            model=self.name,
            runtime=self.runtime,
            stop_at_fence=stop_at_fence,
            on_token=on_token,
            max_tokens=max_tokens,
        )
