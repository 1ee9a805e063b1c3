"""One-line descriptions of an observed system diff, from the stored JSON.

Used to compare the system diffs of two revisions (a set difference of these lines) and
to list them in the HTML page. Lines are plain, *unescaped* text: callers escape for their
medium (terminal sanitiser or ``html.escape``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["diff_items", "report_summary"]


def diff_items(diff: dict[str, Any] | None) -> list[str]:
    """Every change in a ``SystemDiff`` dict as a stable, comparable line."""
    if not diff:
        return []
    items: list[str] = []
    for f in diff.get("files", ()):
        meta = f.get("after") or f.get("before") or {}
        notes = ", ".join(f.get("notes", ()))
        content = f"sha256 {meta['sha256'][:12]}" if meta.get("sha256") else meta.get("ftype", "")
        detail = "; ".join(x for x in (notes, content) if x)
        items.append(f"file {f['change']} {f['path']}" + (f" [{detail}]" if detail else ""))
    for kind in ("users", "groups"):
        for a in diff.get(kind, ()):
            details = ", ".join(f"{k}={v}" for k, v in sorted(a.get("details", {}).items()))
            items.append(
                f"{kind[:-1]} {a['change']} {a['name']}" + (f" [{details}]" if details else "")
            )
    for p in diff.get("packages", ()):
        versions = " -> ".join(v for v in (p.get("before", ""), p.get("after", "")) if v)
        items.append(f"package {p['change']} {p['name']} {versions}".rstrip())
    for c in diff.get("cron", ()):
        items += [f"cron {c['path']}: + {line}" for line in c.get("added", ())]
        items += [f"cron {c['path']}: - {line}" for line in c.get("removed", ())]
    for s in diff.get("services", ()):
        items.append(
            f"service: would {s['action']} {s.get('unit', '')}".rstrip() + f" ({s['tool']})"
        )
    return items


def report_summary(report: dict[str, Any] | None, skipped: str = "") -> str:
    """One line: how the dry-run went (``passed, idempotent``, ``failed: exit 2``...)."""
    if report is None:
        return f"not run ({skipped})" if skipped else "not run"
    runs = report.get("runs") or []
    bad = [r for r in runs if r.get("status") != "passed"]
    if bad:
        first = bad[0]
        why = first.get("stop_reason") or f"exit {first.get('exit_code')}"
        verdict = f"{first.get('status')}: {why}"
    else:
        verdict = "passed"
    idem = report.get("idempotent")
    if idem is not None:
        verdict += ", idempotent" if idem else ", NOT idempotent"
    if report.get("scenario") is not None and report.get("verdict"):
        verdict += f"; scenario: {report['verdict']}"  # issue 16: does it do what was asked
    return verdict
