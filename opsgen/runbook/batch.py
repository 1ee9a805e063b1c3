"""The batch pipeline: many runbooks, in parallel, each one to a stored, checked change.

Stages are declared data (:data:`STAGES`, the flow's
:data:`~opsgen.flow.sequences.CONVERT`), as Molecule declares its sequence. Each runbook
runs ``read -> parse -> convert -> lint -> dry-run`` in a worker thread (the slow stages
wait on subprocesses and the Docker engine, so threads overlap them well, and each dry-run
has its own container with the sandbox's own limits); the main thread alone writes the
store, the files and the resume ledger (``store``), one runbook at a time.

Failures stay inside their runbook: an unreadable file, a conversion bug or a sandbox that
cannot start becomes that runbook's report row and the batch goes on. Memory is bounded:
at most ``2 * jobs`` runbooks are in flight, and once a runbook is stored only its small
:class:`~opsgen.runbook.summary.Summary` is kept.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import PurePath
from typing import Protocol

from opsgen.errors import InputError, OpsError
from opsgen.flow.checks import Checks
from opsgen.flow.record import record_change
from opsgen.flow.sequences import CONVERT
from opsgen.names import slug
from opsgen.runbook.convert import Conversion, Generator, convert_runbook
from opsgen.runbook.ledger import Ledger, ledger_key
from opsgen.runbook.output import OutputFiles
from opsgen.runbook.parse import parse_runbook, read_runbook
from opsgen.runbook.sources import Source, discover
from opsgen.runbook.summary import (
    MAX_LISTED,
    Summary,
    dryrun_verdict,
    severity_counts,
    top_findings,
)
from opsgen.runbook.text import one_line
from opsgen.store.evidence import Evidence
from opsgen.store.repo import Store

__all__ = ["STAGES", "BatchOptions", "Events", "NoEvents", "Source", "discover", "run_batch"]

STAGES: tuple[str, ...] = CONVERT


@dataclass(frozen=True, slots=True)
class BatchOptions:
    """How to run a batch.

    Attributes:
        lang: ``bash`` or ``ansible``.
        jobs: runbooks processed at the same time.
        dryrun: dry-run each script in the sandbox (``--no-dryrun`` turns it off).
        resume: skip runbooks whose input hash is already converted in this workspace.
        author: recorded as the author of the changes.
        generate: writes commands for prose-only steps (``--generate``); None: never.
        generate_id: names the model, part of the resume key.
    """

    lang: str = "bash"
    jobs: int = 2
    dryrun: bool = True
    resume: bool = False
    author: str = "opsgen"
    generate: Generator | None = None
    generate_id: str = ""


class Events(Protocol):
    """Progress hooks; called from worker threads (``stage``) and the main thread."""

    def started(self, source: Source) -> None:
        """A runbook enters the pipeline."""

    def stage(self, source: Source, stage: str) -> None:
        """A runbook reaches one of :data:`STAGES` (or a dry-run sub-stage)."""

    def finished(self, summary: Summary) -> None:
        """A runbook is done, whatever its status."""

    def stopping(self, running: int) -> None:
        """The batch was interrupted; ``running`` runbooks are finishing their dry-runs."""


class NoEvents:
    """Events that do nothing (tests, ``--json``)."""

    def started(self, source: Source) -> None:
        """Ignore."""

    def stage(self, source: Source, stage: str) -> None:
        """Ignore."""

    def finished(self, summary: Summary) -> None:
        """Ignore."""

    def stopping(self, running: int) -> None:
        """Ignore."""


@dataclass
class _Outcome:
    """A worker's result, alive only until the main thread has stored it."""

    summary: Summary
    conversion: Conversion | None = None
    evidence: Evidence | None = None
    key: str = ""


@dataclass
class _Timer:
    stages: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.stages[name] = round(time.perf_counter() - start, 3)


def run_batch(
    sources: Sequence[Source],
    options: BatchOptions,
    *,
    store: Store,
    checks: Checks,
    ledger: Ledger,
    files: OutputFiles,
    events: Events | None = None,
) -> list[Summary]:
    """Convert ``sources``; returns one summary per runbook, in the order given."""
    hooks = events or NoEvents()
    results: dict[str, Summary] = {}
    queue = iter(sources)
    jobs = max(1, options.jobs)
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="opsgen-convert") as pool:
        pending: dict[Future[_Outcome], Source] = {}

        def refill() -> None:
            while len(pending) < 2 * jobs:
                source = next(queue, None)
                if source is None:
                    return
                hooks.started(source)
                work = pool.submit(_work, source, options, checks, ledger, hooks.stage)
                pending[work] = source

        try:
            refill()
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    source = pending.pop(future)
                    summary = _store(source, future.result(), options, store, ledger, files,
                                     hooks.stage)  # fmt: skip
                    files.append_result(summary)
                    results[source.display] = summary
                    hooks.finished(summary)
                refill()
        except BaseException:
            running = [f for f in pending if not f.cancel()]  # queued ones never start
            if running:
                hooks.stopping(len(running))  # their dry-runs finish and remove containers
            raise
    return [results[s.display] for s in sources if s.display in results]


