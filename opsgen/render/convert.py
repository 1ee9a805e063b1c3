"""The batch report: a terminal table, ``report.json`` and a self-contained ``report.html``.

All three are built from the same :class:`~opsgen.runbook.summary.Summary` rows. Every
string in them that came from a runbook (paths, titles, parameter names, findings, manual
steps) is untrusted: the table gets it through :func:`opsgen.ui.safe`, the HTML through
:func:`html.escape` (no script, no external resource, a strict Content-Security-Policy), and
the JSON through :mod:`json` with ``ensure_ascii`` so no raw control character survives.
"""

from __future__ import annotations

import html
import json
import statistics
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from opsgen.runbook.summary import Summary
from opsgen.ui import safe, sanitize

__all__ = ["render_table", "totals", "write_reports"]

_STATUS_STYLE = {"converted": "green", "no-commands": "yellow", "failed": "red",
                 "skipped": "cyan"}  # fmt: skip
_DRYRUN_STYLE = {"passed": "green", "failed": "red", "killed": "red",
                 "needs parameters": "yellow"}  # fmt: skip


def totals(rows: Sequence[Summary]) -> dict[str, Any]:
    """Batch-wide counts: how many converted, clean, failed; the time per runbook."""
    converted = [r for r in rows if r.status in ("converted", "skipped")]
    dry = [r for r in converted if r.dryrun != "not run"]
    times = [r.seconds for r in rows if r.status != "skipped"]
    return {
        "runbooks": len(rows),
        "by_status": {s: sum(1 for r in rows if r.status == s) for s in _STATUS_STYLE},
        "lint_clean": sum(1 for r in converted if r.lint_clean),
        "dryrun_passed": sum(1 for r in dry if r.dryrun == "passed"),
        "dryrun_run": len(dry),
        "idempotent": sum(1 for r in dry if r.idempotent),
        "manual_steps": sum(r.manual_count for r in rows),
        "error_findings": sum(r.errors for r in rows),
        "seconds_median": round(statistics.median(times), 3) if times else 0.0,
        "seconds_total": round(sum(times), 3),
    }


def render_table(rows: Sequence[Summary], console: Console) -> None:
    """Print one row per runbook and the totals; details are in report.json/html.

    Below 100 columns (a pipe, a narrow terminal) the ten columns cannot fit, so each
    runbook gets two lines instead: its path, then the same fields as ``name value`` pairs.
    """
    if console.width >= 100:
        table = Table(title="Runbook conversion", highlight=False, box=box.SIMPLE_HEAD)
        for name, right in _COLUMNS:
            table.add_column(name, justify="right" if right else "left",
                             no_wrap=name != "runbook", overflow="fold")  # fmt: skip
        for row in rows:
            table.add_row(*_cells(row))
        console.print(table)
    else:
        for row in rows:
            cells = _cells(row)
            pairs = " · ".join(
                f"{n} {c}" for (n, _), c in zip(_COLUMNS[2:], cells[2:], strict=True)
            )
            console.print(f"{cells[0]}\n  {cells[1]} · {pairs}", soft_wrap=True)
    t = totals(rows)
    by = t["by_status"]
    console.print(
        f"{t['runbooks']} runbooks: {by['converted']} converted, {by['skipped']} unchanged"
        f" (--resume), {by['no-commands']} with nothing to run, {by['failed']} failed; "
        f"{t['lint_clean']} lint-clean, {t['dryrun_passed']}/{t['dryrun_run']} dry-runs passed,"
        f" {t['manual_steps']} manual steps left"
    )
    for row in rows:
        for text in (row.message if row.status == "failed" else "", *row.warnings):
            if text:
                console.print(f"  {safe(row.path)}: {safe(text)}", soft_wrap=True)


_COLUMNS = (("runbook", False), ("status", False), ("steps", True), ("params", True),
            ("E/W/I/S", True), ("dry-run", False), ("idempotent", False), ("manual", True),
            ("time", True), ("change", True))  # fmt: skip


def _cells(row: Summary) -> list[str]:
    style = _STATUS_STYLE.get(row.status, "")
    f = row.findings
    counts = "/".join(str(f.get(k, 0)) for k in ("error", "warning", "info", "style"))
    dry = _DRYRUN_STYLE.get(row.dryrun, "")
    idem = {True: "yes", False: "[yellow]no[/]", None: "-"}[row.idempotent]
    return [
        safe(row.path),
        f"[{style}]{row.status}[/]" if style else row.status,
        str(row.steps),
        str(len(row.parameters)),
        counts if row.status in ("converted", "skipped") else "-",
        f"[{dry}]{safe(row.dryrun)}[/]" if dry else safe(row.dryrun),
        idem,
        str(row.manual_count),
        f"{row.seconds:.1f}s",
        str(row.change_id) if row.change_id is not None else "-",
    ]


