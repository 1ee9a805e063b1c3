"""Where the tools that could run playbook code are run: never on the host.

``ansible-playbook --syntax-check`` and ansible-lint *load* a playbook, and loading templates
``vars_files``, import paths and more: a ``{{ lookup('pipe', ...) }}`` there runs a command,
whatever we rewrite in the text first (YAML escapes such as ``\\u007B`` spell the same Jinja
in ways no rewrite can list). So these tools get a :class:`ToolSandbox`: something that runs
a batch of commands over a copy of the files somewhere else (in opsgen, a hardened sandbox
container with no network: :mod:`opsgen.sandbox.toolbox`), and answers what each printed.

This module only says what such a sandbox must do; the validators never know how. Without
one, those tools do not run at all and the report says so (OPS005): it fails closed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from opsgen.contained import (
    CONTAINED_HOME,
    CONTAINED_WORKDIR,
    ToolBatch,
    ToolCall,
    ToolOutput,
    ToolSandbox,
)

__all__ = ["CONTAINED_HOME", "CONTAINED_WORKDIR", "NoSandbox", "ToolBatch", "ToolCall",
           "ToolOutput", "ToolSandbox", "contained_env"]

def contained_env() -> dict[str, str]:
    """The tools' environment inside the sandbox: nothing of the host's, no user or project
    Ansible config, every write under the private ``HOME``. ``PATH`` is the sandbox's."""
    home = CONTAINED_HOME
    return {
        "HOME": home,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TMPDIR": home,
        "XDG_CACHE_HOME": f"{home}/.cache",
        "XDG_CONFIG_HOME": f"{home}/.config",
        "ANSIBLE_CONFIG": f"{CONTAINED_WORKDIR}/ansible.cfg",
        "ANSIBLE_HOME": f"{home}/.ansible",
        "ANSIBLE_LOCAL_TEMP": f"{home}/.ansible/tmp",
        "ANSIBLE_REMOTE_TEMP": f"{home}/.ansible/tmp",
        "ANSIBLE_COLLECTIONS_PATH": f"{home}/.ansible/collections",
        "ANSIBLE_ROLES_PATH": f"{home}/roles",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
        "ANSIBLE_DEPRECATION_WARNINGS": "0",
        "ANSIBLE_GATHERING": "explicit",
        "NO_COLOR": "1",
    }


class NoSandbox:
    """What the lint uses when it was given no sandbox: every contained tool is reported
    as not run (OPS005), never run on the host instead."""

    reason = "no sandbox to run it in (tools that load playbooks never run on the host)"

    def identity(self) -> str:
        """Empty: nothing to cache."""
        return ""

    def start(
        self, files: Mapping[str, bytes], calls: Sequence[ToolCall], env: Mapping[str, str]
    ) -> ToolBatch:
        """A batch that answers ``missing`` for every call."""
        return _Unavailable({c.name: ToolOutput("missing", detail=self.reason) for c in calls})


class _Unavailable:
    def __init__(self, outputs: Mapping[str, ToolOutput]):
        self.outputs = outputs

    def wait(self) -> Mapping[str, ToolOutput]:
        return self.outputs

    def close(self) -> None:
        return None
