"""Seconds of the ``opsgen new`` command, start to exit: in its own process against through a
worker that holds the model loaded (issue 12: "the model stays loaded in the worker").

Three ways to run the same command, interleaved (each round runs every way once, in a
rotating order, so all see the same machine load):

- ``process``: ``OPSGEN_NO_WORKER=1``, the command imports everything and loads the model;
- ``worker``: through a worker started with the model preloaded (``opsgen worker start``);
- ``worker-no-model``: through a worker started with ``OPSGEN_WORKER_MODEL=0`` (imports
  warm, the model loaded by the child), to tell the two savings apart.

Each way runs the raw answer (``--attempts 1 --candidates 1 --no-dryrun``) and, with
``--loop``, the default loop (dry-runs included). The raw answer must be the same every
way (greedy decoding): a difference is an error. The loop's sampled candidates depend on
thread timing, so its answers are only counted where they differ.
Prints the median seconds per way and the ratio to ``process``. Example::

    .venv/bin/python bench/new_cli.py --rounds 3 --loop
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OPSGEN = str(Path(sys.executable).parent / "opsgen")
REQUESTS = (
    "Create the directory /srv/reports owned by root with mode 0750 and put an empty file "
    "README in it",
    "Create a system user metrics with its home in /srv/metrics",
)
RAW = ("--attempts", "1", "--candidates", "1", "--no-dryrun")
WAYS = ("process", "worker", "worker-no-model")


def _run(args: list[str], env: dict[str, str], cwd: str) -> tuple[float, dict[str, object]]:
    started = time.perf_counter()
    proc = subprocess.run([OPSGEN, *args], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=900)
    seconds = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise SystemExit(f"opsgen {' '.join(args[:2])} failed ({proc.returncode}): "
                         f"{proc.stderr.strip()[-400:]}")
    return seconds, json.loads(proc.stdout)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--loop", action="store_true", help="also time the default loop")
    ap.add_argument("--out", type=Path, help="JSON lines, one per command run")
    args = ap.parse_args()

    base = {k: v for k, v in os.environ.items() if k != "OPSGEN_NO_WORKER"}
    work = tempfile.mkdtemp(prefix="opsgen-newcli-")
    envs = {
        "process": {**base, "OPSGEN_NO_WORKER": "1"},
        "worker": {**base, "OPSGEN_RUNTIME_DIR": f"{work}/w1", "OPSGEN_WORKER_AUTOSTART": "0"},
        "worker-no-model": {**base, "OPSGEN_RUNTIME_DIR": f"{work}/w2",
                            "OPSGEN_WORKER_AUTOSTART": "0", "OPSGEN_WORKER_MODEL": "0"},
    }
    for way in ("worker", "worker-no-model"):
        proc = subprocess.run([OPSGEN, "worker", "start", "--idle", "3600"], env=envs[way],
                              capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            raise SystemExit(f"worker start failed: {proc.stderr.strip()}")
    kinds = [("raw", RAW)] + ([("loop", ())] if args.loop else [])
    times: dict[tuple[str, str], list[float]] = {}
    scripts: dict[tuple[str, str], set[str]] = {}
    out = args.out.open("w") if args.out else None
    try:
        for n in range(args.rounds):
            for request in REQUESTS:
                for kind, extra in kinds:
                    order = WAYS[n % 3:] + WAYS[:n % 3]
                    for way in order:
                        cmd = ["new", request, "--lang", "bash", "--no-store", "--json", *extra]
                        seconds, data = _run(cmd, envs[way], work)
                        model = data.get("model") or {}
                        times.setdefault((kind, way), []).append(seconds)
                        scripts.setdefault((kind, request), set()).add(str(data.get("script")))
                        line = {"round": n, "kind": kind, "way": way, "request": request,
                                "seconds": round(seconds, 3), "status": data.get("status"),
                                "preloaded": model.get("preloaded"),
                                "load_s": model.get("load_s")}
                        print(json.dumps(line), flush=True)
                        if out:
                            out.write(json.dumps(line) + "\n")
    finally:
        for way in ("worker", "worker-no-model"):
            subprocess.run([OPSGEN, "worker", "stop"], env=envs[way], capture_output=True,
                           timeout=120)
        if out:
            out.close()
    print(f"\nmedian seconds of `opsgen new`, start to exit ({args.rounds} rounds x "
          f"{len(REQUESTS)} requests)")
    for kind, _ in kinds:
        ref = statistics.median(times[(kind, "process")])
        cells = [f"{way} {statistics.median(times[(kind, way)]):.2f} s "
                 f"({statistics.median(times[(kind, way)]) / ref:.2f}x)" for way in WAYS]
        print(f"  {kind:<5} " + " | ".join(cells))
    differ = [key for key, seen in scripts.items() if len(seen) > 1]
    for kind, request in differ:
        level = "error" if kind == "raw" else "note"
        print(f"{level}: {kind} answers differ between runs for {request!r}", file=sys.stderr)
    return 1 if any(kind == "raw" for kind, _ in differ) else 0


if __name__ == "__main__":
    sys.exit(main())
