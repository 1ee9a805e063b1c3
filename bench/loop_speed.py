"""Seconds to a vetted script against the raw model's one-shot answer, for two code trees in
one run (issue 12's figure: the loop's median should be at most 2x the raw answer's).

Each tree answers in its own child process (``PYTHONPATH=TREE``), with the default model
loaded once; the parent hands the same request to each child in turn (which child goes
first alternates), so both see the same machine load. Per request and tree a child
measures:

- ``raw_s``: the model's first, greedy answer alone (``generation_messages`` + one
  completion), as ``opsgen new --attempts 1 --candidates 1 --no-dryrun`` would decode it
  (with the language's system prompt already evaluated, as a new process finds it saved);
- ``loop_s``: the whole default loop (:func:`opsgen.flow.new.new`, nothing stored): fixes,
  lint, dry-runs with the request's checks, repairs and the consensus candidates;
- the loop's status and the tokens it decoded.

Requests: the README's examples and issue 12's, then ``--ops N`` tasks of the operations
suite (sha256 order of their ids, as ``generate.py --sample``; only the request text is
read). Example::

    git worktree add /tmp/before REV --detach
    .venv/bin/python bench/loop_speed.py --tree before=/tmp/before --tree after=. \\
        --ops 20 --out /tmp/speed.jsonl

Prints, per tree: the medians of raw and loop seconds, over all requests and over those
each tree vetted, and the median of the per-request ratio loop/raw. With ``--answers DIR``
each tree's chosen scripts for the suite's requests also go to ``DIR/TREE.jsonl``, in the
form ``bench/ops_suite/harness.py`` scores (correct, false green, false red), so a change
that makes the loop faster is checked for what it costs in quality in the same run::

    .venv/bin/python bench/ops_suite/harness.py DIR/after.jsonl --ids ID,... --json
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
EXAMPLES = [
    ("install a cron job that prunes /var/tmp every night", "bash"),
    ("write an Ansible playbook that installs htop", "ansible"),
    ("Create the directory /srv/reports owned by root with mode 0750 and put an empty file "
     "README in it", "bash"),
]


def child() -> None:
    """Answer requests from stdin, one JSON line each, with this tree's loop."""
    from opsgen.flow.new import new
    from opsgen.generator.backends import load_client
    from opsgen.generator.prompts import generation_messages

    llm = load_client()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        job = json.loads(line)
        # The system prompt of this language evaluated first, as a fresh `opsgen new` finds
        # it (its saved state): after a request in the other language the cache holds that
        # one's, and the raw answer would pay ~4 s the loop's first answer then does not.
        llm.complete(generation_messages("print the date", job["lang"]), max_tokens=1)
        started = time.perf_counter()
        raw = llm.complete(generation_messages(job["request"], job["lang"]))
        raw_s = time.perf_counter() - started
        started = time.perf_counter()
        script, detail, samples = None, "", 0
        try:
            result = new(job["request"], job["lang"], llm, record=False).result
            status, tokens = result.status, sum(
                a.completion.completion_tokens for a in result.attempts
            )
            script, detail = result.final.script, result.verdict
            samples = sum(1 for a in result.attempts if a.sampled)
        except Exception as exc:  # a benchmark row, not a crash
            status, tokens = f"error: {exc}", 0
        print(json.dumps({
            "raw_s": round(raw_s, 2), "raw_tokens": raw.completion_tokens,
            "raw_tok_s": round(raw.tokens_per_s, 1),
            "loop_s": round(time.perf_counter() - started, 2),
            "status": status, "loop_tokens": tokens, "samples": samples,
            "script": script, "detail": detail,
        }), flush=True)


def _ops_requests(n: int) -> list[tuple[str, str, str]]:
    spec = importlib.util.spec_from_file_location("ops_suite_harness", HERE / "ops_suite" /
                                                  "harness.py")
    assert spec is not None and spec.loader is not None
    harness = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = harness
    spec.loader.exec_module(harness)
    views = [harness.task_view(t) for t in harness.load_tasks(harness.DEFAULT_TASKS)]
    views.sort(key=lambda v: hashlib.sha256(v["id"].encode()).hexdigest())
    return [(v["id"], v["request"], v["lang"]) for v in views[:n]]


