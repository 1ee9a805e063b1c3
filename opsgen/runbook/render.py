"""Write a :class:`~opsgen.runbook.plan.Plan` as a bash script or an Ansible playbook.

Both carry a comment before every block naming the runbook file, lines and step it came
from (``# disk.md:34-36 step 8: Anything else``), so a reviewer can hold the script next to
the runbook. Every piece of runbook text that is not a command (headings, prose, notes)
goes through :func:`~opsgen.runbook.text.one_line` first: one line, no control
characters, no linter directives, so it cannot end a comment and become code. In the
playbook the shell text is tagged ``!unsafe``: Ansible never templates it, so ``{{ }}``
written in a runbook cannot run on the controller. Commands with a module of their own
(``apt-get install``, ``systemctl restart``, ``useradd``...) become that module's task
(:mod:`~opsgen.runbook.modules`); the rest of a block stays one shell task.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import PurePosixPath

import yaml

from opsgen.runbook.effects import is_read_only
from opsgen.runbook.fixes import SUDO_NOTE
from opsgen.runbook.modules import Piece, pieces
from opsgen.runbook.params import Parameter
from opsgen.runbook.plan import Block, Item, ManualStep, Plan
from opsgen.runbook.shellwords import quote
from opsgen.runbook.text import one_line

__all__ = ["ansible_var", "render"]

_ANSIBLE_RESERVED = frozenset(
    {
        "name", "hosts", "vars", "tags", "environment", "action", "args", "register", "when",
        "become", "connection", "port", "remote_user", "serial", "strategy", "gather_facts",
        "no_log", "item", "omit", "groups", "hostvars", "inventory_hostname", "play_hosts",
        "role_name", "playbook_dir", "inventory_dir", "ansible_facts", "delegate_to",
    }
)  # fmt: skip
_WIDTH = 130
_EXIT_USAGE = 64  # EX_USAGE: a missing parameter is the caller's mistake, not a failure


def render(plan: Plan, lang: str) -> str:
    """The script text for ``lang`` (``bash`` or ``ansible``)."""
    return _bash(plan) if lang == "bash" else _ansible(plan)


def ansible_var(param: Parameter) -> str:
    """The playbook variable for a parameter (lower case, clear of Ansible's own names)."""
    name = param.name.lower()
    return f"runbook_{name}" if name in _ANSIBLE_RESERVED or name.startswith("ansible") else name


# -- shared -------------------------------------------------------------------------------


def _clean(text: str, limit: int = 200) -> str:
    return one_line(text, limit)


def _line(text: str, prefix: str = "") -> str:
    """One comment line of at most 130 characters (ansible-lint allows 160, indentation
    included); ``prefix`` is kept as written (indentation, aligned columns)."""
    return prefix + one_line(text, _WIDTH - len(prefix))


def _header(plan: Plan, comment: str = "#") -> list[str]:
    lines = [
        f"Converted by opsgen from the runbook {_clean(plan.path, 110)}",
        f"title: {_clean(plan.title, 120)}",
        f"runbook sha256: {plan.sha256}",
        f"{plan.steps_found} steps found, {plan.commands} commands converted,"
        f" {len(plan.manual)} manual steps left, {len(plan.parameters)} parameters",
        "Every command is the runbook's own, in the runbook's order, after a comment naming",
        "the lines it came from. Where the runbook offers alternatives ('if that did not",
        "work...'), all of them follow: edit before you approve. MANUAL lines do not run.",
    ]
    lines += [f"warning: {_clean(w, 140)}" for w in plan.warnings]
    return [_line(f"{comment} {line}") for line in lines]


def _trace(plan: Plan, block: Block) -> list[str]:
    source = {"block": "", "inline": " (inline)", "generated": " (GENERATED from prose)"}
    where = f"{_clean(plan.path, 100)}:{block.line_start}-{block.line_end} step {block.step}"
    heading = _clean(block.heading, max(20, 140 - len(where))) or "(no heading)"
    out = [_line(f"# {where}{source[block.source]}: {heading}")]
    if block.summary:
        out.append(_line(block.summary, "#   "))
    if block.source == "generated":
        out.append("# opsgen: written by the model from the step's prose, not by the runbook:")
        out.append("#   check every word before approving")
    if block.reason and not block.runs:
        out.append(_line(f"# opsgen: not converted: {block.reason}"))
    if block.left_out:
        out.append(
            _line(f"# opsgen: left out {_span(block.left_out)}: output shown in the runbook")
        )
    return out


def _span(lines: tuple[int, ...]) -> str:
    """``line 4``, ``lines 4-6, 9``: runs of consecutive lines as ranges."""
    runs: list[list[int]] = []
    for number in lines:
        if runs and number == runs[-1][1] + 1:
            runs[-1][1] = number
        else:
            runs.append([number, number])
    text = ", ".join(f"{a}-{b}" if b > a else str(a) for a, b in runs)
    return f"line {text}" if len(lines) == 1 else f"lines {text}"


def _body(block: Block, params: tuple[Parameter, ...]) -> list[str]:
    """Shell lines of a block; commands for another user are grouped into one sudo call."""
    out: list[str] = []
    items = list(block.items)
    i = 0
    while i < len(items):
        item = items[i]
        if item.kind == "run" and item.user:
            group = [item]
            while (
                i + 1 < len(items)
                and items[i + 1].kind in ("run", "comment")
                and (items[i + 1].user == item.user or items[i + 1].kind == "comment")
            ):
                i += 1
                group.append(items[i])
            out += _as_user(item.user, group, params)
        else:
            out += _item(block.step, item)
        i += 1
    return out


def _item(step: int, item: Item) -> list[str]:
    if item.kind == "run":
        said = "; ".join(n for n in item.note.split("; ") if n and n != SUDO_NOTE)
        note = [_line(f"# opsgen: {said}")] if said else []
        return [*note, item.text]
    if item.kind == "comment":
        return [_line(f"# {item.text}")] if item.text else ["#"]
    if item.kind == "manual":
        return [_line(f"# MANUAL (step {step}, line {item.line}): {item.text}"),
                _line(item.note, "#   ")]  # fmt: skip
    if item.kind == "check":  # the note is the check's name
        return [_line(f"# opsgen: the runbook's own check (line {item.line}), run by the dry-run,"
                      f" not here: {item.note}"), _line(item.text, "#   ")]  # fmt: skip
    return [_line(f"# opsgen: {item.note} (line {item.line}, not run)")]


def _as_user(user: str, group: list[Item], params: tuple[Parameter, ...]) -> list[str]:
    body = [line for item in group for line in _item(0, item)]
    used = [p.name for p in params if any(re.search(rf"\${{?{p.name}\b", t) for t in body)]
    tag = "OPSGEN_AS_" + re.sub(r"\W", "_", user).upper()
    while tag in (line.strip() for line in body):
        tag += "_"
    passed = f" (runuser keeps the exported {', '.join(used)})" if used else ""
    return [
        f"# opsgen: the runbook runs these as {user}{passed}",
        f"runuser -u {quote(user)} -- bash -euo pipefail -s <<'{tag}'",
        *body,
        tag,
    ]


# -- bash ---------------------------------------------------------------------------------


def _bash(plan: Plan) -> str:
    out = ["#!/usr/bin/env bash", *_header(plan), "set -euo pipefail"]
    if plan.require_root:
        out += [
            "",
            "# The runbook uses sudo: this script runs as root instead, and 'sudo' is dropped",
            "# from its commands ('sudo -u USER' becomes 'runuser -u USER --').",
            "if [[ ${EUID} -ne 0 ]]; then",
            "  echo 'opsgen: run this as root: the runbook works as root (sudo)' >&2",
            "  exit 1",
            "fi",
        ]
    out += _bash_parameters(plan.parameters)
    for line in _walk(plan):
        out.append(line)
    return "\n".join(out).rstrip() + "\n"


def _walk(plan: Plan) -> Iterator[str]:
    """Blocks and prose-only manual steps, interleaved in runbook order."""
    pending = [m for m in plan.manual if m.reason == "a step in prose only"]
    for block in plan.blocks:
        while pending and pending[0].step < block.step:
            yield ""
            yield from _manual_prose(plan, pending.pop(0))
        yield ""
        yield from _trace(plan, block)
        yield from _body(block, plan.parameters)
    for manual in pending:
        yield ""
        yield from _manual_prose(plan, manual)


def _manual_prose(plan: Plan, manual: ManualStep) -> Iterator[str]:
    where = f"{_clean(PurePosixPath(plan.path).name, 60)}:{manual.line}"
    yield _line(f"# MANUAL (step {manual.step}, {where}): {manual.text}")


def _bash_parameters(params: tuple[Parameter, ...]) -> list[str]:
    if not params:
        return []
    width = max(len(p.name) for p in params)
    out = [
        "",
        "# Parameters: blanks the runbook leaves to you. Nothing is guessed: pass each one",
        "# as NAME=value on the command line (or set it in the environment).",
    ]
    for p in params:
        where = ", ".join(map(str, p.lines[:6])) + (" ..." if len(p.lines) > 6 else "")
        said = p.description and p.description.lower() not in p.placeholder.lower()
        about = f" - {_clean(p.description, 80)}" if said else ""
        aligned = f"#   {p.name:<{width}}  "
        out.append(_line(f"{_clean(p.placeholder, 60)}{about} (line {where})", aligned))
    names = " ".join(p.name for p in params)
    out += ['for opsgen_arg in "$@"; do', '  case "${opsgen_arg}" in']
    out += [f'    {p.name}=*) {p.name}="${{opsgen_arg#*=}}" ;;' for p in params]
    out += [
        "    *) printf 'opsgen: unknown argument %s (expected NAME=value)\\n' "
        f'"${{opsgen_arg}}" >&2; exit {_EXIT_USAGE} ;;',
        "  esac",
        "done",
        "opsgen_missing=()",
    ]
    out += [f"[[ -n ${{{p.name}:-}} ]] || opsgen_missing+=({p.name})" for p in params]
    out += [
        "if [[ ${#opsgen_missing[@]} -gt 0 ]]; then",
        "  printf 'opsgen: missing parameter: %s\\n' \"${opsgen_missing[@]}\" >&2",
        f"  printf 'usage: %s {' '.join(p.name + '=...' for p in params)}\\n' \"$0\" >&2",
        f"  exit {_EXIT_USAGE}",
        "fi",
        f"readonly {names}",
        f"export {names}",
    ]
    return out


# -- ansible ------------------------------------------------------------------------------


class _Unsafe(str):
    """Shell text Ansible must never template (``!unsafe``)."""


class _Dumper(yaml.SafeDumper):
    """SafeDumper plus the ``!unsafe`` tag; lists indented under their key (yamllint)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _unsafe(dumper: yaml.SafeDumper, value: _Unsafe) -> yaml.Node:
    return dumper.represent_scalar("!unsafe", str(value), style="|")


_Dumper.add_representer(_Unsafe, _unsafe)


def _yaml(value: object, indent: int) -> list[str]:
    text = yaml.dump(value, Dumper=_Dumper, sort_keys=False, width=100, allow_unicode=False)
    return [" " * indent + line for line in text.rstrip("\n").splitlines()]


def _ansible(plan: Plan) -> str:
    play: dict[str, object] = {
        "name": f"Runbook: {_task_text(plan.title)}",
        "hosts": "all",
        "gather_facts": False,
    }
    if plan.parameters:
        play["vars"] = {ansible_var(p): "" for p in plan.parameters}
    out = ["---", *_header(plan), *_yaml([play], 0), "  tasks:"]
    if plan.require_root:
        out += _yaml([_root_check()], 4)
    if plan.parameters:
        out += _yaml([_assert(plan.parameters)], 4)
    pending = [m for m in plan.manual if m.reason == "a step in prose only"]
    for block in plan.blocks:
        while pending and pending[0].step < block.step:
            out += ["", *("    " + line for line in _manual_prose(plan, pending.pop(0)))]
        out += ["", *("    " + line for line in _trace(plan, block))]
        if block.runs:
            out += _tasks(plan, block)
        else:
            out += ["    " + line for line in _body(block, plan.parameters)]
    for manual in pending:
        out += ["", *("    " + line for line in _manual_prose(plan, manual))]
    return "\n".join(out).rstrip() + "\n"


def _task_text(text: str) -> str:
    # Task and play names are templated by Ansible: no braces survive into them.
    return _clean(text, 100).replace("{", "(").replace("}", ")")


def _tasks(plan: Plan, block: Block) -> list[str]:
    """The block's tasks: one shell task, or module tasks with shell tasks between them."""
    variables = {p.name: ansible_var(p) for p in plan.parameters}
    found = pieces(block.items, variables)
    if len(found) == 1 and not found[0].tasks:
        return _yaml([_task(plan, block)], 4)
    out: list[str] = []
    for index, piece in enumerate(found):
        start = block.line_start if index == 0 else piece.items[0].line
        part = replace(block, items=piece.items, line_start=start)
        if not piece.tasks:
            out += _yaml([_task(plan, part)], 4) if part.runs else [
                "    " + line for line in _body(part, plan.parameters)]  # fmt: skip
        else:
            out += _module_tasks(plan, part, piece)
    return out


def _module_tasks(plan: Plan, block: Block, piece: Piece) -> list[str]:
    """Comments of the piece (the runbook's, opsgen's notes), then one task per module."""
    runs = [i for i in piece.items if i.kind == "run"]
    lines: list[str] = []
    for item in piece.items:  # a command's own text is in its task: only its notes stay
        said = _item(block.step, item)
        lines += [line for line in said if line.startswith("#")] if item.kind == "run" else said
    modules = ", ".join(dict.fromkeys(t.module for t in piece.tasks))
    lines.append(_line(f"# opsgen: {_clean(' && '.join(i.text for i in runs), 100)} -> {modules}"))
    out = ["    " + line for line in lines]
    where = f"{_task_text(PurePosixPath(plan.path).name)}:{runs[0].line}"
    for task in piece.tasks:
        shown = re.sub(r'"?\$\{?(\w+)\}?"?', r"<\1>", task.command)  # "${SERVICE}" -> <SERVICE>
        name = f"Step {block.step}: {_task_text(_clean(shown, 70))} ({where})"
        out += _yaml([{"name": name, task.module: dict(task.args)}], 4)
    return out


def _task(plan: Plan, block: Block) -> dict[str, object]:
    body = _body(block, plan.parameters)
    name = f"Step {block.step}: {_task_text(block.heading) or 'runbook step'}"
    task: dict[str, object] = {
        "name": f"{name} ({_task_text(PurePosixPath(plan.path).name)}:{block.line_start})",
        "ansible.builtin.shell": {
            "cmd": _Unsafe("set -euo pipefail\n" + "\n".join(body) + "\n"),
            "executable": "/bin/bash",
        },
    }
    used = [p for p in plan.parameters if any(re.search(rf"\${{?{p.name}\b", t) for t in body)]
    if used:
        task["environment"] = {p.name: f"{{{{ {ansible_var(p)} }}}}" for p in used}
    task["changed_when"] = not all(is_read_only(i.text) for i in block.runs)
    return task


def _assert(params: tuple[Parameter, ...]) -> dict[str, object]:
    names = ", ".join(f"-e {ansible_var(p)}=..." for p in params)
    return {
        "name": "Check that every parameter of the runbook is set",
        "ansible.builtin.assert": {
            "that": [f"{ansible_var(p)} | string | length > 0" for p in params],
            "fail_msg": f"missing parameter: pass {names} (see the play's vars)",
            "quiet": True,
        },
    }


def _root_check() -> dict[str, object]:
    return {
        "name": "Check that the play runs as root (the runbook uses sudo)",
        "ansible.builtin.command": {"cmd": "id -u"},
        "register": "opsgen_uid",
        "changed_when": False,
        "failed_when": "opsgen_uid.stdout != '0'",
    }
