"""Runbook conversion throughput on the 26-runbook corpus, at ``--jobs 1`` and ``--jobs 2``.

Each repeat converts the whole corpus (read in place from ../shared/bench/runbooks) into a
fresh workspace: parse, transcribe, lint (shellcheck + our rules, or ansible-lint), dry-run
twice in the sandbox, store. Prints runbooks per minute (median of the repeats), the
jobs-2/jobs-1 ratio, per-stage medians, and the share of runbooks whose script came out
lint-clean and dry-run-clean (issue 6).

    .venv/bin/python bench/convert_bench.py [--repeats 3] [--lang bash] [--no-dryrun]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "bench" / "runbooks"
sys.path.insert(0, str(ROOT))

from opsgen.flow.checks import SandboxChecks  # noqa: E402
from opsgen.runbook.batch import BatchOptions, Source, run_batch  # noqa: E402
from opsgen.runbook.ledger import Ledger  # noqa: E402
from opsgen.runbook.output import OutputFiles  # noqa: E402
from opsgen.runbook.summary import Summary  # noqa: E402
from opsgen.store.repo import Store  # noqa: E402
from opsgen.store.workspace import Workspace  # noqa: E402


def corpus() -> list[Source]:
    entries = json.loads((CORPUS / "MANIFEST.json").read_text(encoding="utf-8"))
    return [Source(CORPUS / e["file"], e["file"]) for e in entries]


def once(sources: list[Source], jobs: int, lang: str, dryrun: bool) -> tuple[float, list[Summary]]:
    with tempfile.TemporaryDirectory(prefix="opsgen-bench-") as tmp:
        files = OutputFiles(None, Path(tmp) / "reports")
        files.start()
        with Store.open(Workspace(Path(tmp) / "ws"), create=True) as store:
            start = time.perf_counter()
            rows = run_batch(
                sources,
                BatchOptions(lang=lang, jobs=jobs, dryrun=dryrun),
                store=store,
                checks=SandboxChecks(timeout=60),
                ledger=Ledger(Path(tmp) / "ledger.jsonl"),
                files=files,
            )
            return time.perf_counter() - start, rows


def shares(rows: list[Summary]) -> dict[str, str]:
    total = len(rows)
    converted = [r for r in rows if r.status == "converted"]
    ran = [r for r in converted if r.dryrun != "not run"]

    def pct(n: int, of: int) -> str:
        return f"{n}/{of} ({100 * n / of:.0f}%)" if of else "0/0"

    verdicts: dict[str, int] = {}
    for r in ran:
        verdicts[r.dryrun] = verdicts.get(r.dryrun, 0) + 1
    return {
        "converted (a change was stored)": pct(len(converted), total),
        "nothing to run (no commands)": pct(sum(r.status == "no-commands" for r in rows), total),
        "failed": pct(sum(r.status == "failed" for r in rows), total),
        "lint-clean (no error or warning)": pct(sum(r.lint_clean for r in converted), total),
        "no error-level finding": pct(sum(r.errors == 0 for r in converted), total),
        "dry-run passed": pct(sum(r.dryrun == "passed" for r in ran), total),
        "dry-run passed and idempotent": pct(
            sum(r.dryrun == "passed" and r.idempotent is True for r in ran), total
        ),
        "dry-run verdicts": json.dumps(dict(sorted(verdicts.items()))),
        "manual steps left (all runbooks)": str(sum(r.manual_count for r in rows)),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--lang", choices=("bash", "ansible"), default="bash")
    parser.add_argument("--no-dryrun", action="store_true")
    args = parser.parse_args()
    sources = corpus()
    rates: dict[int, list[float]] = {}
    stage_times: dict[int, dict[str, list[float]]] = {}
    last: list[Summary] = []
    for jobs in (1, 2):
        for _ in range(args.repeats):
            seconds, rows = once(sources, jobs, args.lang, not args.no_dryrun)
            rates.setdefault(jobs, []).append(60 * len(rows) / seconds)
            for row in rows:
                for stage, value in row.stages.items():
                    stage_times.setdefault(jobs, {}).setdefault(stage, []).append(value)
            last = rows
            print(f"jobs {jobs}: {len(rows)} runbooks in {seconds:.1f} s", file=sys.stderr)
    print(f"corpus: {len(sources)} runbooks, lang {args.lang}, dry-run {not args.no_dryrun},"
          f" {args.repeats} repeats per setting (medians)")  # fmt: skip
    print("| setting | runbooks/minute | ratio to --jobs 1 |")
    print("|---|---|---|")
    base = statistics.median(rates[1])
    for jobs in (1, 2):
        rate = statistics.median(rates[jobs])
        print(f"| --jobs {jobs} | {rate:.1f} | {rate / base:.2f}x |")
    print("\nper-runbook stage medians (s):")
    for jobs in (1, 2):
        cells = ", ".join(f"{k} {statistics.median(v):.2f}" for k, v in stage_times[jobs].items())
        print(f"  --jobs {jobs}: {cells}")
    print("\noutcome (last run; the conversion is deterministic):")
    for name, value in shares(last).items():
        print(f"  {name}: {value}")


if __name__ == "__main__":
    main()
