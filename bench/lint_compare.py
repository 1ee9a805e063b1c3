"""Playbook lint, this tree against an earlier commit, interleaved: medians of both.

    .venv/bin/python bench/lint_compare.py --before 023fe0f --runs 5

Each run lints ``lint_bench.playbook()`` (100 tasks, no cache) in a fresh interpreter of
each tree, alternately, so both sides see the same machine load. The earlier tree is
checked out as a temporary git worktree and imported first on ``sys.path``; where it has
``opsgen.sandbox.toolbox`` the Ansible tools run in their container (as ``opsgen lint``
does), otherwise on the host (as they did before).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_CODE = r'''
import json, os, sys, tempfile, time
os.environ["OPSGEN_CACHE_DIR"] = tempfile.mkdtemp()
sys.path.insert(0, "bench")
from lint_bench import playbook
from opsgen.validators import lint_text
kw = {}
try:
    from opsgen.sandbox.toolbox import ContainerTools
    kw["sandbox"] = ContainerTools()
except ImportError:
    pass
play = playbook()
lint_text(play, "ansible", "b.yml", cache=False, ansible_lint=False, **kw)  # warm-up
out = {}
for name, full in (("without ansible-lint", False), ("with ansible-lint", True)):
    start = time.perf_counter()
    report = lint_text(play, "ansible", "b.yml", cache=False, ansible_lint=full, **kw)
    out[name] = time.perf_counter() - start
    out[name + ": findings"] = len(report.findings)
print(json.dumps(out))
'''


def _once(tree: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    proc = subprocess.run([sys.executable, "-c", _CODE], cwd=tree, env=env, capture_output=True,
                          text=True, timeout=600, check=True)
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    """Run both trees alternately and print the medians."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", required=True, help="the earlier commit")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="lint-compare-") as tmp:
        old = Path(tmp) / "before"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(old),
                        args.before], check=True)
        try:
            rows: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
            for _ in range(args.runs):
                rows["before"].append(_once(old))
                rows["after"].append(_once(ROOT))
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)],
                           check=False)
    for side, runs in rows.items():
        medians = {k: round(statistics.median(r[k] for r in runs), 2) for k in runs[0]}
        print(f"{side:7} {json.dumps(medians)}")


if __name__ == "__main__":
    main()