def _work(
    source: Source,
    options: BatchOptions,
    checks: Checks,
    ledger: Ledger,
    stage: Callable[[Source, str], None],
) -> _Outcome:
    """Everything but storing, for one runbook; never raises for a bad runbook."""
    timer = _Timer()
    start = time.perf_counter()
    sha = ""
    try:
        stage(source, "read")
        with timer("read"):
            text = read_runbook(source.path)
        sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
        key = ledger_key(sha, options.lang, options.generate_id)
        earlier = ledger.get(key) if options.resume else None
        if earlier is not None:
            note = f"unchanged since it became change {earlier.change_id}"
            return _Outcome(replace(earlier, status="skipped", message=note, seconds=0.0,
                                    path=source.display, stages={}))  # fmt: skip
        outcome = _convert(source, text, sha, options, checks, timer, stage)
        outcome.key = key
    except InputError as exc:
        outcome = _Outcome(Summary(source.display, "failed", message=exc.message, sha256=sha))
    except OpsError as exc:
        outcome = _Outcome(Summary(source.display, "failed", message=exc.message, sha256=sha))
    except Exception as exc:  # a converter bug must not stop the other runbooks
        message = f"internal error: {type(exc).__name__}: {exc}"
        outcome = _Outcome(Summary(source.display, "failed", message=message, sha256=sha))
    seconds = round(time.perf_counter() - start, 3)
    outcome.summary = replace(outcome.summary, seconds=seconds, stages=dict(timer.stages))
    return outcome


def _convert(
    source: Source,
    text: str,
    sha: str,
    options: BatchOptions,
    checks: Checks,
    timer: _Timer,
    stage: Callable[[Source, str], None],
) -> _Outcome:
    stage(source, "parse")
    with timer("parse"):
        runbook = parse_runbook(text, source.display)
    stage(source, "convert")
    with timer("convert"):
        conversion = convert_runbook(runbook, options.lang, source_sha256=sha,
                                     generate=options.generate)  # fmt: skip
    plan = conversion.plan
    base = Summary(
        path=source.display,
        status="converted",
        title=runbook.title,
        sha256=sha,
        lang=options.lang,
        steps=plan.steps_found,
        commands=plan.commands,
        parameters=tuple(p.name for p in plan.parameters),
        manual=tuple(m.to_dict() for m in plan.manual[:MAX_LISTED]),
        manual_count=len(plan.manual),
        warnings=plan.warnings,
    )
    if not plan.runnable:
        message = "no shell commands to convert: nothing to review"
        return _Outcome(replace(base, status="no-commands", message=message))
    stage(source, "lint")
    request = request_text(source.display, runbook.title, sha)
    with timer("lint"):
        findings = checks.lint(conversion.script, options.lang, PurePath(source.display).name,
                               request=request, source=text)  # fmt: skip
    if options.dryrun:
        stage(source, "dry-run")
        with timer("dry-run"):
            evidence = checks.dryrun(conversion.script, options.lang, findings,
                                     lambda sub: stage(source, f"dry-run: {sub}"),
                                     scenario=conversion.scenario)  # fmt: skip
    else:
        evidence = Evidence(findings, None, "", "dry-run not requested (--no-dryrun)")
    verdict, note = dryrun_verdict(evidence)
    summary = replace(
        base,
        findings=severity_counts(evidence.all_findings),
        lint_findings=severity_counts(evidence.findings),
        top_findings=top_findings(evidence),
        dryrun=verdict,
        dryrun_note=note,
        idempotent=evidence.idempotent,
    )
    return _Outcome(summary, conversion, evidence)


def request_text(display: str, title: str, sha: str) -> str:
    """The change's request: where it came from, for reviewers and the audit log."""
    return f"Converted from the runbook {one_line(display, 200)} ({one_line(title, 120)}), " + (
        f"sha256 {sha[:16]}"
    )


def _store(
    source: Source,
    outcome: _Outcome,
    options: BatchOptions,
    store: Store,
    ledger: Ledger,
    files: OutputFiles,
    stage: Callable[[Source, str], None],
) -> Summary:
    """Main thread: write the change, its evidence, the script file and the ledger entry."""
    summary = outcome.summary
    if outcome.conversion is None or outcome.evidence is None:
        return summary
    stage(source, "store")
    start = time.perf_counter()
    try:
        change, _revision, _record = record_change(
            store,
            outcome.conversion.script,
            lang=options.lang,
            name=slug(source.display),
            request=request_text(source.display, summary.title, summary.sha256),
            image="",
            author=options.author,
            evidence=outcome.evidence,
            source="convert",
        )
        script_file = files.write_script(source.display, options.lang, outcome.conversion.script)
    except OpsError as exc:
        return replace(summary, status="failed", message=f"could not store: {exc.message}")
    stages = {**summary.stages, "store": round(time.perf_counter() - start, 3)}
    summary = replace(summary, change_id=change.id, script_file=script_file, stages=stages,
                      seconds=round(summary.seconds + stages["store"], 3))  # fmt: skip
    ledger.record(outcome.key, summary)
    return summary
