"""Is this a bash script or an Ansible playbook? Shebang, extension, then structure."""

from __future__ import annotations

import re
from typing import Literal

import yaml

from opsgen.yamlsafe import safe_load_all

__all__ = ["detect_lang"]

_SHELLS = re.compile(r"(ba|da|k|mk|z|a)?sh")
_PLAY_KEYS = frozenset({"hosts", "tasks", "roles", "import_playbook", "pre_tasks", "post_tasks",
                        "handlers", "block", "ansible.builtin.import_playbook"})


def detect_lang(text: str, path: str = "<script>") -> Literal["bash", "ansible"]:
    """Guess the language of ``text`` (``path`` may be a made-up name like ``<script>``).

    Order: a shebang naming a shell (or ansible-playbook) wins; then ``.sh``/``.bash`` or
    ``.yml``/``.yaml``; then YAML that is a list of mappings is Ansible; anything else is bash.
    """
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    if first.startswith("#!"):
        words = first[2:].split()
        interp = words[0].rsplit("/", 1)[-1] if words else ""
        if interp == "env" and len(words) > 1:
            interp = next((w for w in words[1:] if not w.startswith("-")), "")
        if interp.startswith("ansible-playbook"):
            return "ansible"
        if _SHELLS.fullmatch(interp):
            return "bash"
    lower = path.lower()
    if lower.endswith((".sh", ".bash", ".ksh", ".zsh")):
        return "bash"
    if lower.endswith((".yml", ".yaml")):
        return "ansible"
    return "ansible" if _looks_like_ansible(text) else "bash"


def _looks_like_ansible(text: str) -> bool:
    if not re.search(r"^\s*-\s", text, re.M):  # cheap exit: no YAML list item at all
        return False
    try:
        docs = [d for d in safe_load_all(text) if d is not None]
    except yaml.YAMLError:
        return False
    items = [i for d in docs if isinstance(d, list) for i in d]
    return bool(items) and all(isinstance(i, dict) for i in items) and any(
        _PLAY_KEYS & i.keys() or "name" in i for i in items
    )
