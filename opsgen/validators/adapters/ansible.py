"""ansible-core as a parser: ``--syntax-check`` and module-name resolution.

Nothing here contacts a host: the syntax check loads the playbook against the implicit
``localhost`` inventory and stops, and module names are looked up by a small script
(:mod:`.probe`). A task file (not a playbook) is checked through a one-play wrapper that
imports it, so its errors still point into the task file.

Loading is not as inert as it sounds: Ansible templates ``vars_files`` and import paths
while it loads, so ``{{ lookup('pipe', 'cmd') }}`` there runs ``cmd`` during a mere syntax
check (measured: it does, with ansible-core 2.19 and through ansible-lint too). Rewriting
the text cannot stop that: YAML spells the same Jinja in escapes (``"\\u007B\\u007B"``),
which a rewrite of the text does not see and Ansible decodes (it ran ``id`` as root on
main). So these tools never run on this host: they run in the artifact's
:class:`~opsgen.validators.isolation.ToolSandbox` (a sandbox container without network, as
an unprivileged user), over a copy of the file. The copy still has its visible Jinja
replaced by a placeholder, line for line (a second wall, and ansible-lint then judges the
structure, not our placeholder values), and sits alone in its folder, so no ``library/``
or ``*_plugins/`` folder next to the user's file is ever loaded.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from opsgen.contained import MODULE_DOCS
from opsgen.validators.ansible.tasks import is_playbook
from opsgen.validators.artifact import Artifact
from opsgen.validators.isolation import CONTAINED_WORKDIR
from opsgen.validators.tools import ContainedBatch, ContainedJob, Job

__all__ = ["INPUTS", "contained_batch", "is_missing_file", "lint_target", "module_docs",
           "module_docs_job", "neutralize", "probe_job", "syntax_check_job", "syntax_errors",
           "target_name", "unknown_modules"]
_WRAPPER = """- name: opsgen syntax-check wrapper
  hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.import_tasks: tasks/main.yml
"""
_ORIGIN = re.compile(r"Origin: (?P<path>.+?):(?P<line>\d+)(?::(?P<col>\d+))?\s*$", re.M)
_OLD_ORIGIN = re.compile(
    r"appears to be in '(?P<path>[^']+)': line (?P<line>\d+), column (?P<col>\d+)"
)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
#: the files in the lint directory the Ansible tools read (cache key inputs)
INPUTS = ("ansible.cfg", "playbook.yml", "wrapper.yml", "tasks/main.yml")
_PROBE = "probe.py"


_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
#: syntax-check failures caused by files that are not part of the lint input
_MISSING = re.compile(r"was not found in|Could not find or access|Unable to retrieve file "
                      r"contents|Is a directory|No such file or directory", re.I)


def neutralize(text: str) -> str:
    """Replace Jinja expressions with a placeholder, keeping every line where it was."""
    return _JINJA.sub(lambda m: "opsgen-jinja" + "\n" * m.group().count("\n"), text)


def target_name(art: Artifact) -> str:
    """Where the ansible tools see the artifact: a playbook, or a role's task file."""
    if art.yaml_docs is not None and not is_playbook(art.yaml_docs):
        return "tasks/main.yml"
    return "playbook.yml"


def lint_target(art: Artifact) -> str:
    """Write the neutralized artifact where ansible tools expect it; return its path."""
    name = target_name(art)
    if not (art.workdir / name).exists():
        if name == "tasks/main.yml":
            art.write("wrapper.yml", _WRAPPER)
        art.write(name, neutralize(art.text))
    return name


def contained_batch(art: Artifact) -> ContainedBatch:
    """The artifact's sandbox batch, with the files every Ansible tool reads (the config,
    the neutralized copy and its wrapper, and the module-lookup script)."""
    art.write("ansible.cfg", "# empty: opsgen lint reads no user or project ansible.cfg\n")
    art.write(_PROBE, Path(__file__).with_name("probe.py").read_text(encoding="utf-8"))
    return art.contained((*INPUTS, _PROBE))


def syntax_check_job(art: Artifact) -> Job:
    """``ansible-playbook --syntax-check -i localhost,``: loads, resolves, runs nothing;
    in the artifact's sandbox, never on this host."""
    target = lint_target(art)
    play = "playbook.yml" if target == "playbook.yml" else "wrapper.yml"
    argv = ["ansible-playbook", "--syntax-check", "-i", "localhost,", play]
    return ContainedJob("ansible-playbook --syntax-check", argv, batch=contained_batch(art),
                        timeout=60, ok_codes=(0, 1, 4), inputs=INPUTS)


def is_missing_file(message: str) -> bool:
    """True when the syntax check stopped at a role or file outside the lint input."""
    return bool(_MISSING.search(message))


def syntax_errors(art: Artifact) -> list[tuple[int, int, str]]:
    """(line, column, message) of the error the syntax check stopped at, if any."""
    res = art.job(syntax_check_job).result()
    if res.run.status != "ok" or res.returncode == 0:
        return []
    text = _ANSI.sub("", res.stderr + "\n" + res.stdout)
    start = max(text.find("[ERROR]:"), text.find("ERROR!"))
    if start < 0:
        return [(0, 0, text.strip().splitlines()[-1] if text.strip() else "syntax check failed")]
    body = text[start:].split(":", 1)[1] if text[start:].startswith("[ERROR]") else \
        text[start + len("ERROR!"):]
    message = " ".join(body.strip().split("\n\n", 1)[0].split("Origin:", 1)[0].split())
    message = message.split(" If you are using a module")[0]  # ansible's remote_src advice
    message = message.replace(str(art.workdir), "<lint dir>")[:400]
    m = _ORIGIN.search(text, start) or _OLD_ORIGIN.search(text, start)
    if m is None or not m.group("path").endswith(target_name(art)):
        return [(0, 0, message)]
    return [(int(m.group("line")), int(m.group("col") or 0), message)]


def probe_job(art: Artifact) -> Job:
    """Resolve every module name of the tasks, with the sandbox's ansible-core."""
    names = sorted({t.module for t in art.tasks if "{{" not in t.module})
    argv = ["python3", "-I", f"{CONTAINED_WORKDIR}/{_PROBE}", *names]
    return ContainedJob("ansible module lookup", argv, batch=contained_batch(art), timeout=60,
                        inputs=(_PROBE,))


def unknown_modules(art: Artifact) -> set[str]:
    """Module names the installed ansible-core and collections cannot resolve."""
    if not art.tasks:
        return set()
    res = art.job(probe_job).result()
    try:
        return set(json.loads(res.stdout.strip().splitlines()[-1])["unresolved"])
    except (IndexError, KeyError, ValueError, TypeError):
        return set()


def module_docs_job(art: Artifact) -> Job:
    """The option tables of the sandbox's built-in modules (read once per tools image: the
    answer is cached, its key has no input but the image)."""
    return ContainedJob("ansible module docs", ["cat", MODULE_DOCS], batch=contained_batch(art),
                        timeout=30)


def module_docs(art: Artifact) -> dict[str, Any] | None:
    """``{fqcn: {"options": {name: {type, choices, aliases, required, elements}}}}`` of
    ansible-core's built-in modules, or None when the tools sandbox could not say."""
    res = art.job(module_docs_job).result()
    if res.run.status != "ok" or res.returncode != 0:
        return None
    try:
        modules = json.loads(res.stdout)["modules"]
    except (ValueError, KeyError, TypeError):
        return None
    return modules if isinstance(modules, dict) else None
