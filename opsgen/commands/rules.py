"""``opsgen rules [CODE]``: the catalogue of every code opsgen reports, or one explained.

Lists the lint rules (OPS0xx-3xx, OPS5xx) and the dry-run outcomes (OPS4xx); wrapped tools'
codes (``SC2086``, ansible-lint ids) point to their own documentation.
"""

from __future__ import annotations

import json
import re
import sys
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from opsgen.sandbox.outcomes import OUTCOMES, Outcome
from opsgen.ui import console, safe

_SHELLCHECK = re.compile(r"SC\d{4}", re.I)
_ANSIBLE_LINT_ID = re.compile(r"[a-z][a-z0-9-]*(\[[a-z0-9-]+\])?")


class Format(StrEnum):
    """Output formats."""

    text = "text"
    json = "json"


def outcome_markdown(o: Outcome) -> str:
    """The documentation page of a dry-run outcome code."""
    return (
        f"# {o.code}: {o.summary}\n\nSeverity: **{o.severity.value}** · name: `{o.name}` · "
        "source: sandbox · reported by `opsgen dryrun` (not by `opsgen lint`)\n\n"
        f"## Rationale\n\n{o.summary} A dry-run that hits a limit is reported as such, never "
        f"as success.\n\n## Fix\n\n{o.hint}\n\n## Exceptions\n\nOutcome codes describe what "
        "happened in the sandbox; they cannot be suppressed in the script.\n"
    )


def _catalogue() -> list[dict[str, Any]]:
    from opsgen.validators import RULES

    rows = [{"code": r.code, "name": r.name, "severity": r.severity.value, "summary": r.summary,
             "hint": r.hint, "source": r.source, "langs": list(r.langs),
             "url": r.url()} for r in RULES]
    rows += [{"code": o.code, "name": o.name, "severity": o.severity.value, "summary": o.summary,
              "hint": o.hint, "source": "sandbox", "langs": ["bash", "ansible"],
              "url": f"docs/rules/{o.code}.md"} for o in OUTCOMES]
    return sorted(rows, key=lambda r: r["code"])


def _explain(code: str) -> str:
    from opsgen.validators import get_rule
    from opsgen.validators.catalogue import render_markdown

    outcome = next((o for o in OUTCOMES if o.code == code.upper()), None)
    if outcome is not None:
        return outcome_markdown(outcome)
    try:
        return render_markdown(get_rule(code))
    except KeyError:
        pass
    if _SHELLCHECK.fullmatch(code):
        return f"{code.upper()} is a shellcheck code: https://www.shellcheck.net/wiki/{code.upper()}\n"
    if _ANSIBLE_LINT_ID.fullmatch(code) and not code.lower().startswith("ops"):
        rid = code.split("[", 1)[0]
        return f"{code} is an ansible-lint rule: https://docs.ansible.com/projects/lint/rules/{rid}/\n"
    raise typer.BadParameter(f"unknown rule code {code!r} (see `opsgen rules`)", param_hint="CODE")


def _write_docs(folder: Path) -> int:
    from opsgen.validators import RULES
    from opsgen.validators.catalogue import render_markdown

    folder.mkdir(parents=True, exist_ok=True)
    pages = {r.code: render_markdown(r) for r in RULES}
    pages.update({o.code: outcome_markdown(o) for o in OUTCOMES})
    for code, text in pages.items():
        (folder / f"{code}.md").write_text(text, encoding="utf-8")
    console.print(f"wrote {len(pages)} pages to {safe(str(folder))}")
    return 0


def register(app: typer.Typer) -> None:
    """Add the ``rules`` verb."""

    @app.command("rules")
    def rules_cmd(
        code: str | None = typer.Argument(None, help="A code to explain, e.g. OPS101."),
        fmt: Format = typer.Option(Format.text, "--format", "-f", help="Output format."),
        write_docs: Path | None = typer.Option(
            None, "--write-docs", hidden=True, help="Regenerate docs/rules/*.md into DIR."),
    ) -> int:
        """List every rule opsgen can report, or explain one (opsgen rules OPS101)."""
        if write_docs is not None:
            return _write_docs(write_docs)
        if code:
            text = _explain(code)
            if fmt is Format.json:
                sys.stdout.write(json.dumps({"code": code, "markdown": text}, indent=2) + "\n")
            else:
                console.print(safe(text.rstrip("\n"), keep_newlines=True), soft_wrap=True,
                              highlight=False)
            return 0
        rows = _catalogue()
        if fmt is Format.json:
            sys.stdout.write(json.dumps(rows, indent=2) + "\n")
            return 0
        for r in rows:
            console.print(f"{r['code']}  {r['severity']:<7}  {r['name']:<26}  "
                          f"{safe(r['summary'])}", soft_wrap=True, highlight=False)
        console.print("\nAlso reported: shellcheck codes (SCxxxx) and ansible-lint rule ids. "
                      "`opsgen rules CODE` explains any of them.", highlight=False, soft_wrap=True)
        return 0
