"""``opsgen diff``: what changed between two revisions, in the script and in the sandbox.

Two views: the unified diff of the script text, and the *difference of the system diffs*:
which observed changes (files, users, packages, services, cron) appear only in one
revision's dry-run. The second answers "what does my edit change on the machine?".

The script diff compares the exact lines but shows their redacted form: each revision is
redacted whole first (a hunk in the middle of a private key has no BEGIN line of its own
to be recognised by), so a rotated secret still shows as a changed line, never in clear.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from opsgen.errors import InputError
from opsgen.redact import redact
from opsgen.review.data import script_lines
from opsgen.review.sysdiff import diff_items, report_summary
from opsgen.store.models import Revision
from opsgen.store.repo import Store

__all__ = ["RevisionDiff", "compare_revisions"]


@dataclass(frozen=True, slots=True)
class RevisionDiff:
    """Script diff plus system-diff and finding deltas between revisions ``a`` and ``b``."""

    change_id: int
    a: Revision
    b: Revision
    script_diff: tuple[str, ...]
    system_only_a: tuple[str, ...]
    system_only_b: tuple[str, ...]
    dryrun_a: str
    dryrun_b: str
    findings_fixed: tuple[str, ...]
    findings_new: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``diff --json`` (the caller redacts)."""
        return {
            "change": self.change_id,
            "a": {"revision": self.a.number, "sha256": self.a.sha256, "dryrun": self.dryrun_a},
            "b": {"revision": self.b.number, "sha256": self.b.sha256, "dryrun": self.dryrun_b},
            "script_diff": list(self.script_diff),
            "system_diff": {"only_a": list(self.system_only_a), "only_b": list(self.system_only_b)},
            "findings": {"fixed": list(self.findings_fixed), "new": list(self.findings_new)},
        }


def compare_revisions(
    store: Store, change_id: int, a: int | None = None, b: int | None = None
) -> RevisionDiff:
    """Compare revisions ``a`` and ``b``; defaults: the previous and the current revision."""
    current = store.revision(change_id)
    b = current.number if b is None else b
    a = b - 1 if a is None else a
    if a < 1:
        raise InputError(
            f"change {change_id} has only one revision; nothing to compare",
            reference="no-such-revision",
        )
    rev_a, rev_b = store.revision(change_id, a), store.revision(change_id, b)
    ev_a, ev_b = store.latest_evidence(rev_a.id), store.latest_evidence(rev_b.id)
    items_a = _system(ev_a.evidence.dryrun if ev_a else None)
    items_b = _system(ev_b.evidence.dryrun if ev_b else None)
    found_a = _findings(ev_a.evidence.all_findings if ev_a else ())
    found_b = _findings(ev_b.evidence.all_findings if ev_b else ())
    script = _unified(rev_a.script, rev_b.script, f"revision {a}", f"revision {b}")
    return RevisionDiff(
        change_id,
        rev_a,
        rev_b,
        tuple(script),
        tuple(i for i in items_a if i not in items_b),
        tuple(i for i in items_b if i not in items_a),
        _summary(ev_a),
        _summary(ev_b),
        tuple(f for f in found_a if f not in found_b),
        tuple(f for f in found_b if f not in found_a),
    )


def _unified(text_a: str, text_b: str, name_a: str, name_b: str) -> list[str]:
    """``difflib.unified_diff`` of the exact lines, printing their redacted form."""
    raw_a, raw_b = script_lines(text_a), script_lines(text_b)
    shown_a = script_lines(redact(text_a, scan=True))
    shown_b = script_lines(redact(text_b, scan=True))
    out: list[str] = []
    for group in difflib.SequenceMatcher(None, raw_a, raw_b).get_grouped_opcodes(3):
        if not out:
            out += [f"--- {name_a}", f"+++ {name_b}"]
        first, last = group[0], group[-1]
        out.append(f"@@ -{_range(first[1], last[2])} +{_range(first[3], last[4])} @@")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out += [" " + line for line in shown_a[i1:i2]]
                continue
            if tag in ("replace", "delete"):
                out += ["-" + line for line in shown_a[i1:i2]]
            if tag in ("replace", "insert"):
                out += ["+" + line for line in shown_b[j1:j2]]
    return out


def _range(start: int, stop: int) -> str:
    """A unified-diff range, as difflib writes it."""
    length = stop - start
    first = start + 1 if length else start
    return str(first) if length == 1 else f"{first},{length}"


def _system(report: dict[str, Any] | None) -> list[str]:
    if not report:
        return []
    first = diff_items(report.get("diff"))
    second = diff_items(report.get("second_diff"))
    return first + [f"second run: {i}" for i in second]


def _findings(findings: Any) -> list[str]:
    # Compared without line numbers: an edit above a finding must not make it "new".
    return sorted({f"{f.severity.value} {f.code}: {f.message}" for f in findings})


def _summary(record: Any) -> str:
    if record is None:
        return "no evidence"
    return report_summary(record.evidence.dryrun, record.evidence.dryrun_skipped)
