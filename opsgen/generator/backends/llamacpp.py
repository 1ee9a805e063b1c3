"""llama.cpp runtime (``llama-cpp-python``): the fast path for GGUF models on a CPU.

Measured on 2 cores with the 1.5B Q4 model: about 10 tokens/s and a 3 s load, against
1.3 tokens/s and about 2 minutes for transformers. llama.cpp's OpenMP threads spin-wait
for work; on a machine where anything else runs (a Docker dry-run, CI) that collapsed
throughput from 14 to 0.8 tokens/s, so ``OMP_WAIT_POLICY=PASSIVE`` is set before the
library is first imported.

Sampled candidates can be decoded apart from the greedy conversation, and several together
(:meth:`LlamaCppClient.complete_many`): llama.cpp runs sequences in one batch over a shared,
already evaluated prompt. The context is made with room for :data:`SEQUENCES` sequences in
one *unified* KV cache, so the greedy conversation (sequence 0) keeps the whole context and
its answers stay bit-identical (tested); the samples live in sequences 1.. and are removed
afterwards, so the next repair still finds its prefix cached. That is what lets the loop
decode a sample in the background while a dry-run runs. On a 2-core CPU a batch buys
nothing: a step of two sequences costs 1.9 times one token and three 2.1 times (the 1.5B Q4
is compute- rather than memory-bound there), so two samples together take as long as one
after the other (``bench/batch_decode.py``); on a GPU or a wider CPU the batch is where
the gain is.

A new process would read the same system prompt (rules and few-shot examples) again before
its first answer; its evaluated state is saved to a file once and loaded from then on
(:func:`prefix_file`), which takes a fresh ``opsgen new`` from about 10 to 5 s before its
first answer is written. The prefix is always evaluated as a batch of its own, so answers
are the same with the file, without it, or with a broken one (tested).

The worker (:mod:`opsgen.worker`) loads the model once, before it forks a child per
command (:func:`preload`): each child of ``opsgen new`` finds the weights mapped and the
context made (:func:`load`) and skips the 1-2 s load. The worker itself must never run the
model: libgomp's thread pool does not survive a fork, and a child forked from a process
that has computed once hangs at its first token (seen here). A client made by
:func:`preload` therefore refuses to compute in the process that made it.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from opsgen.cachedir import cache_dir
from opsgen.errors import ModelUnavailable
from opsgen.generator.llm import (
    GREEDY,
    Completion,
    Message,
    Sampling,
    StreamingClient,
    TokenCallback,
    fence_closed,
)

__all__ = ["SEQUENCES", "LlamaCppClient", "default_threads", "load", "prefix_file", "preload"]

#: Sequences one context can decode together: the greedy conversation plus the samples.
SEQUENCES = 4
#: A system prompt shorter than this is evaluated each time rather than kept in a file.
_MIN_PREFIX = 64


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
        # One model, one context: a repair and a background batch of samples take turns.
        self._lock = threading.Lock()
        try:
            self._llm = _with_sequences(
                llama_cpp,
                lambda: llama_cpp.Llama(
                    model_path=str(path),
                    n_ctx=n_ctx,
                    n_threads=n_threads or default_threads(),
                    verbose=False,
                ),
            )
        except (ValueError, RuntimeError) as exc:
            raise ModelUnavailable(f"llama.cpp could not load {path}: {exc}") from None
        self._template = _chat_template(self._llm)
        #: The process that must not compute with this client (the worker that preloaded
        #: it, see :func:`preload`); 0 for a client made where it is used.
        self.forks_only_in = 0
        #: Handed over by the worker that loaded it (:func:`load`), not loaded here.
        self.preloaded = False

    def complete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 768,
        stop_at_fence: bool = True,
        on_token: TokenCallback | None = None,
        sampling: Sampling = GREEDY,
    ) -> Completion:
        """See :class:`~opsgen.generator.llm.LLMClient`; one call at a time per model."""
        self._may_compute()
        with self._lock:
            if self._llm.n_tokens == 0:
                self._system_prefix(messages)
            return super().complete(
                messages, max_tokens=max_tokens, stop_at_fence=stop_at_fence,
                on_token=on_token, sampling=sampling,
            )

    def _may_compute(self) -> None:
        if self.forks_only_in == os.getpid():
            raise RuntimeError("the worker that preloaded this model must not run it: its "
                               "children would hang at their first token")

    def _system_prefix(self, messages: Sequence[Message]) -> None:
        """Put the system prompt's evaluated state in the empty cache, from a file when an
        earlier process saved it (:func:`prefix_file`), else by evaluating it and saving it.

        The system prompt (rules and few-shot examples, about 400 tokens) is the same for
        every request of a language; reading it is most of a fresh ``opsgen new``'s wait for
        its first token (about 4 s of 5 here). Either way the prefix is evaluated as its own
        batch and the request after it as another, so an answer is the same bit for bit
        whether the file was there or not. Any problem with the file: evaluated as usual.
        """
        from llama_cpp import llama_cpp as C

        if not messages or messages[0].role != "system":
            return
        llm = self._llm
        whole = self._tokens(messages)
        shared = _common(whole[:-1], self._tokens(messages[:1]))
        if shared < _MIN_PREFIX:
            return
        prefix = whole[:shared]
        path = prefix_file(self.path, prefix)
        ctx = llm._ctx.ctx
        if path is not None and path.is_file():
            tokens = (C.llama_token * (shared + 1))()
            count = ctypes.c_size_t(0)
            read = C.llama_state_seq_load_file(ctx, str(path).encode(), 0, tokens, shared + 1,
                                               ctypes.byref(count))
            if read and count.value == shared and list(tokens[:shared]) == prefix:
                llm.input_ids[:shared] = prefix
                llm.n_tokens = shared
                llm._requires_eval = True  # the logits are not this prefix's
                return
            C.llama_memory_seq_rm(C.llama_get_memory(ctx), 0, -1, -1)
        llm.eval(prefix)
        if path is not None:
            _save_prefix(ctx, path, prefix)

    def _tokens(self, messages: Sequence[Message]) -> list[int]:
        """The prompt's tokens, exactly as ``create_chat_completion`` makes them."""
        text = self._template(messages).encode()
        return list(self._llm.tokenize(text, add_bos=False, special=True))

    def complete_many(
        self,
        messages: Sequence[Message],
        samplings: Sequence[Sampling],
        *,
        max_tokens: int = 768,
        cancelled: Callable[[], bool] | None = None,
        background: Callable[[], bool] | None = None,
    ) -> list[Completion]:
        """Sample one answer per entry of ``samplings`` to the same conversation, decoded
        together in one batch (at most ``SEQUENCES - 1`` at once; more go in turns).

        Each answer stops at its closed fence, the end of turn or ``max_tokens``. The greedy
        conversation's cache (sequence 0) is read, never changed: its evaluated prefix is
        copied to the samples' sequences, so a shared system prompt is not evaluated again,
        and the next :meth:`complete` finds the same cache as if this call never happened.
        ``cancelled`` is asked before every step; when it says yes, what each answer has so
        far is returned with ``finish_reason="cancelled"``. Where the cache could not hold
        every answer at full length, they are sampled one by one, as :meth:`complete` would.
        While ``background`` says yes, each step runs on one thread, leaving the other cores
        to whatever the caller does meanwhile (a dry-run); once it says no, on all of them.
        """
        self._may_compute()
        out: list[Completion] = []
        width = SEQUENCES - 1
        for start in range(0, len(samplings), width):
            with self._lock:
                out.extend(
                    self._batch(messages, samplings[start : start + width], max_tokens,
                                cancelled, background)
                )
        return out

    def _batch(
        self,
        messages: Sequence[Message],
        samplings: Sequence[Sampling],
        max_tokens: int,
        cancelled: Callable[[], bool] | None,
        background: Callable[[], bool] | None,
    ) -> list[Completion]:
        from llama_cpp import llama_cpp as C

        started = time.perf_counter()
        llm = self._llm
        ctx = llm._ctx.ctx
        memory = C.llama_get_memory(ctx)
        vocab = llm._model.vocab
        prompt = self._tokens(messages)
        # The longest evaluated prefix of the greedy sequence that this prompt shares; at
        # least the last prompt token is decoded here, for the first step's logits.
        shared = _common(llm.input_ids[: llm.n_tokens], prompt[:-1])
        # The cache is one pool of n_ctx cells: the greedy sequence's, the prompt's rest,
        # and each answer's own. Where they might not fit, sample one by one instead.
        cells = llm.n_tokens + len(prompt) - shared + len(samplings) * max_tokens
        if not samplings or not prompt or cells > llm.n_ctx():
            return [self._alone(messages, s, max_tokens) for s in samplings]
        seqs = list(range(1, len(samplings) + 1))
        batch = llm._batch.batch
        samplers = [_sampler(s) for s in samplings]
        answers: list[list[int]] = [[] for _ in seqs]
        reasons = ["length" for _ in seqs]
        first = [0.0 for _ in seqs]
        full = (llm.n_threads, llm.n_threads_batch)
        threads = full

        def pace() -> None:
            nonlocal threads
            want = (1, 1) if background is not None and background() else full
            if want != threads:
                C.llama_set_n_threads(ctx, *want)
                threads = want

        try:
            pace()
            C.llama_memory_seq_cp(memory, 0, 1, 0, shared)
            rest = prompt[shared:]
            for lo in range(0, len(rest), llm.n_batch):
                chunk = rest[lo : lo + llm.n_batch]
                _fill(batch, [(token, shared + lo + i, 1, lo + i == len(rest) - 1)
                              for i, token in enumerate(chunk)])
                llm._ctx.decode(llm._batch)
            for seq in seqs[1:]:
                C.llama_memory_seq_cp(memory, 1, seq, 0, len(prompt))
            index = {i: -1 for i in range(len(seqs))}  # where each one's logits are
            active = list(range(len(seqs)))
            step = 0
            while active:
                if cancelled is not None and cancelled():
                    reasons = ["cancelled" if i in active else r for i, r in enumerate(reasons)]
                    break
                going: list[tuple[int, int]] = []
                for i in active:
                    token = samplers[i].sample(llm._ctx, index[i])
                    if C.llama_vocab_is_eog(vocab, token):
                        reasons[i] = "stop"
                        continue
                    if not answers[i]:
                        first[i] = time.perf_counter() - started
                    answers[i].append(token)
                    if fence_closed(llm.detokenize(answers[i]).decode("utf-8", "ignore")):
                        reasons[i] = "fence"
                    elif len(answers[i]) < max_tokens:
                        going.append((i, token))
                active = [i for i, _ in going]
                if not going:
                    break
                _fill(batch, [(token, len(prompt) + step, seqs[i], True) for i, token in going])
                index = {i: j for j, (i, _) in enumerate(going)}
                pace()
                llm._ctx.decode(llm._batch)
                step += 1
        finally:
            if threads != full:
                C.llama_set_n_threads(ctx, *full)
            for seq in seqs:
                C.llama_memory_seq_rm(memory, seq, -1, -1)
            # The context's logits are the samples' now: the next call must not sample
            # from them as if they were its cached prompt's.
            llm._requires_eval = True
            for sampler in samplers:
                sampler.close()
        seconds = time.perf_counter() - started
        return [
            Completion(
                text=llm.detokenize(tokens).decode("utf-8", "replace"),
                model=self.name,
                runtime=self.runtime,
                completion_tokens=len(tokens),
                seconds=seconds,
                first_token_s=first[i],
                finish_reason=reasons[i],
            )
            for i, tokens in enumerate(answers)
        ]

    def _alone(self, messages: Sequence[Message], sampling: Sampling,
               max_tokens: int) -> Completion:
        # The lock is held by the caller: the streaming path, without taking it again.
        return super().complete(messages, max_tokens=max_tokens, sampling=sampling)

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


