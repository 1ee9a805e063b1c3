"""Child process: which module names does the installed ansible-core resolve?

Run as ``python -I -m opsgen.validators.adapters.probe NAME...`` with the environment from
:func:`opsgen.validators.tools.tool_env`, so that importing ansible (which reads its config
and may create folders) happens in the lint's temporary ``HOME``, never in the user's.
Prints ``{"unresolved": [...]}``.
"""

from __future__ import annotations

import json
import sys


def unresolved(names: list[str]) -> list[str]:
    """The names neither a module nor an action plugin answers to (FQCN or short)."""
    from ansible.plugins.loader import action_loader, init_plugin_loader, module_loader

    init_plugin_loader()
    missing = []
    for name in names:
        found = False
        for loader in (module_loader, action_loader):
            try:
                found = bool(loader.find_plugin_with_context(name).resolved)
            except Exception:  # noqa: S112 - a broken plugin counts as unresolved
                continue
            if found:
                break
        if not found:
            missing.append(name)
    return missing


if __name__ == "__main__":
    print(json.dumps({"unresolved": unresolved(sys.argv[1:])}))
