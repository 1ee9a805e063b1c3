"""Speed of the generator per runtime x model: load time, tokens/s, seconds to a vetted script.

Each (runtime, model) pair runs in its own child process, so its peak RSS is its own and
one runtime's threads do not slow the other. Prints medians and the llama.cpp/transformers
ratio. Example::

    .venv/bin/python bench/gen_speed.py                       # speed, both runtimes, both models
    .venv/bin/python bench/gen_speed.py --vetted --runtimes llama   # + lint and dry-run loop
    .venv/bin/python bench/gen_speed.py --runtimes hf-int8          # transformers, int8 Linear

``hf-int8`` is the transformers runtime with ``OPSGEN_HF_INT8=1`` (dynamic int8 quantisation
of the Linear layers). ``--vetted`` runs the whole loop as ``opsgen new`` does by default
(3 attempts, 3 candidates).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

REQUESTS = [
    "list all files larger than 100MB under /var/log",
    "create a user named deploy with a home directory and add them to the sudo group",
    "install nginx and make sure it starts on boot",
    "find and delete files in /tmp older than 7 days",
    "install a cron job that prunes /var/tmp every night",
]
MODELS = ["qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b"]


def child(runtime: str, model: str, n: int, vetted: bool, attempts: int, candidates: int) -> dict:
    """Load one model with one runtime and time it on the first ``n`` requests."""
    from opsgen.generator.backends import load_client
    from opsgen.generator.prompts import generation_messages

    t0 = time.perf_counter()
    llm = load_client(model, "hf" if runtime == "hf-int8" else runtime)
    load_s = time.perf_counter() - t0
    rows = []
    for request in REQUESTS[:n]:
        out = llm.complete(generation_messages(request, "bash"))
        rows.append(
            {
                "request": request,
                "tokens": out.completion_tokens,
                "seconds": out.seconds,
                "tok_s": out.tokens_per_s,
                "first_token_s": out.first_token_s,
            }
        )
    loops = []
    if vetted:
        from opsgen.flow.checks import make_dryrun, make_lint
        from opsgen.flow.loop import run_loop

        dry = make_dryrun()
        for request in REQUESTS[:n]:
            t = time.perf_counter()
            result = run_loop(
                request, "bash", llm, lint=make_lint(request), dryrun=dry, attempts=attempts,
                candidates=candidates,
            )
            loops.append(
                {
                    "request": request,
                    "seconds": time.perf_counter() - t,
                    "status": result.status,
                    "attempts": len(result.attempts),
                }
            )
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "runtime": runtime,
        "model": model,
        "load_s": load_s,
        "rows": rows,
        "loops": loops,
        "peak_rss_mb": rss_mb,
    }


def summarise(results: list[dict]) -> None:
    """Print one line per pair with medians, then the speed ratio per model."""
    print(
        f"{'runtime':8} {'model':20} {'load s':>7} {'tok/s':>6} {'s/answer':>8} "
        f"{'RSS MB':>7} {'s to result':>11} {'vetted':>7}"
    )
    speed: dict[tuple[str, str], float] = {}
    for r in results:
        tok_s = statistics.median(x["tok_s"] for x in r["rows"])
        per = statistics.median(x["seconds"] for x in r["rows"])
        speed[(r["runtime"], r["model"])] = tok_s
        loop_s, vetted = "-", "-"
        if r["loops"]:
            loop_s = f"{statistics.median(x['seconds'] for x in r['loops']):.1f}"
            vetted = f"{sum(x['status'] == 'vetted' for x in r['loops'])}/{len(r['loops'])}"
        print(
            f"{r['runtime']:8} {r['model']:20} {r['load_s']:7.1f} {tok_s:6.2f} {per:8.1f} "
            f"{r['peak_rss_mb']:7.0f} {loop_s:>11} {vetted:>7}"
        )
    for model in MODELS:
        for hf in ("hf", "hf-int8"):
            if ("llama", model) in speed and speed.get((hf, model)):
                ratio = speed[("llama", model)] / speed[(hf, model)]
                print(f"{model}: llama.cpp is {ratio:.1f}x {hf} in tokens/s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtimes", default="llama,hf")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--requests", type=int, default=5)
    parser.add_argument("--vetted", action="store_true", help="also time the repair loop")
    parser.add_argument("--attempts", type=int, default=3)
    parser.add_argument("--candidates", type=int, default=3)
    parser.add_argument("--out", help="write the raw results as JSON here")
    parser.add_argument("--child", nargs=2, metavar=("RUNTIME", "MODEL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(
            child(*args.child, args.requests, args.vetted, args.attempts, args.candidates)
        ))
        return 0
    results = []
    for runtime in args.runtimes.split(","):
        for model in args.models.split(","):
            cmd = [
                sys.executable,
                __file__,
                "--child",
                runtime,
                model,
                "--requests",
                str(args.requests),
                "--attempts",
                str(args.attempts),
                "--candidates",
                str(args.candidates),
            ]
            cmd += ["--vetted"] if args.vetted else []
            env = dict(os.environ, OPSGEN_HF_INT8="1" if runtime == "hf-int8" else "0")
            print(f"# {runtime} {model} ...", file=sys.stderr, flush=True)
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
            if proc.returncode != 0:
                print(f"# {runtime} {model} failed: {proc.stderr.strip()[-500:]}", file=sys.stderr)
                continue
            results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(results, fh, indent=2)
    summarise(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
