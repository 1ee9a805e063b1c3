"""At image build time: the option tables of ansible-core's built-in modules, as JSON.

Run by ``Dockerfile.tools`` (``moduledocs.py > /opt/opsgen-tools/module-docs.json``) with
the image's own ansible-doc, so the lint's static argument check (OPS212) reads exactly
the ansible-core the tools container runs. Only what the check needs is kept: each
option's type, choices, aliases, whether it is required, and element type.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

KEEP = ("type", "choices", "aliases", "required", "elements")


def _doc(names: list[str]) -> dict[str, Any]:
    out = subprocess.run(["ansible-doc", "-t", "module", "--json", *names], check=True,
                         capture_output=True, text=True).stdout
    data: dict[str, Any] = json.loads(out)
    return data


def main() -> None:
    """Print ``{"ansible_core": VERSION, "modules": {fqcn: {"options": {...}}}}``."""
    listing = json.loads(subprocess.run(["ansible-doc", "-t", "module", "--list", "--json"],
                                        check=True, capture_output=True, text=True).stdout)
    names = sorted(n for n in listing if n.startswith("ansible.builtin."))
    modules: dict[str, Any] = {}
    for name, entry in _doc(names).items():
        options = ((entry or {}).get("doc") or {}).get("options") or {}
        modules[name] = {"options": {
            opt: {k: spec[k] for k in KEEP if k in spec}
            for opt, spec in options.items() if isinstance(spec, dict)
        }}
    from ansible.release import __version__

    json.dump({"ansible_core": __version__, "modules": modules}, sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main()
