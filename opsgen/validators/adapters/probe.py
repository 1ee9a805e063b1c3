"""In the tools sandbox: which module names does its ansible-core resolve?

Copied into the lint's sandbox work directory and run there as ``python3 -I probe.py
NAME...`` with :func:`opsgen.validators.isolation.contained_env` (see
:func:`opsgen.validators.adapters.ansible.probe_job`): it imports ansible, so it never runs
on this host. Standalone on purpose (json, sys and ansible only). Prints
``{"unresolved": [...]}``.
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
