"""Each rule's documentation page, rendered from its metadata (shellcheck's wiki format).

``docs/rules/OPSxxx.md`` files are this rendering, committed; a test keeps them in sync,
and ``opsgen rules OPS101`` shows the same text in the terminal.
"""

from __future__ import annotations

from opsgen.validators.rule import Example, Rule

__all__ = ["render_markdown"]

_LANG_NAMES = {"bash": "bash scripts", "ansible": "Ansible playbooks"}


def _fence(ex: Example) -> str:
    lang = "yaml" if ex.lang == "ansible" else "bash"
    body = ex.text.rstrip("\n")
    note = ""
    if ex.provenance is not None:
        sources = "\n\n".join(ex.provenance.sources)
        note = (f"Request: {ex.provenance.request!r}\n\nSource material:\n\n"
                f"```text\n{sources.rstrip()}\n```\n\nScript:\n\n")
    return f"{note}```{lang}\n{body}\n```"


def render_markdown(rule: type[Rule]) -> str:
    """The full page for ``rule``: title, examples, rationale, fix, exceptions."""
    applies = ", ".join(_LANG_NAMES[lang] for lang in rule.langs)
    if "bash" in rule.langs and "ansible" in rule.langs:
        applies = "bash scripts and the shell/command tasks of Ansible playbooks"
    applies = rule.applies or applies
    parts = [
        f"# {rule.code}: {rule.summary}",
        f"Severity: **{rule.severity.value}** · name: `{rule.name}` · source: {rule.source} · "
        f"applies to {applies}" + (f" · tags: {', '.join(rule.tags)}" if rule.tags else ""),
    ]
    bad, good = rule.examples(True), rule.examples(False)
    if bad:
        parts += ["## Problematic code", *(_fence(e) for e in bad)]
    if good:
        parts += ["## Correct code", *(_fence(e) for e in good)]
    parts += ["## Rationale", rule.rationale, "## Fix", rule.hint, "## Exceptions"]
    if rule.exceptions:
        parts.append(rule.exceptions)
    parts.append(
        "To accept a finding, say why on the line (or the line before the statement):\n\n"
        f'```bash\n# opsgen: disable={rule.code} reason="why this is safe here"\n```\n\n'
        "The finding stays in the report, marked suppressed, with the reason."
    )
    return "\n\n".join(parts) + "\n"
