"""Runbook conversion throughput on the 26-runbook corpus, at ``--jobs 1`` and ``--jobs 2``.

Each repeat converts the whole corpus (read in place from ../shared/bench/runbooks) into a
fresh workspace: parse, transcribe, lint (shellcheck + our rules, or ansible-lint), dry-run
twice in the sandbox, store. Prints runbooks per minute (median of the repeats), the
jobs-2/jobs-1 ratio, per-stage medians, and the share of runbooks whose script came out
lint-clean and dry-run-clean (issue 6), the runbooks whose playbook still has a shell task
where a module exists (OPS201, issue 11), and the runbooks whose own verification steps became
scenario checks, with how those checks fared in the dry-run (issue 16).

    .venv/bin/python bench/convert_bench.py [--repeats 3] [--lang bash] [--no-dryrun] [--jobs 1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "bench" / "runbooks"
sys.path.insert(0, str(ROOT))

from opsgen.flow.checks import SandboxChecks  # noqa: E402
from opsgen.runbook.batch import BatchOptions, Source, run_batch  # noqa: E402
from opsgen.runbook.ledger import Ledger  # noqa: E402
from opsgen.runbook.output import OutputFiles  # noqa: E402
from opsgen.runbook.summary import Summary  # noqa: E402
from opsgen.store.evidence import Evidence  # noqa: E402
from opsgen.store.repo import Store  # noqa: E402
from opsgen.store.workspace import Workspace  # noqa: E402


@dataclass
class CountingChecks(SandboxChecks):
    """The real checks, also counting finding codes per playbook and the scenario checks each
    dry-run was given (the batch's rows keep only the first findings)."""

    codes: dict[str, Counter[str]] = field(default_factory=dict)
    scenario_checks: dict[int, int] = field(default_factory=dict)
    check_results: Counter[str] = field(default_factory=Counter)

    def lint(self, script: str, lang: str, path: str, *, request: str, source: str) -> Any:
        found = super().lint(script, lang, path, request=request, source=source)
        self.codes[path] = Counter(f.code for f in found if not f.suppressed)
        return found

    def dryrun(self, script: str, lang: str, findings: Any, progress: Any, **kw: Any) -> Evidence:
        scenario = kw.get("scenario")
        if scenario is not None:
            self.scenario_checks[hash(script)] = len(scenario.checks)
        evidence = super().dryrun(script, lang, findings, progress, **kw)
        for check in (evidence.dryrun or {}).get("checks", ()):
            verdict = "passed" if check.get("passed") else "failed"
            self.check_results[f"{verdict}{' (vacuous)' if check.get('vacuous') else ''}"] += 1
        return evidence


def corpus() -> list[Source]:
    entries = json.loads((CORPUS / "MANIFEST.json").read_text(encoding="utf-8"))
    return [Source(CORPUS / e["file"], e["file"]) for e in entries]


def once(
    sources: list[Source], jobs: int, lang: str, dryrun: bool, checks: SandboxChecks
) -> tuple[float, list[Summary]]:
    with tempfile.TemporaryDirectory(prefix="opsgen-bench-") as tmp:
        files = OutputFiles(None, Path(tmp) / "reports")
        files.start()
        with Store.open(Workspace(Path(tmp) / "ws"), create=True) as store:
            start = time.perf_counter()
            rows = run_batch(
                sources,
                BatchOptions(lang=lang, jobs=jobs, dryrun=dryrun),
                store=store,
                checks=checks,
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
    parser.add_argument(
        "--jobs",
        type=int,
        choices=(1, 2),
        action="append",
        help="only this setting (repeatable; default: 1 and 2)",
    )
    args = parser.parse_args()
    settings = tuple(args.jobs or (1, 2))
    sources = corpus()
    rates: dict[int, list[float]] = {}
    stage_times: dict[int, dict[str, list[float]]] = {}
    last: list[Summary] = []
    checks = CountingChecks(timeout=60)
    for jobs in settings:
        for _ in range(args.repeats):
            seconds, rows = once(sources, jobs, args.lang, not args.no_dryrun, checks)
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
    base = statistics.median(rates[settings[0]])
    for jobs in settings:
        rate = statistics.median(rates[jobs])
        print(f"| --jobs {jobs} | {rate:.1f} | {rate / base:.2f}x |")
    print("\nper-runbook stage medians (s):")
    for jobs in settings:
        cells = ", ".join(f"{k} {statistics.median(v):.2f}" for k, v in stage_times[jobs].items())
        print(f"  --jobs {jobs}: {cells}")
    print("\noutcome (last run; the conversion is deterministic):")
    for name, value in shares(last).items():
        print(f"  {name}: {value}")
    for name, value in extra_counts(checks).items():
        print(f"  {name}: {value}")


def extra_counts(checks: CountingChecks) -> dict[str, str]:
    """OPS201 (issue 11) and the runbooks' own checks (issue 16), from the last repeat."""
    ops201 = [c["OPS201"] for c in checks.codes.values() if c["OPS201"]]
    given = list(checks.scenario_checks.values())
    module_line = f"{len(ops201)}/{len(checks.codes)}, {sum(ops201)} findings"
    checks_line = f"{sum(n > 0 for n in given)}, {sum(given)} checks"
    return {
        "playbooks/scripts with OPS201 (shell where a module exists)": module_line,
        "runbooks with their own checks (given to the dry-run)": checks_line,
        "their results (all repeats)": json.dumps(dict(sorted(checks.check_results.items()))),
    }


if __name__ == "__main__":
    main()