class Child:
    """One tree's answering process."""

    def __init__(self, name: str, tree: Path) -> None:
        self.name = name
        env = {**os.environ, "PYTHONPATH": str(tree.resolve()), "OPSGEN_NO_WORKER": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--child"], cwd="/tmp", env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        self._read()

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"{self.name}: the child process ended")
        return dict(json.loads(line))

    def ask(self, request: str, lang: str) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"request": request, "lang": lang}) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=60)


def summary(rows: list[dict[str, Any]], trees: list[str]) -> None:
    """Medians per tree (all requests, and those the tree vetted)."""
    for tree in trees:
        mine = [r for r in rows if r["tree"] == tree]
        vetted = [r for r in mine if r["status"] == "vetted"]

        def med(items: list[dict[str, Any]], key: str) -> float:
            return statistics.median(r[key] for r in items) if items else float("nan")

        ratio = statistics.median(r["loop_s"] / r["raw_s"] for r in mine) if mine else 0.0
        print(f"{tree}: {len(mine)} requests, raw median {med(mine, 'raw_s'):.1f} s "
              f"({med(mine, 'raw_tok_s'):.1f} tok/s), loop median {med(mine, 'loop_s'):.1f} s, "
              f"median loop/raw {ratio:.2f}x; vetted {len(vetted)}: loop median "
              f"{med(vetted, 'loop_s'):.1f} s, raw {med(vetted, 'raw_s'):.1f} s")
    if len(trees) == 2:
        a, b = ({r["id"]: r for r in rows if r["tree"] == t} for t in trees)
        shared = [k for k in a if k in b]
        if shared:
            ratio = statistics.median(b[k]["loop_s"] / a[k]["loop_s"] for k in shared)
            same = sum(a[k]["status"] == b[k]["status"] for k in shared)
            print(f"{trees[1]}/{trees[0]} loop seconds, median per request: {ratio:.2f}x; "
                  f"same status on {same}/{len(shared)}")


def main() -> None:
    """Run both trees over the requests, or summarise an earlier run (``--summary``)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--tree", action="append", default=[], help="NAME=PATH (once per tree)")
    ap.add_argument("--ops", type=int, default=20, help="operations-suite requests (0: none)")
    ap.add_argument("--examples", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--out", type=Path, help="JSON lines, one per request and tree")
    ap.add_argument("--summary", type=Path, help="only summarise this earlier --out file")
    ap.add_argument("--answers", type=Path,
                    help="folder for each tree's suite answers (TREE.jsonl, harness format)")
    args = ap.parse_args()
    if args.child:
        child()
        return
    if args.summary:
        rows = [json.loads(x) for x in args.summary.read_text().splitlines() if x.strip()]
        summary(rows, list(dict.fromkeys(r["tree"] for r in rows)))
        return
    trees = [t.split("=", 1) for t in args.tree] or [["here", str(HERE.parent)]]
    jobs = ([(f"example-{i}", r, lang) for i, (r, lang) in enumerate(EXAMPLES, 1)]
            if args.examples else [])
    jobs += _ops_requests(args.ops) if args.ops else []
    children = [Child(name, Path(path)) for name, path in trees]
    rows: list[dict[str, Any]] = []
    out = args.out.open("w") if args.out else None
    if args.answers:
        args.answers.mkdir(parents=True, exist_ok=True)
    answers = {c.name: (args.answers / f"{c.name}.jsonl").open("w") for c in children
               } if args.answers else {}
    try:
        for i, (ident, request, lang) in enumerate(jobs):
            order = children if i % 2 == 0 else children[::-1]
            for ch in order:
                row = {"id": ident, "lang": lang, "tree": ch.name, **ch.ask(request, lang)}
                rows.append(row)
                print(json.dumps({k: v for k, v in row.items() if k != "script"}), flush=True)
                if out is not None:
                    out.write(json.dumps(row) + "\n")
                    out.flush()
                if ch.name in answers and not ident.startswith("example-"):
                    answers[ch.name].write(json.dumps({
                        "id": ident, "lang": lang, "script": row.get("script"),
                        "verdict": row["status"], "detail": row.get("detail", ""),
                        "seconds": row["loop_s"], "tree": ch.name}) + "\n")
                    answers[ch.name].flush()
    finally:
        for ch in children:
            ch.close()
        for fh in [out, *answers.values()]:
            if fh is not None:
                fh.close()
    summary(rows, [c.name for c in children])


if __name__ == "__main__":
    main()
