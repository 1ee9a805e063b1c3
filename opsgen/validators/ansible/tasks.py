"""Find the tasks of a playbook or task file, their module and arguments, and shell code.

Plays, ``pre_tasks``/``tasks``/``post_tasks``/``handlers`` and ``block``/``rescue``/``always``
are walked; roles and included files are not (ansible-lint and the syntax check see those).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from opsgen.validators.ansible.yamlload import KeyMark, LineDict

__all__ = ["PLAY", "TASK_KEYWORDS", "Snippet", "Task", "builtin_fqcn", "is_playbook",
           "is_task_keyword", "iter_tasks", "shell_snippet", "yaml_bool"]

#: the head of a one-play playbook, for rule examples
PLAY = "- hosts: all\n  tasks:\n"

#: what a task may hold beside its module (``with_*`` loops too: :func:`is_task_keyword`)
TASK_KEYWORDS = frozenset(
    """name action local_action args async poll become become_exe become_flags become_method
    become_user changed_when check_mode collections connection debugger delay delegate_facts
    delegate_to diff environment failed_when ignore_errors ignore_unreachable listen loop
    loop_control module_defaults no_log notify port register remote_user retries run_once tags
    throttle timeout until vars when block rescue always any_errors_fatal""".split()
)
_SECTIONS = ("pre_tasks", "tasks", "post_tasks", "handlers")
_BLOCK_PARTS = ("block", "rescue", "always")
_PLAY_KEYS = frozenset({"hosts", "import_playbook", "ansible.builtin.import_playbook"})
_KV = re.compile(r"""([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|'[^']*'|\S+)""")
_SHELL_MODULES = frozenset({"shell", "command", "raw"})


def is_task_keyword(key: str) -> bool:
    """``key`` is a task keyword (``register``, ``when``, ``with_items`` ...), not a module."""
    return key in TASK_KEYWORDS or key.startswith("with_")
_MAX_TASKS = 20_000  # YAML aliases can make a small file describe millions of tasks


def yaml_bool(value: Any) -> bool | None:
    """Ansible's reading of a boolean (``yes``, ``"False"``, ``1``...); None if it is not one."""
    text = str(value).strip().lower()
    if value is True or text in ("true", "yes", "on", "1", "y"):
        return True
    if value is False or text in ("false", "no", "off", "0", "n"):
        return False
    return None


def builtin_fqcn(module: str) -> str | None:
    """The FQCN in ansible.builtin a task's module names (``cron``, ``ansible.legacy.cron``
    and ``ansible.builtin.cron`` all name ``ansible.builtin.cron``); None for a module of
    another collection."""
    if module.startswith("ansible.builtin."):
        return module
    if module.startswith("ansible.legacy."):
        return "ansible.builtin." + module.removeprefix("ansible.legacy.")
    return None if "." in module else f"ansible.builtin.{module}"


@dataclass(slots=True)
class Task:
    """One task: the module as written, its short name, and its merged arguments."""

    data: LineDict
    module: str
    args: dict[str, Any] = field(default_factory=dict)
    free_form: str | None = None

    @property
    def short(self) -> str:
        """``ansible.builtin.shell`` -> ``shell``; ``community.general.ufw`` -> ``ufw``."""
        return self.module.rsplit(".", 1)[-1]

    @property
    def line(self) -> int:
        """The line where the task starts."""
        return self.data.line

    def module_mark(self) -> KeyMark:
        """Position of the module key (or of the task when the module came from action:)."""
        return self.data.mark(self.module)

    def arg_line(self, key: str) -> int:
        """Line of argument ``key`` when it is written in a mapping, else the module line."""
        value = self.data.get(self.module)
        if isinstance(value, LineDict) and key in value:
            return value.mark(key).line
        return self.module_mark().line

    @property
    def no_log(self) -> bool:
        """True when the task hides its arguments from logs."""
        return yaml_bool(self.data.get("no_log")) is True


@dataclass(frozen=True, slots=True)
class Snippet:
    """Shell code inside a task and where it starts in the file."""

    text: str
    line: int
    col: int
    indent: int


def is_playbook(docs: list[Any]) -> bool:
    """True when the documents hold plays; False for a task file."""
    return any(isinstance(i, dict) and (_PLAY_KEYS & i.keys()) for d in docs
               if isinstance(d, list) for i in d)


def iter_tasks(docs: list[Any]) -> Iterator[Task]:
    """Every task of the documents, plays and blocks walked, each mapping visited once."""
    seen: set[int] = set()
    count = 0
    stack: list[Any] = [item for d in reversed(docs) if isinstance(d, list)
                        for item in reversed(d)]
    while stack and count < _MAX_TASKS:
        item = stack.pop()
        if not isinstance(item, LineDict) or id(item) in seen:
            continue
        seen.add(id(item))
        parts = [k for k in (*_SECTIONS, *_BLOCK_PARTS) if isinstance(item.get(k), list)]
        if parts or _PLAY_KEYS & item.keys():
            for key in reversed(parts):
                stack.extend(reversed(item[key]))
            continue
        task = _task(item)
        if task is not None:
            count += 1
            yield task


def _task(item: LineDict) -> Task | None:
    for key in ("action", "local_action"):
        value = item.get(key)
        if isinstance(value, str) and value.strip():
            module, _, rest = value.strip().partition(" ")
            return _with_args(Task(item, module), rest)
        if isinstance(value, dict) and isinstance(value.get("module"), str):
            args = {k: v for k, v in value.items() if k != "module"}
            return Task(item, value["module"], args)
    for key in item:
        if isinstance(key, str) and not is_task_keyword(key):
            return _with_args(Task(item, key), item[key])
    return None


def _with_args(task: Task, value: Any) -> Task:
    if isinstance(value, dict):
        task.args.update(value)
    elif isinstance(value, str):
        task.free_form = value
        if task.short in _SHELL_MODULES:
            task.args["_raw_params"] = value
        else:
            task.args.update((k, v.strip("'\"")) for k, v in _KV.findall(value))
    extra = task.data.get("args")
    if isinstance(extra, dict):
        task.args.update(extra)
    return task


def shell_snippet(task: Task, lines: list[str]) -> Snippet | None:
    """The shell code of a ``shell``/``command``/``raw`` task, positioned in the file."""
    if task.short not in _SHELL_MODULES:
        return None
    value = task.data.get(task.module)
    if isinstance(value, LineDict) and isinstance(value.get("cmd"), str):
        return _positioned(value["cmd"], value.mark("cmd"), lines)
    if isinstance(value, LineDict) and isinstance(value.get("argv"), list):
        text = shlex.join(str(a) for a in value["argv"])
        return Snippet(text, value.mark("argv").line, 1, 0)
    raw = task.args.get("_raw_params") or task.args.get("cmd")
    if isinstance(raw, str):
        return _positioned(raw, task.module_mark(), lines)
    return None


def _positioned(text: str, mark: KeyMark, lines: list[str]) -> Snippet:
    if mark.style in ("|", ">"):  # block scalar: the code starts on the next line
        line = mark.value_line + 1
        src = lines[line - 1] if 0 < line <= len(lines) else ""
        indent = len(src) - len(src.lstrip(" "))
        return Snippet(text, line, indent + 1, indent)
    quote = 1 if mark.style in ('"', "'") else 0
    return Snippet(text, mark.value_line, mark.value_col + quote, 0)
