"""transformers + torch runtime: the reference path, and the one for GPUs and HF folders.

A GGUF file is dequantised by transformers on load (about 90-120 s on 2 cores), so the
first load converts it once into a safetensors folder next to the cached model; later
loads read that folder in seconds. ``save_pretrained`` refuses a GGUF-loaded model, so the
conversion rebuilds the model from its config and copies the weights in. On a CPU without
native bf16 the weights are stored as bf16 (half the disk) but run as fp32 (about twice
as fast there). Optional dynamic int8 quantisation of the Linear layers trades a little
accuracy for speed (``OPSGEN_HF_INT8=1``).
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from opsgen.errors import ModelUnavailable
from opsgen.generator.backends.llamacpp import default_threads
from opsgen.generator.llm import Message, Sampling, StreamingClient

__all__ = ["TransformersClient", "convert_gguf"]

_DONE_MARK = ".opsgen-converted"


def _import_hf() -> tuple[Any, Any]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the Hub
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    try:
        import torch
        import transformers
    except ImportError:
        raise ModelUnavailable(
            "the transformers runtime is not installed",
            hint="run: pip install 'opsgen[hf]'  (torch==2.13.0 CPU, transformers, gguf)",
        ) from None
    transformers.logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    transformers.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    return torch, transformers


def convert_gguf(gguf: Path, out_dir: Path) -> Path:
    """Convert ``gguf`` once into a safetensors folder ``out_dir``; return the folder.

    Idempotent: a folder with the completion mark is reused. Writes into a sibling temp
    folder and renames it, so an interrupted conversion never leaves a half folder.
    """
    if (out_dir / _DONE_MARK).exists():
        return out_dir
    torch, tf = _import_hf()
    tmp = out_dir.with_name(out_dir.name + ".partial")
    tmp.mkdir(parents=True, exist_ok=True)
    tok = tf.AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    loaded = tf.AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
    )
    config = loaded.config
    if hasattr(config, "quantization_config"):
        delattr(config, "quantization_config")
    fresh = tf.AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    fresh.load_state_dict(loaded.state_dict())
    del loaded
    fresh.to(torch.bfloat16).save_pretrained(str(tmp))
    tok.save_pretrained(str(tmp))
    (tmp / _DONE_MARK).write_text(f"converted from {gguf.name}\n")
    os.replace(tmp, out_dir)
    return out_dir


class _Streamer:
    """transformers streamer that decodes new tokens into text pieces on a queue."""

    def __init__(self, tokenizer: Any, prompt_len: int) -> None:
        self.tokenizer = tokenizer
        self.skip = prompt_len
        self.ids: list[int] = []
        self.emitted = ""
        self.pieces: list[str] = []
        self.cond = threading.Condition()
        self.done = False
        self.stop = False
        self.thread: threading.Thread | None = None

    def close(self) -> None:
        """Stop generating and wait for the worker (called by ``complete`` when it ends)."""
        self.stop = True
        for _ in self:  # wait for the thread to finish its current token
            pass
        if self.thread is not None:
            # A worker still alive at interpreter exit aborts the process in C++.
            self.thread.join()

    def put(self, value: Any) -> None:
        ids = value.reshape(-1).tolist()
        if self.skip:  # the first call carries the prompt
            self.skip = 0
            return
        self.ids.extend(ids)
        text = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        if text.endswith("\ufffd"):  # half a multi-byte character: wait for the rest
            return
        piece, self.emitted = text[len(self.emitted) :], text
        with self.cond:
            self.pieces.append(piece)
            self.cond.notify()

    def end(self) -> None:
        with self.cond:
            self.done = True
            self.cond.notify()

    def __iter__(self) -> Iterator[str]:
        while True:
            with self.cond:
                while not self.pieces and not self.done:
                    self.cond.wait()
                if not self.pieces and self.done:
                    return
                piece = self.pieces.pop(0)
            yield piece


class TransformersClient(StreamingClient):
    """A causal LM loaded with transformers (from a folder, or a GGUF converted once).

    Args:
        path: a Hugging Face model folder, or a GGUF file.
        convert_dir: where a GGUF's converted folder goes (default: beside the file).
        int8: dynamically quantise Linear layers to int8 (CPU only).
    """

    runtime = "hf"

    def __init__(self, path: Path, *, convert_dir: Path | None = None, int8: bool = False):
        torch, tf = _import_hf()
        self._torch = torch
        self.name = path.name
        folder = path
        if path.is_file():
            folder = convert_dir or path.with_name(path.stem + ".hf")
            convert_gguf(path, folder)
        torch.set_num_threads(default_threads())
        try:
            self.tokenizer = tf.AutoTokenizer.from_pretrained(str(folder))
            device = "cuda" if torch.cuda.is_available() else "cpu"
            dtype = torch.float32 if device == "cpu" else torch.bfloat16
            model = tf.AutoModelForCausalLM.from_pretrained(str(folder), dtype=dtype)
        except (OSError, ValueError) as exc:
            raise ModelUnavailable(f"transformers could not load {folder}: {exc}") from None
        if int8 and device == "cpu":
            with warnings.catch_warnings():  # deprecated in favour of torchao, not installed
                warnings.simplefilter("ignore")
                model = torch.ao.quantization.quantize_dynamic(
                    model, {torch.nn.Linear}, dtype=torch.qint8
                )
        self.model = model.to(device).eval()
        self.device = device

    def _pieces(
        self, messages: Sequence[Message], max_tokens: int, sampling: Sampling
    ) -> _Streamer:
        """Start generation in a thread; its text arrives through the streamer.

        A closed fence makes :meth:`_Streamer.close` set the stop flag, which ends
        generation after the current token."""
        _, tf = _import_hf()
        tok = self.tokenizer
        prompt = tok.apply_chat_template(
            [m.to_dict() for m in messages], add_generation_prompt=True, tokenize=False
        )
        inputs = tok(prompt, return_tensors="pt").to(self.device)
        streamer = _Streamer(tok, inputs["input_ids"].shape[1])

        class _StopFlag(tf.StoppingCriteria):  # type: ignore[misc, name-defined]
            def __call__(self, *args: Any, **kwargs: Any) -> bool:
                return streamer.stop

        knobs: dict[str, Any] = {"do_sample": False}
        if not sampling.greedy:
            knobs = {"do_sample": True, "temperature": sampling.temperature,
                     "top_p": sampling.top_p, "top_k": 40}
            if sampling.seed is not None:
                self._torch.manual_seed(sampling.seed)

        def work() -> None:
            try:
                with self._torch.inference_mode():
                    self.model.generate(
                        **inputs,
                        max_new_tokens=max_tokens,
                        **knobs,
                        streamer=streamer,
                        stopping_criteria=tf.StoppingCriteriaList([_StopFlag()]),
                        pad_token_id=tok.pad_token_id or tok.eos_token_id,
                    )
            finally:
                streamer.end()

        streamer.thread = threading.Thread(target=work, daemon=True)
        streamer.thread.start()
        return streamer
