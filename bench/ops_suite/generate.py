"""Answers for the operations suite from opsgen's own loop: what the generator would ship.

    .venv/bin/python bench/ops_suite/generate.py --out answers.jsonl [--model-scenario]
        [--ids a,b] [--lang bash] [--candidates 3] [--attempts 3] [--limit N] [--sample N]
        [--image TAG]
    .venv/bin/python bench/ops_suite/harness.py answers.jsonl

Before and after in one run: ``--modes default,model-scenario --out ans`` answers each task
in every mode, one right after the other (so both see the same machine load), into
``ans.default.jsonl`` and ``ans.model-scenario.jsonl``; score each file with the harness.
``--sample N`` takes a fixed subset: the tasks ordered by the sha256 of their id, first N.

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
import hashlib
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


MODES = {"default": False, "model-scenario": True}


def answer(view: dict[str, str], llm: Any, args: argparse.Namespace,
           model_scenario: bool) -> dict[str, Any]:
    """One task's answer line: the script the loop chose and its verdict."""
    from opsgen.errors import OpsError
    from opsgen.flow.new import new

    # An older loop (a "before" tree on PYTHONPATH) may predate scenarios: only its own
    # keywords are passed, so the same script measures both sides of a change.
    extra: dict[str, Any] = {"model_scenario": model_scenario} if model_scenario else {}
    if args.image:
        extra["image"] = args.image
    started = time.perf_counter()
    try:
        outcome = new(view["request"], view["lang"], llm, attempts=args.attempts,
                      candidates=args.candidates, dryrun=not args.no_dryrun, record=False,
                      **extra)
    except OpsError as exc:
        return {"id": view["id"], "lang": view["lang"], "script": "", "verdict": "error",
                "detail": exc.message, "seconds": round(time.perf_counter() - started, 1)}
    result = outcome.result
    return {"id": view["id"], "lang": view["lang"], "script": result.final.script or "",
            "verdict": result.status, "detail": getattr(result, "verdict", ""),
            "attempts": len(result.attempts),
            "unchanged_repairs": _unchanged(result.attempts),
            "seconds": round(time.perf_counter() - started, 1)}


def _unchanged(attempts: Any) -> int:
    """Repairs identical to an earlier attempt (counted from the scripts, so the count is
    the same for a loop that does not mark repeats itself)."""
    seen: set[str] = set()
    count = 0
    for attempt in attempts:
        if attempt.script is not None and not attempt.sampled and attempt.script in seen:
            count += 1
        if attempt.script is not None:
            seen.add(attempt.script)
    return count


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
    ap.add_argument("--modes", help="comma-separated modes answered task by task, each into "
                    "OUT.MODE.jsonl: " + ", ".join(MODES))
    ap.add_argument("--sample", type=int, default=0,
                    help="a fixed subset: N tasks in sha256 order of their ids (0: all)")
    ap.add_argument("--image", help="sandbox image of the dry-runs (e.g. a 'before' tree's own)")
    ap.add_argument("--no-dryrun", action="store_true", help="lint only (verdict unverified)")
    ap.add_argument("--resume", action="store_true", help="skip ids already in --out")
    args = ap.parse_args()

    harness = _harness()
    tasks = harness.load_tasks(harness.DEFAULT_TASKS)
    wanted = set(args.ids.split(",")) if args.ids else None
    views = [harness.task_view(t) for t in tasks
             if (wanted is None or t.id in wanted) and (args.lang in (None, t.lang))]
    if args.sample:
        views = sorted(views, key=lambda v: hashlib.sha256(v["id"].encode()).hexdigest())
        views = views[: args.sample]
    if args.limit:
        views = views[: args.limit]
    if args.modes:
        modes = [m.strip() for m in args.modes.split(",") if m.strip()]
        unknown = [m for m in modes if m not in MODES]
        if unknown:
            ap.error(f"unknown mode(s) {', '.join(unknown)}; choose from {', '.join(MODES)}")
        outs = {m: args.out.with_name(f"{args.out.name}.{m}.jsonl") for m in modes}
    else:
        modes = ["model-scenario" if args.model_scenario else "default"]
        outs = {modes[0]: args.out}
    done = {m: _done(path) if args.resume else set() for m, path in outs.items()}
    import opsgen
    from opsgen.generator.backends import load_client

    # Which tree answers (a "before" PYTHONPATH must be the one imported): said once, and
    # kept in every line.
    tree = str(Path(opsgen.__file__).resolve().parents[1])
    print(f"opsgen from {tree}", file=sys.stderr, flush=True)
    llm = load_client(args.model, args.runtime)
    files = {m: path.open("a" if args.resume else "w", encoding="utf-8")
             for m, path in outs.items()}
    try:
        for i, view in enumerate(views, 1):
            for mode in modes:
                if view["id"] in done[mode]:
                    continue
                line = answer(view, llm, args, MODES[mode])
                line["mode"] = mode
                line["tree"] = tree
                files[mode].write(json.dumps(line) + "\n")
                files[mode].flush()
                print(f"[{i}/{len(views)}] {mode} {view['id']}: {line['verdict']} "
                      f"({line['seconds']} s) {line.get('detail', '')}", flush=True)
    finally:
        for fh in files.values():
            fh.close()


def _done(path: Path) -> set[str]:
    """Ids already answered in ``path`` (for ``--resume``)."""
    if not path.exists():
        return set()
    return {json.loads(line)["id"] for line in path.read_text().splitlines() if line.strip()}


if __name__ == "__main__":
    main()
