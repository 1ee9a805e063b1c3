"""What decoding several sampled answers together costs on this machine, against one by one.

For each request, with the default model on llama.cpp and the request's prompt already
evaluated (as in the loop, where the greedy answer came first), it times:

- ``k`` samples one after the other (``complete``, temperature 0.7, seeds 1..k);
- the same ``k`` decoded together (``complete_many``, one batch of ``k`` sequences).

A batch runs as long as its longest answer, so besides the wall time it prints the cost of one
batched step (seconds per step of the longest answer) against one token decoded alone: the
"how much more does a batch of k cost than one sequence" figure. Example::

    .venv/bin/python bench/batch_decode.py --k 1,2,3
"""

from __future__ import annotations

import argparse
import statistics
import time

from gen_speed import REQUESTS  # the same five requests as the speed table (bench/)


def main() -> None:
    """Time sequential and batched sampling per request; print medians per k."""
    from opsgen.generator.backends import load_client
    from opsgen.generator.llm import Sampling
    from opsgen.generator.prompts import generation_messages

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--k", default="1,2,3", help="batch sizes to try")
    ap.add_argument("--requests", type=int, default=len(REQUESTS))
    args = ap.parse_args()
    llm = load_client(runtime="llama")
    sizes = [int(k) for k in args.k.split(",")]
    rows: dict[int, list[tuple[float, float, float]]] = {k: [] for k in sizes}
    for request in REQUESTS[: args.requests]:
        messages = generation_messages(request, "bash")
        llm.complete(messages)  # the greedy answer first, as in the loop: prompt cached
        for k in sizes:
            samplings = [Sampling(temperature=0.7, seed=i) for i in range(1, k + 1)]
            t = time.perf_counter()
            alone = [llm.complete(messages, sampling=s) for s in samplings]
            seq_s = time.perf_counter() - t
            per_token = seq_s / max(1, sum(c.completion_tokens for c in alone))
            t = time.perf_counter()
            together = llm.complete_many(messages, samplings)  # type: ignore[attr-defined]
            batch_s = time.perf_counter() - t
            per_step = batch_s / max(1, max(c.completion_tokens for c in together))
            rows[k].append((seq_s, batch_s, per_step / per_token))
            print(f"{request[:40]!r} k={k}: one by one {seq_s:.1f} s, together {batch_s:.1f} s, "
                  f"a batched step costs {per_step / per_token:.2f}x one token", flush=True)
    for k in sizes:
        seq = statistics.median(r[0] for r in rows[k])
        batch = statistics.median(r[1] for r in rows[k])
        step = statistics.median(r[2] for r in rows[k])
        print(f"k={k}: median one by one {seq:.1f} s, together {batch:.1f} s "
              f"({batch / seq:.2f}x); a step of {k} sequences costs {step:.2f}x one token")


if __name__ == "__main__":
    main()
