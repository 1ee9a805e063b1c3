"""``opsgen show ID --html FILE``: one self-contained review page.

No scripts, no external assets: inline CSS only, and a Content-Security-Policy that
forbids everything else, so the page renders the same offline and a string that escaped
our escaping still could not load or run anything. Every untrusted string is sanitised
(controls shown as ``\\x1b``, bidi overrides and line separators made visible, secrets
redacted) and then ``html.escape``d. Multi-line texts (request, script, run output, diffs)
are redacted whole before they are split into lines, so a private key's body lines are
hidden too; run output and diffs sit in a framed ``pre.untrusted`` block.
"""

from __future__ import annotations

import html
from collections import defaultdict
from typing import Any

from opsgen.findings import Finding, sort_findings
from opsgen.redact import redact
from opsgen.review.data import Review, script_lines
from opsgen.review.sysdiff import diff_items, report_summary
from opsgen.ui import sanitize

__all__ = ["render_html"]

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:70rem;color:#1b1f23}
h1{font-size:1.4rem}h2{font-size:1.1rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
code,pre,.src td{font-family:ui-monospace,monospace;font-size:13px}
.meta td{padding:.1rem .8rem .1rem 0}.hash{word-break:break-all}
.src{border-collapse:collapse;width:100%}
.src td{padding:0 .5rem;white-space:pre-wrap;vertical-align:top}
.src .n{color:#888;text-align:right;user-select:none;width:1%}.src tr.bad td{background:#fdecea}
.f{padding:.1rem .5rem;margin:.1rem 0}.error{color:#b00020}.warning{color:#8a6d00}
.info{color:#055160}.style{color:#666}.status{font-weight:bold}
.add{color:#116329}.del{color:#b00020}pre{background:#f6f8fa;padding:.5rem;overflow:auto}
pre.untrusted{border-left:4px solid #d4a72c;white-space:pre-wrap;word-break:break-all}
"""


def _e(text: str, *, multiline: bool = False) -> str:
    return html.escape(sanitize(text, keep_newlines=multiline), quote=True)


def render_html(review: Review) -> str:
    """The complete HTML document for one revision's review."""
    c, r, state = review.change, review.revision, review.state
    ev = review.evidence
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
        "style-src 'unsafe-inline'\">",
        f"<title>opsgen review: change {c.id} {_e(c.name)}</title><style>{_CSS}</style>",
        "</head><body>",
        f"<h1>Change {c.id}: {_e(c.name)} <span class='status'>[{state.status}]</span></h1>",
        _meta(review),
        "<h2>Request</h2><pre class='untrusted'>"
        f"{_e(redact(c.request, scan=True), multiline=True)}</pre>",
        "<h2>Script</h2>",
        _script(redact(r.script, scan=True, lang=c.lang), ev.evidence.findings if ev else ()),
        "<h2>Dry-run</h2>",
        _dryrun(ev.evidence.dryrun if ev else None, ev.evidence.dryrun_skipped if ev else ""),
        "<h2>Sign-off</h2>",
        _signoff(review),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _meta(review: Review) -> str:
    c, r, state, ev = review.change, review.revision, review.state, review.evidence
    rows = [
        ("Language", c.lang),
        (
            "Revision",
            f"{r.number} of {review.revision_count}"
            + ("" if review.is_current else " (not the current revision)"),
        ),
        ("Author", f"{r.author} at {r.created_at}"),
        ("Script sha256", r.sha256 + ("" if r.intact else "  TAMPERED: bytes do not match")),
        ("Evidence sha256", ev.sha256 if ev else "none"),
        ("Image", (ev.evidence.image_id if ev else "") or c.image or "-"),
        ("Approvals", f"{len(state.approvers)} of {state.policy.require} required"),
    ]
    cells = "".join(f"<tr><td>{_e(k)}</td><td class='hash'>{_e(v)}</td></tr>" for k, v in rows)
    return f"<table class='meta'>{cells}</table>"


def _script(text: str, findings: tuple[Finding, ...]) -> str:
    lines = script_lines(text)
    by_line: dict[int, list[Finding]] = defaultdict(list)
    for f in sort_findings(list(findings)):
        by_line[f.location.line if 1 <= f.location.line <= len(lines) else 0].append(f)
    out = [_finding(f) for f in by_line[0]]
    out.append("<table class='src'>")
    for number, line in enumerate(lines, 1):
        bad = any(f.severity.value == "error" and not f.suppressed for f in by_line[number])
        notes = "".join(_finding(f) for f in by_line[number])
        out.append(
            f"<tr{' class=bad' if bad else ''}><td class='n'>{number}</td>"
            f"<td>{_e(line, multiline=True)}{notes}</td></tr>"
        )
    out.append("</table>")
    return "\n".join(out)


def _finding(f: Finding) -> str:
    hint = f"<br><small>hint: {_e(f.hint)}</small>" if f.hint else ""
    suppressed = f" (suppressed: {_e(f.suppression_reason)})" if f.suppressed else ""
    return (
        f"<div class='f {f.severity.value}'>{f.severity.value} <b>{_e(f.code)}</b> "
        f"{_e(f.message)}{suppressed}{hint}</div>"
    )


def _dryrun(report: dict[str, Any] | None, skipped: str) -> str:
    out = [f"<p>Verdict: <b>{_e(report_summary(report, skipped))}</b></p>"]
    if report is None:
        return out[0]
    for i, run in enumerate(report.get("runs", ()), 1):
        out.append(
            f"<p>Run {i}: {_e(str(run.get('status')))}, exit {_e(str(run.get('exit_code')))}</p>"
        )
        stderr = redact(str(run.get("stderr", "")), scan=True).strip("\n")
        tail = "\n".join(stderr.split("\n")[-15:]) if stderr else ""
        if tail:
            out.append(f"<pre class='untrusted'>{_e(tail, multiline=True)}</pre>")
    items = diff_items(report.get("diff"))
    out.append("<h3>Observed system diff (first run)</h3>")
    out.append(
        "<ul>" + "".join(f"<li>{_e(i)}</li>" for i in items) + "</ul>"
        if items
        else "<p>No changes observed.</p>"
    )
    for f in report.get("diff", {}).get("files", ()):
        if f.get("diff"):
            out.append(f"<p><code>{_e(f['path'])}</code></p>"
                       f"<pre class='untrusted'>{_diff_lines(redact(f['diff'], scan=True))}</pre>")
    second = diff_items(report.get("second_diff"))
    if second:
        out.append(
            "<h3>Second run changed again (not idempotent)</h3><ul>"
            + "".join(f"<li>{_e(i)}</li>" for i in second)
            + "</ul>"
        )
    findings = [Finding.from_dict(f) for f in report.get("findings", ())]
    out += [_finding(f) for f in findings]
    return "\n".join(out)


def _diff_lines(text: str) -> str:
    rows = []
    for line in text.rstrip("\n").split("\n"):  # U+2028 and the like are shown, not split on
        cls = "add" if line.startswith("+") else "del" if line.startswith("-") else ""
        rows.append(f"<span class='{cls}'>{_e(line)}</span>" if cls else _e(line))
    return "\n".join(rows)


def _signoff(review: Review) -> str:
    state = review.state
    rows = [("approved", d) for d in state.approvals] + [("stale", d) for d in state.stale]
    if state.rejection:
        rows.append(("rejected", state.rejection))
    items = [
        f"<li><b>{kind}</b> by {_e(d.by)} at {_e(d.created_at)}"
        + (f": {_e(d.comment)}" if d.comment else "")
        + (f" <i>(override: {_e(d.override)})</i>" if d.override else "")
        + f"<br><small class='hash'>revision {_e(d.revision_sha256)}, evidence "
        f"{_e(d.evidence_sha256)}</small></li>"
        for kind, d in rows
    ]
    blockers = [f"<li class='error'>blocks approval: {_e(b)}</li>" for b in state.blockers]
    body = "".join(items + blockers) or "<li>no approvals yet</li>"
    return f"<ul>{body}</ul>"