def write_reports(rows: Sequence[Summary], folder: Path, meta: dict[str, Any]) -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.html`` into ``folder``; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    document = {
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        **meta,
        "totals": totals(rows),
        "runbooks": [r.to_dict() for r in rows],
    }
    json_path = folder / "report.json"
    json_path.write_text(json.dumps(document, indent=2, ensure_ascii=True) + "\n", "utf-8")
    html_path = folder / "report.html"
    html_path.write_text(_html(document), "utf-8")
    return json_path, html_path


def _e(value: object) -> str:
    # sanitize first: controls become visible escapes, secrets are redacted; then HTML.
    return html.escape(sanitize(str(value)), quote=True)


_CSS = """body{font:14px system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:4px 6px;
vertical-align:top;text-align:left}th{background:#f3f3f3}.converted{color:#17692b}
.failed,.error{color:#b00020}.no-commands,.warning{color:#8a6d00}.skipped{color:#0b5c8a}
details{margin:.2em 0}code{background:#f6f6f6;padding:0 2px;white-space:pre-wrap}"""


def _html(doc: dict[str, Any]) -> str:
    t = doc["totals"]
    rows = "\n".join(_html_row(r) for r in doc["runbooks"])
    by = t["by_status"]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>opsgen runbook conversion</title><style>{_CSS}</style></head><body>
<h1>Runbook conversion</h1>
<p>{_e(doc.get("generated", ""))} &middot; language {_e(doc.get("lang", ""))} &middot;
{_e(t["runbooks"])} runbooks: {_e(by["converted"])} converted, {_e(by["skipped"])} unchanged,
{_e(by["no-commands"])} with nothing to run, {_e(by["failed"])} failed &middot;
{_e(t["lint_clean"])} lint-clean &middot; {_e(t["dryrun_passed"])}/{_e(t["dryrun_run"])}
dry-runs passed &middot; {_e(t["manual_steps"])} manual steps left</p>
<table><thead><tr><th>runbook</th><th>status</th><th>steps</th><th>parameters</th>
<th>findings (error/warning/info/style)</th><th>dry-run</th><th>idempotent</th>
<th>manual steps left</th><th>time</th><th>change</th></tr></thead>
<tbody>
{rows}
</tbody></table></body></html>
"""


def _html_row(r: dict[str, Any]) -> str:
    f = r.get("findings") or {}
    counts = "/".join(_e(f.get(k, 0)) for k in ("error", "warning", "info", "style"))
    findings = "".join(
        f'<li class="{_e(x["severity"])}"><code>{_e(x["code"])}</code> line {_e(x["line"])}: '
        f"{_e(x['message'])}</li>"
        for x in r.get("top_findings") or ()
    )
    manual = "".join(
        f"<li>step {_e(m['step'])}, line {_e(m['line'])}: {_e(m['text'])} "
        f"<em>({_e(m['reason'])})</em></li>"
        for m in r.get("manual") or ()
    )
    idem = {True: "yes", False: "no", None: "-"}[r.get("idempotent")]
    message = f"<br><small>{_e(r['message'])}</small>" if r.get("message") else ""
    return (
        f"<tr><td><code>{_e(r['path'])}</code><br>{_e(r.get('title', ''))}</td>"
        f'<td class="{_e(r["status"])}">{_e(r["status"])}{message}</td>'
        f"<td>{_e(r.get('steps', 0))}</td>"
        f"<td>{_e(', '.join(r.get('parameters') or ()) or '-')}</td>"
        f"<td>{counts}{_details('findings', findings)}</td>"
        f"<td>{_e(r.get('dryrun', ''))}<br><small>{_e(r.get('dryrun_note', ''))}</small></td>"
        f"<td>{idem}</td>"
        f"<td>{_e(r.get('manual_count', 0))}{_details('steps', manual)}</td>"
        f"<td>{_e(r.get('seconds', 0))} s</td>"
        f"<td>{_e(r.get('change_id') if r.get('change_id') is not None else '-')}</td></tr>"
    )


def _details(label: str, items: str) -> str:
    return f"<details><summary>{label}</summary><ul>{items}</ul></details>" if items else ""