def _common(have: Sequence[int], want: Sequence[int]) -> int:
    """How many leading tokens two token lists share."""
    count = 0
    for a, b in zip(have, want, strict=False):
        if a != b:
            break
        count += 1
    return count


def _fill(batch: Any, rows: Sequence[tuple[int, int, int, bool]]) -> None:
    """Put ``(token, position, sequence, wants logits)`` rows in a ``llama_batch``."""
    batch.n_tokens = len(rows)
    for j, (token, pos, seq, logits) in enumerate(rows):
        batch.token[j] = token
        batch.pos[j] = pos
        batch.seq_id[j][0] = seq
        batch.n_seq_id[j] = 1
        batch.logits[j] = logits


def _with_sequences(llama_cpp: Any, make: Callable[[], Any]) -> Any:
    """Build the ``Llama`` with a context for :data:`SEQUENCES` sequences in a unified KV
    cache (the library has no argument for it: its default context parameters are
    widened while the constructor runs). Unified, so sequence 0 keeps the whole context."""
    from llama_cpp import llama_cpp as C

    default = C.llama_context_default_params

    def widened() -> Any:
        params = default()
        params.n_seq_max = SEQUENCES
        params.kv_unified = True
        return params

    C.llama_context_default_params = widened
    try:
        return make()
    finally:
        C.llama_context_default_params = default


