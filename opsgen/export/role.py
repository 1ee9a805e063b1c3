"""``--as-role``: lay an approved single-play playbook out as an Ansible role.

A role is not a playbook, so the role files are *derived*: the play's ``tasks``,
``handlers`` and ``vars`` become ``tasks/main.yml``, ``handlers/main.yml`` and
``vars/main.yml``. The approved bytes travel with them verbatim (``meta/opsgen-approved.yml``,
which Ansible ignores), and the derivation is deterministic, so ``opsgen verify`` re-derives
the role from those bytes and proves the files are exactly what was approved.
"""

from __future__ import annotations

from typing import Any

import yaml

from opsgen.errors import ExportError
from opsgen.yamlsafe import safe_load

__all__ = ["SOURCE_PATH", "derive_role"]

SOURCE_PATH = "meta/opsgen-approved.yml"
_ALLOWED = {"name", "hosts", "become", "become_user", "gather_facts", "vars", "tasks", "handlers"}


def derive_role(playbook: str) -> dict[str, str]:
    """Role files (relative path -> text) for a playbook of exactly one simple play.

    Raises:
        ExportError: the playbook is not one play, or uses keys a role cannot carry over
            (``roles``, ``pre_tasks``, ``vars_files``...); we refuse rather than drop them.
    """
    try:
        data = safe_load(playbook)
    except yaml.YAMLError as exc:
        raise ExportError(f"--as-role: the playbook is not valid YAML: {exc}") from None
    if not (isinstance(data, list) and len(data) == 1 and isinstance(data[0], dict)):
        raise ExportError(
            "--as-role needs a playbook of exactly one play",
            hint="export it as a playbook (without --as-role)",
        )
    play: dict[str, Any] = data[0]
    extra = sorted(str(k) for k in play if k not in _ALLOWED)
    if extra:
        raise ExportError(
            f"--as-role cannot carry the play keys {', '.join(extra)} into a role",
            hint="export it as a playbook (without --as-role)",
        )
    tasks = play.get("tasks") or []
    if not isinstance(tasks, list):
        raise ExportError("--as-role: the play's tasks must be a list")
    files = {
        "tasks/main.yml": _dump(tasks),
        "meta/main.yml": _dump(
            {"galaxy_info": {"description": str(play.get("name", ""))}, "dependencies": []}
        ),
        SOURCE_PATH: playbook,
    }
    if play.get("handlers"):
        files["handlers/main.yml"] = _dump(play["handlers"])
    if play.get("vars"):
        files["vars/main.yml"] = _dump(play["vars"])
    return files


def _dump(value: Any) -> str:
    return "---\n" + yaml.safe_dump(
        value, sort_keys=False, default_flow_style=False, allow_unicode=True
    )
