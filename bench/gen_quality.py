"""NL->bash quality: the model's raw first answer vs opsgen's vetted answer (repair loop).

Same model, same run: attempt 1 of the repair loop *is* the raw one-shot answer (greedy,
no corrections, no checks), and the loop's chosen script is the vetted one: repaired until
lint and the dry-run pass, then weighed against ``--candidates - 1`` sampled answers by
what each did in the sandbox (execution consensus, as ``opsgen new --candidates``).
The loop dry-runs inside the task's own fixture image (``bench-fs-N``), so it sees the
files the request talks about; it never sees the gold command or the expected output.
Both answers are then scored by ``../shared/bench/score_bash.py`` (file-system and
stdout match against gold).

    python bench/gen_quality.py generate --model qwen2.5-coder-1.5b --out q15.jsonl
    python bench/gen_quality.py score --from q15.jsonl

Two shards with one thread each keep both cores busy (one generates while the other lints
and dry-runs); concatenate their outputs before ``score``::

    OPSGEN_THREADS=1 python bench/gen_quality.py generate --shard 0/2 --out q15.a.jsonl &
    OPSGEN_THREADS=1 python bench/gen_quality.py generate --shard 1/2 --out q15.b.jsonl &

A long run can be paused between tasks (e.g. to take timings on a quiet machine) by
creating ``OUT.pause`` (or ``--pause FILE``); it resumes when the file is removed. A rerun
skips finished tasks.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO.parent / "shared" / "bench"
TASKS = BENCH / "intercode-bash" / "tasks.jsonl"


def subset(n: int) -> list[dict]:
    """A fixed subset: the non-excluded tasks ordered by sha256 of their id, first ``n``."""
    tasks = [json.loads(line) for line in TASKS.read_text().splitlines() if line.strip()]
    kept = [t for t in tasks if not t["exclude"]]
    kept.sort(key=lambda t: hashlib.sha256(t["id"].encode()).hexdigest())
    return kept[:n]


def generate(args: argparse.Namespace) -> int:
    """Run the repair loop on each task and append one JSON line per task to ``--out``."""
    from opsgen.flow.checks import make_dryrun, make_lint
    from opsgen.flow.loop import run_loop
    from opsgen.generator.backends import load_client

    out = Path(args.out)
    done = set()
    for path in [out, *map(Path, args.done)]:
        if path.exists():
            done |= {json.loads(line)["id"] for line in path.read_text().splitlines() if line}
    shard, shards = (int(x) for x in args.shard.split("/"))
    llm = load_client(args.model, args.runtime)
    with out.open("a") as fh:
        tasks = list(enumerate(subset(args.n)))
        for index, task in reversed(tasks) if args.reverse else tasks:
            if task["id"] in done or index % shards != shard:
                continue
            pause = Path(args.pause or f"{out}.pause")
            while pause.exists():
                time.sleep(2)
            image = f"bench-fs-{task['fs'].split('_')[1]}"
            dry = make_dryrun(image=image, timeout=30)
            t0 = time.perf_counter()
            try:
                result = run_loop(
                    task["query"],
                    "bash",
                    llm,
                    lint=make_lint(task["query"]),
                    dryrun=dry,
                    attempts=args.attempts,
                    max_tokens=args.max_tokens,
                    candidates=args.candidates,
                )
                record = {
                    "raw": result.attempts[0].completion.text,
                    "vetted": result.final.script,
                    "status": result.status,
                    "attempts": len(result.attempts),
                    "tokens": sum(a.completion.completion_tokens for a in result.attempts),
                    "problems": [[p.code for p in a.problems] for a in result.attempts],
                    "sampled": [a.sampled for a in result.attempts],
                    "final": result.final.number,
                    "consensus": result.consensus.to_dict() if result.consensus else None,
                }
            except Exception as exc:  # an unusable answer is a failed task, not a crash
                record = {"raw": "", "vetted": "", "status": f"error: {exc}", "attempts": 0}
            record.update(id=task["id"], seconds=round(time.perf_counter() - t0, 1))
            fh.write(json.dumps(record) + "\n")
            fh.flush()
            print(f"{task['id']}: {record['status']} in {record['seconds']}s", file=sys.stderr)
    return 0


def print_answer(args: argparse.Namespace) -> int:
    """The ``--gen-cmd`` of score_bash.py: print the stored raw or vetted answer."""
    for line in Path(args.source).read_text().splitlines():
        record = json.loads(line)
        if record["id"] == args.task:
            sys.stdout.write(record[args.which] or "")
            return 0
    return 1


def _score(source: Path, which: str, ids: list[str], jobs: int) -> tuple[int, int, str]:
    gen = (
        f"{shlex.quote(sys.executable)} {shlex.quote(__file__)} print "
        f"--from {shlex.quote(str(source))} --which {which} {{task_id}}"
    )
    out = source.with_suffix(f".{which}.score.jsonl")
    cmd = [
        sys.executable,
        str(BENCH / "score_bash.py"),
        "--gen-cmd",
        gen,
        "--ids",
        ",".join(ids),
        "--jobs",
        str(jobs),
        "--out",
        str(out),
        "--quiet",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    match = re.search(r"bash-bench: (\d+)/(\d+) passed", proc.stdout)
    if match is None:
        raise SystemExit(f"scorer failed: {proc.stdout[-500:]} {proc.stderr[-500:]}")
    return int(match.group(1)), int(match.group(2)), proc.stdout.strip().splitlines()[-1]


def score(args: argparse.Namespace) -> int:
    """Score raw and vetted answers of a ``generate`` output; print both and the ratio."""
    source = Path(args.source).resolve()
    records = [json.loads(line) for line in source.read_text().splitlines() if line]
    ids = [r["id"] for r in records]
    raw_ok, n, _ = _score(source, "raw", ids, args.jobs)
    vet_ok, _, _ = _score(source, "vetted", ids, args.jobs)
    statuses: dict[str, int] = {}
    for r in records:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    seconds = sorted(r["seconds"] for r in records)
    print(
        f"tasks: {n}; loop status: {statuses}; median seconds per task: "
        f"{seconds[len(seconds) // 2]}"
    )
    print(f"raw first answer: {raw_ok}/{n} ({100 * raw_ok / n:.1f}%)")
    print(f"vetted answer:    {vet_ok}/{n} ({100 * vet_ok / n:.1f}%)")
    if raw_ok:
        print(f"ratio vetted/raw: {vet_ok / raw_ok:.2f}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="verb", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--model", default="qwen2.5-coder-1.5b")
    g.add_argument("--runtime", default=None)
    g.add_argument("--n", type=int, default=100)
    g.add_argument("--attempts", type=int, default=3)
    g.add_argument("--candidates", type=int, default=3, help="answers weighed by consensus")
    g.add_argument("--max-tokens", type=int, default=384, help="per answer (one-liners need few)")
    g.add_argument("--out", required=True)
    g.add_argument("--shard", default="0/1", help="K/N: only every N-th task from K (parallel "
                   "runs with OPSGEN_THREADS=1 use 2 cores better than one run with 2 threads)")
    g.add_argument("--pause", help="pause between tasks while this file exists (OUT.pause)")
    g.add_argument("--done", action="append", default=[], help="skip tasks recorded here too")
    g.add_argument("--reverse", action="store_true", help="last task first: a second run "
                   "finishes a slow shard's tail from the other end (stop it when they meet)")
    p = sub.add_parser("print")
    p.add_argument("--from", dest="source", required=True)
    p.add_argument("--which", choices=["raw", "vetted"], required=True)
    p.add_argument("task")
    s = sub.add_parser("score")
    s.add_argument("--from", dest="source", required=True)
    s.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    return {"generate": generate, "print": print_answer, "score": score}[args.verb](args)


if __name__ == "__main__":
    sys.exit(main())