def _chat_template(llm: Any) -> Callable[[Sequence[Message]], str]:
    """The model's own chat template (from the GGUF), as ``create_chat_completion`` uses it."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = llm.metadata.get("tokenizer.chat_template")
    if not template:
        raise ModelUnavailable(f"{llm.model_path}: the GGUF file has no chat template")
    eos = llm._model.token_get_text(llm.token_eos())
    bos = llm._model.token_get_text(llm.token_bos()) if llm.token_bos() >= 0 else ""
    formatter: Any = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)

    def render(messages: Sequence[Message]) -> str:
        return str(formatter(messages=[m.to_dict() for m in messages]).prompt)

    return render


def _sampler(sampling: Sampling) -> Any:
    """The chain ``create_chat_completion`` builds for these settings (top-k 40, top-p,
    min-p 0.05, temperature, a seeded draw)."""
    from llama_cpp import _internals

    chain: Any = getattr(_internals, "LlamaSampler")()  # noqa: B009 - untyped in the library
    if sampling.greedy:
        chain.add_greedy()
        return chain
    chain.add_top_k(40)
    chain.add_typical(1.0, 1)
    chain.add_top_p(sampling.top_p, 1)
    chain.add_min_p(0.05, 1)
    chain.add_temp(sampling.temperature)
    chain.add_dist(sampling.seed if sampling.seed is not None else 0xFFFFFFFF)
    return chain


def prefix_file(model: Path, prefix: Sequence[int]) -> Path | None:
    """Where the evaluated state of ``prefix`` for ``model`` is kept between processes:
    ``kv/`` in opsgen's cache (:func:`~opsgen.cachedir.cache_dir`), named by a hash of the
    model file (path, size, modification time), the llama.cpp version and the tokens, so a
    new model, runtime or prompt never reads an old state. ``OPSGEN_KV_CACHE=0``: none."""
    if os.environ.get("OPSGEN_KV_CACHE", "1") == "0":
        return None
    try:
        import llama_cpp

        stat = model.stat()
    except (OSError, ImportError):
        return None
    key = hashlib.sha256()
    key.update(f"{model.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|".encode())
    key.update(f"{llama_cpp.__version__}|".encode())
    key.update(",".join(map(str, prefix)).encode())
    return cache_dir("kv", f"{key.hexdigest()[:32]}.kv")


def _save_prefix(ctx: Any, path: Path, prefix: Sequence[int]) -> None:
    """Write the prefix's state (sequence 0's first ``len(prefix)`` cells, copied to a spare
    sequence) to ``path`` atomically; a failure only means the next process evaluates it."""
    from llama_cpp import llama_cpp as C

    memory = C.llama_get_memory(ctx)
    spare = SEQUENCES - 1
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        C.llama_memory_seq_cp(memory, 0, spare, 0, len(prefix))
        tokens = (C.llama_token * len(prefix))(*prefix)
        if C.llama_state_seq_save_file(ctx, str(tmp).encode(), spare, tokens, len(prefix)):
            os.replace(tmp, path)
    except OSError:
        pass
    finally:
        C.llama_memory_seq_rm(memory, spare, -1, -1)
        tmp.unlink(missing_ok=True)


#: The client :func:`preload` made, with what it was made from; taken once by :func:`load`.
_warm: tuple[tuple[object, ...], LlamaCppClient] | None = None


def _identity(path: Path, n_ctx: int) -> tuple[object, ...]:
    """What a preloaded client must match: the same file (not replaced since), context size
    and thread count (``OPSGEN_THREADS`` may differ between the worker and a client)."""
    st = path.stat()
    return (str(path.resolve()), st.st_ino, st.st_size, st.st_mtime_ns, n_ctx, default_threads())


def preload(path: Path, *, n_ctx: int = 4096) -> LlamaCppClient:
    """Load ``path`` in this process for the processes it forks (the worker): weights and
    context only, nothing evaluated, and this process is barred from computing with it."""
    global _warm
    client = LlamaCppClient(path, n_ctx=n_ctx)
    client.forks_only_in = os.getpid()
    _warm = (_identity(path, n_ctx), client)
    return client


def load(path: Path, *, n_ctx: int = 4096) -> LlamaCppClient:
    """The client for ``path``: the one the worker preloaded when this process is a child
    of it and nothing changed (once: a second load in the same process gets its own), else
    a fresh load."""
    global _warm
    warm, _warm = _warm, None
    if warm is not None and warm[1].forks_only_in != os.getpid():
        try:
            same = warm[0] == _identity(path, n_ctx)
        except OSError:
            same = False
        if same:
            warm[1].forks_only_in = 0
            warm[1].preloaded = True
            return warm[1]
    return LlamaCppClient(path, n_ctx=n_ctx)
