"""Live progress on stderr: a row per runbook in flight showing its stage, plus the total.

Rows appear when a runbook starts and disappear when it is done; the outcome is printed
above the live display as one line, so a 100-runbook batch leaves a readable log and the
live area stays as tall as ``--jobs``. Runbook names are untrusted and pass through
:func:`opsgen.ui.safe`. Worker threads call :meth:`RichEvents.stage`; rich's progress is
thread-safe.
"""

from __future__ import annotations

import threading
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from opsgen.runbook.batch import STAGES, Source
from opsgen.runbook.summary import Summary
from opsgen.ui import safe

__all__ = ["RichEvents"]

_MARK = {"converted": "[green]ok[/]", "no-commands": "[yellow]--[/]", "failed": "[red]!![/]",
         "skipped": "[cyan]==[/]"}  # fmt: skip


class RichEvents:
    """Batch events drawn with rich; use as a context manager around the batch."""

    def __init__(self, console: Console, total: int) -> None:
        self.console = console
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(bar_width=20),
            MofNCompleteColumn(),
            TextColumn("{task.fields[stage]}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.overall = self.progress.add_task("runbooks", total=total, stage="")
        self.rows: dict[str, TaskID] = {}
        self.done: list[Summary] = []  # for a partial report after Ctrl-C
        self.lock = threading.Lock()

    def __enter__(self) -> RichEvents:
        self.progress.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.progress.stop()

    def started(self, source: Source) -> None:
        """Add a row for the runbook."""
        with self.lock:
            name = safe(source.display[-48:])
            self.rows[source.display] = self.progress.add_task(
                f"  {name}", total=len(STAGES), stage="queued"
            )

    def stage(self, source: Source, stage: str) -> None:
        """Move the runbook's row to ``stage``."""
        with self.lock:
            task = self.rows.get(source.display)
        if task is None:
            return
        main = stage.split(":", 1)[0]
        done = STAGES.index(main) if main in STAGES else None
        self.progress.update(task, stage=safe(stage), completed=done)

    def stopping(self, running: int) -> None:
        """Say why Ctrl-C takes a moment: running dry-runs finish and clean up."""
        self.progress.console.print(
            f"stopping: waiting for {running} running runbook(s) to finish; their sandbox"
            " containers are removed"
        )

    def finished(self, summary: Summary) -> None:
        """Drop the row; print the outcome above the live display."""
        with self.lock:
            task = self.rows.pop(summary.path, None)
            self.done.append(summary)
        if task is not None:
            self.progress.remove_task(task)
        self.progress.advance(self.overall)
        detail = _detail(summary)
        self.progress.console.print(
            f"{_MARK.get(summary.status, '')} {safe(summary.path)}: {detail}", soft_wrap=True
        )


def _detail(s: Summary) -> str:
    if s.status in ("failed", "no-commands", "skipped"):
        return f"{s.status}: {safe(s.message)}"
    params = f", {len(s.parameters)} parameters" if s.parameters else ""
    return (
        f"change {s.change_id}, {s.steps} steps, {s.commands} commands{params}, "
        f"{s.errors} errors, dry-run {safe(s.dryrun)}, {s.manual_count} manual, {s.seconds:.1f}s"
    )
