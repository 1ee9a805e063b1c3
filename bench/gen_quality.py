"""NL->bash quality: the model's raw first answer vs opsgen's vetted answer (repair loop).

Same model, same run: attempt 1 of the repair loop *is* the raw one-shot answer (greedy,
no corrections, no checks), and the loop's chosen script is the vetted one: repaired until
lint and the dry-run pass, then weighed against ``--candidates - 1`` sampled answers by
what each did in the sandbox (execution consensus, as ``opsgen new --candidates``).
The loop dry-runs inside the task's own fixture image (``bench-fs-N``), so it sees the
files the request talks about; it never sees the gold command or the expected output.
Both answers are then scored by ``../shared/bench/score_bash.py`` (file-system and
stdout match against gold, or against either of ALFA's two golds).

The task set is InterCode-ALFA by default (``../shared/bench/intercode-alfa``: the corrected
NL->bash set, 296 scored tasks, fixture images ``bench-alfa-N`` made by its
``build_images.py``); ``--set intercode-bash`` keeps the old set (``bench-fs-N``) for
comparison. ``--n`` takes a fixed subset (sha256 order of the ids); ``--n 0`` all of them.

    python bench/gen_quality.py generate --n 40 --out alfa40.jsonl
    python bench/gen_quality.py score --from alfa40.jsonl

Before and after in one run: ``--modes default,model-scenario`` answers each task in both
modes back to back into ``OUT.default.jsonl`` and ``OUT.model-scenario.jsonl`` (the loop
with and without the model's own scenario); score each file.

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
import importlib.util
import json
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO.parent / "shared" / "bench"
#: task set -> (tasks file, fixture image prefix)
SETS = {
    "alfa": (BENCH / "intercode-alfa" / "tasks.jsonl", "bench-alfa-"),
    "intercode-bash": (BENCH / "intercode-bash" / "tasks.jsonl", "bench-fs-"),
}
MODES = {"default": False, "model-scenario": True}


def subset(n: int, task_set: str = "alfa") -> list[dict]:
    """A fixed subset: the non-excluded tasks ordered by sha256 of their id, first ``n``
    (all of them when ``n`` is 0)."""
    path = SETS[task_set][0]
    tasks = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    kept = [t for t in tasks if not t["exclude"]]
    kept.sort(key=lambda t: hashlib.sha256(t["id"].encode()).hexdigest())
    return kept[:n] if n else kept


def _outputs(args: argparse.Namespace) -> dict[str, Path]:
    """Mode -> answers file: OUT itself for one mode, OUT.MODE.jsonl for ``--modes``."""
    out = Path(args.out)
    if not args.modes:
        return {"model-scenario" if args.model_scenario else "default": out}
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise SystemExit(f"unknown mode(s) {', '.join(unknown)}; choose from {', '.join(MODES)}")
    return {m: out.with_name(f"{out.name}.{m}.jsonl") for m in modes}


def generate(args: argparse.Namespace) -> int:
    """Run the repair loop on each task and append one JSON line per task to ``--out``."""
    from opsgen.flow.checks import make_dryrun, make_lint
    from opsgen.flow.loop import run_loop
    from opsgen.generator.backends import load_client

    outs = _outputs(args)
    done: dict[str, set[str]] = {}
    for mode, path in outs.items():
        done[mode] = set()
        for seen in [path, *map(Path, args.done)]:
            if seen.exists():
                done[mode] |= {json.loads(line)["id"]
                               for line in seen.read_text().splitlines() if line}
    shard, shards = (int(x) for x in args.shard.split("/"))
    llm = load_client(args.model, args.runtime)
    prefix = SETS[args.set][1]
    files = {mode: path.open("a") for mode, path in outs.items()}
    try:
        tasks = list(enumerate(subset(args.n, args.set)))
        for index, task in reversed(tasks) if args.reverse else tasks:
            if index % shards != shard:
                continue
            for mode, fh in files.items():
                if task["id"] in done[mode]:
                    continue
                pause = Path(args.pause or f"{args.out}.pause")
                while pause.exists():
                    time.sleep(2)
                image = f"{prefix}{task['fs'].split('_')[1]}"
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
                        model_scenario=MODES[mode],
                    )
                    record = {
                        "raw": result.attempts[0].completion.text,
                        "vetted": result.final.script,
                        "status": result.status,
                        "verdict": result.verdict,
                        "attempts": len(result.attempts),
                        "tokens": sum(a.completion.completion_tokens for a in result.attempts),
                        "problems": [[p.code for p in a.problems] for a in result.attempts],
                        "sampled": [a.sampled for a in result.attempts],
                        "final": result.final.number,
                        "consensus": result.consensus.to_dict() if result.consensus else None,
                    }
                except Exception as exc:  # an unusable answer is a failed task, not a crash
                    record = {"raw": "", "vetted": "", "status": f"error: {exc}", "attempts": 0}
                record.update(id=task["id"], mode=mode,
                              seconds=round(time.perf_counter() - t0, 1))
                fh.write(json.dumps(record) + "\n")
                fh.flush()
                print(f"{task['id']} {mode}: {record['status']} in {record['seconds']}s",
                      file=sys.stderr)
    finally:
        for fh in files.values():
            fh.close()
    return 0


def print_answer(args: argparse.Namespace) -> int:
    """The ``--gen-cmd`` of score_bash.py: print the stored raw or vetted answer."""
    for line in Path(args.source).read_text().splitlines():
        record = json.loads(line)
        if record["id"] == args.task:
            sys.stdout.write(record[args.which] or "")
            return 0
    return 1


def _score(source: Path, which: str, ids: list[str], jobs: int,
           task_set: str) -> dict[str, bool]:
    """Score the ``which`` answers of ``source``: task id -> correct."""
    tasks, prefix = SETS[task_set]
    gen = (
        f"{shlex.quote(sys.executable)} {shlex.quote(__file__)} print "
        f"--from {shlex.quote(str(source))} --which {which} {{task_id}}"
    )
    out = source.with_suffix(f".{which}.score.jsonl")
    cmd = [
        sys.executable, str(BENCH / "score_bash.py"), "--gen-cmd", gen,
        "--tasks", str(tasks), "--image-prefix", prefix,
        "--ids", ",".join(ids), "--jobs", str(jobs), "--out", str(out), "--quiet",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if not re.search(r"bash-bench: (\d+)/(\d+) passed", proc.stdout):
        raise SystemExit(f"scorer failed: {proc.stdout[-500:]} {proc.stderr[-500:]}")
    rows = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    return {row["id"]: bool(row.get("success")) for row in rows}


def _set_of(records: list[dict]) -> str:
    """Which task set a results file answers (from its ids)."""
    return "alfa" if all(r["id"].startswith("alfa") for r in records) else "intercode-bash"


def _relabel() -> Callable[[str, str], str]:
    """The ops suite harness's :func:`relabel` (today's rule for an older tree's statuses),
    so both benchmarks score by one rule."""
    spec = importlib.util.spec_from_file_location("ops_suite_harness",
                                                  REPO / "bench" / "ops_suite" / "harness.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    relabel: Callable[[str, str], str] = module.relabel
    return relabel


def score(args: argparse.Namespace) -> int:
    """Score raw and vetted answers of a ``generate`` output: correct shares, and the
    false-green rate (wrong among ``vetted``) and false-red rate (right among the rest)."""
    source = Path(args.source).resolve()
    records = [json.loads(line) for line in source.read_text().splitlines() if line]
    ids = [r["id"] for r in records]
    task_set = _set_of(records)
    raw = _score(source, "raw", ids, args.jobs, task_set)
    vetted = _score(source, "vetted", ids, args.jobs, task_set)
    n = len(records)
    raw_ok, vet_ok = sum(raw.values()), sum(vetted.values())
    statuses: dict[str, int] = {}
    for r in records:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    seconds = sorted(r["seconds"] for r in records)
    relabel = _relabel()
    status = {r["id"]: relabel(str(r["status"]), r.get("verdict", "")) for r in records}
    green = [i for i in ids if status[i] == "vetted"]
    red = [i for i in ids if status[i] != "vetted"]
    amber = [i for i in ids if status[i] == "runs-clean"]
    false_green = sum(not vetted.get(i, False) for i in green)
    false_red = sum(vetted.get(i, False) for i in red)
    print(f"set: {task_set}; tasks: {n}; loop status: {statuses}; median seconds per task: "
          f"{seconds[len(seconds) // 2]}")
    print(f"raw first answer: {raw_ok}/{n} ({100 * raw_ok / n:.1f}%)")
    print(f"vetted answer:    {vet_ok}/{n} ({100 * vet_ok / n:.1f}%)")
    print(f"false green: {false_green}/{len(green)} wrong among vetted; "
          f"false red: {false_red}/{len(red)} right among not vetted")
    print(f"runs-clean (no check proved it): {len(amber)}, of them right: "
          f"{sum(vetted.get(i, False) for i in amber)}")
    if raw_ok:
        print(f"ratio vetted/raw: {vet_ok / raw_ok:.2f}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="verb", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--model", default="qwen2.5-coder-1.5b")
    g.add_argument("--runtime", default=None)
    g.add_argument("--set", choices=sorted(SETS), default="alfa", help="task set (default alfa)")
    g.add_argument("--n", type=int, default=100, help="fixed subset size (0: every scored task)")
    g.add_argument("--modes", help="comma-separated modes answered task by task, each into "
                   "OUT.MODE.jsonl: " + ", ".join(MODES))
    g.add_argument("--model-scenario", action="store_true",
                   help="the loop also has the model write a scenario (one mode only)")
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
