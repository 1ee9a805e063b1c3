"""Each rule's documentation page, rendered from its metadata (shellcheck's wiki format).

``docs/rules/OPSxxx.md`` files are this rendering, committed; a test keeps them in sync,
and ``opsgen rules OPS101`` shows the same text in the terminal.
"""

from __future__ import annotations

import json

from opsgen.validators.rule import Example, Rule
from opsgen.yamlsafe import safe_load

__all__ = ["render_markdown"]

_LANG_NAMES = {"bash": "bash scripts", "ansible": "Ansible playbooks"}


def _scenario_fence(ex: Example) -> str:
    """A scenario example in the ``--scenario FILE.yml`` form it is written in."""
    body = ex.text.rstrip("\n")
    if ex.part == "prepare":
        indented = "\n".join("  " + line for line in body.splitlines())
        return f"```yaml\nprepare: |\n{indented}\n```"
    return f"```yaml\nchecks:\n  - {_yaml_item(body)}\n```"


def _yaml_item(text: str) -> str:
    """``text`` as a YAML list item that reads back as exactly ``text`` (quoted if need be)."""
    try:
        if safe_load(f"- {text}") == [text]:
            return text
    except Exception:  # noqa: S110 - any YAML fault: quote it
        pass
    return json.dumps(text)  # a JSON string is a YAML double-quoted scalar


def _fence(ex: Example, scenario_rule: bool = False) -> str:
    if ex.part:
        return _scenario_fence(ex)
    lang = "yaml" if ex.lang == "ansible" else "bash"
    body = ex.text.rstrip("\n")
    note = "In the script itself, not in a scenario:\n\n" if scenario_rule else ""
    if ex.provenance is not None:
        sources = "\n\n".join(ex.provenance.sources)
        note += (f"Request: {ex.provenance.request!r}\n\nSource material:\n\n"
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
    scenario_rule = bool(rule.example_part)
    bad, good = rule.examples(True), rule.examples(False)
    if bad:
        parts += ["## Problematic code", *(_fence(e, scenario_rule) for e in bad)]
    if good:
        parts += ["## Correct code", *(_fence(e, scenario_rule) for e in good)]
    parts += ["## Rationale", rule.rationale, "## Fix", rule.hint, "## Exceptions"]
    if rule.exceptions:
        parts.append(rule.exceptions)
    if scenario_rule:
        parts.append(
            "Scenario text cannot switch a check off: a comment such as\n\n"
            f'```bash\n# opsgen: disable={rule.code} reason="why this is safe here"\n```\n\n'
            "in a prepare script or a check is ignored, and the finding stays active. Change "
            "the scenario instead, or approve with `--override` and a reason."
        )
        return "\n\n".join(parts) + "\n"
    parts.append(
        "To accept a finding, say why on the line (or the line before the statement):\n\n"
        f'```bash\n# opsgen: disable={rule.code} reason="why this is safe here"\n```\n\n'
        "The finding stays in the report, marked suppressed, with the reason."
    )
    return "\n\n".join(parts) + "\n"
