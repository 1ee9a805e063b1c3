"""Answers for the operations suite from opsgen's own loop: what the generator would ship.

    .venv/bin/python bench/ops_suite/generate.py --out answers.jsonl [--model-scenario]
        [--ids a,b] [--lang bash] [--candidates 3] [--attempts 3] [--limit N]
    .venv/bin/python bench/ops_suite/harness.py answers.jsonl

The generator sees only what ``harness.py --list`` shows (id, language, request): never a
task's prepare, check or gold. The model is loaded once; each request runs
:func:`opsgen.flow.new.new` (the loop ``opsgen new`` runs, nothing stored) and one JSON line
is written as soon as it is done (``id``, ``lang``, ``script``, ``verdict`` = the loop's
status, ``detail`` = its verdict words, ``seconds``), so an interrupted run keeps what it has
and ``--resume`` goes on from there. Scoring is the harness's: correct, false-green (wrong
among ``vetted``) and false-red (right among the rest).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _harness() -> Any:
    spec = importlib.util.spec_from_file_location("ops_suite_harness", HERE / "harness.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def answer(view: dict[str, str], llm: Any, args: argparse.Namespace) -> dict[str, Any]:
    """One task's answer line: the script the loop chose and its verdict."""
    from opsgen.errors import OpsError
    from opsgen.flow.new import new

    started = time.perf_counter()
    try:
        outcome = new(view["request"], view["lang"], llm, attempts=args.attempts,
                      candidates=args.candidates, dryrun=not args.no_dryrun, record=False,
                      model_scenario=args.model_scenario)
    except OpsError as exc:
        return {"id": view["id"], "lang": view["lang"], "script": "", "verdict": "error",
                "detail": exc.message, "seconds": round(time.perf_counter() - started, 1)}
    result = outcome.result
    return {"id": view["id"], "lang": view["lang"], "script": result.final.script or "",
            "verdict": result.status, "detail": getattr(result, "verdict", ""),
            "attempts": len(result.attempts),
            "seconds": round(time.perf_counter() - started, 1)}


def main() -> None:
    """Generate the answers file."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, type=Path, help="answers file (JSON lines)")
    ap.add_argument("--ids", help="comma-separated task ids")
    ap.add_argument("--lang", choices=("bash", "ansible"))
    ap.add_argument("--limit", type=int, default=0, help="at most N tasks (0: all)")
    ap.add_argument("--model", help="catalogue name, GGUF file or HF folder")
    ap.add_argument("--runtime", help="auto, llama or hf")
    ap.add_argument("--attempts", type=int, default=3)
    ap.add_argument("--candidates", type=int, default=3)
    ap.add_argument("--model-scenario", action="store_true",
                    help="the model also writes a scenario (opsgen new --model-scenario)")
    ap.add_argument("--no-dryrun", action="store_true", help="lint only (verdict unverified)")
    ap.add_argument("--resume", action="store_true", help="skip ids already in --out")
    args = ap.parse_args()

    harness = _harness()
    tasks = harness.load_tasks(harness.DEFAULT_TASKS)
    wanted = set(args.ids.split(",")) if args.ids else None
    views = [harness.task_view(t) for t in tasks
             if (wanted is None or t.id in wanted) and (args.lang in (None, t.lang))]
    if args.limit:
        views = views[: args.limit]
    done: set[str] = set()
    if args.resume and args.out.exists():
        done = {json.loads(line)["id"] for line in args.out.read_text().splitlines()
                if line.strip()}
    from opsgen.generator.backends import load_client

    llm = load_client(args.model, args.runtime)
    with args.out.open("a" if args.resume else "w", encoding="utf-8") as out:
        for i, view in enumerate(views, 1):
            if view["id"] in done:
                continue
            line = answer(view, llm, args)
            out.write(json.dumps(line) + "\n")
            out.flush()
            print(f"[{i}/{len(views)}] {view['id']}: {line['verdict']} "
                  f"({line['seconds']} s) {line.get('detail', '')}", flush=True)


if __name__ == "__main__":
    main()
