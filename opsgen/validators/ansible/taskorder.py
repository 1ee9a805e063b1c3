"""Accounts before their use: a user or group task moved up to the first task that needs it.

A task that sets ``owner: metrics`` fails with "chown failed: failed to look up user
metrics" when the ``ansible.builtin.user`` task creating ``metrics`` comes later in the
play. Small models write that order often (the folder first, then its user), and told the
error with its fix, a 1.5B model tends to return the same order. The playbook has already
said what it wants: the account exists, and the folder belongs to it. Creating the account
first does the same work without the failure, so this is corrected like a wrong option
(:mod:`opsgen.validators.ansible.argfix`): a note the review shows, nothing run.

What moves and when (anything uncertain stays as written):

* a ``user`` or ``group`` task (built-in module, block-style options, a literal ``name``,
  no ``state: absent``, no ``when``, loop or ``{{`` anywhere in it) that comes after the
  first task in the same task list naming its account as ``owner``/``group`` (a file, copy,
  template ... option) or, for a group, as a user's ``group``/``groups``;
* it moves to just before that first task, whole (its lines, the comments inside and right
  above it included); tasks moved before the same task keep their order, the other tasks
  keep theirs, blank lines between tasks stay where they were;
* a user whose ``home`` lies under a folder that a task it would pass over names is not
  moved (useradd may need that folder), nor is a task in ``handlers`` (they run at the end).

The result must load again with the same tasks, or nothing is changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from opsgen.validators.ansible.tasks import builtin_fqcn, iter_tasks
from opsgen.validators.ansible.yamlload import LineDict, YamlError, load_yaml

__all__ = ["accounts_first"]

_LISTS = ("pre_tasks", "tasks", "post_tasks", "block", "rescue", "always")
_PATH_KEYS = ("path", "dest", "name")
_USE_KEYS = ("owner", "group")
_NOT_MOVABLE = frozenset({"when", "loop", "loop_control", "until", "delegate_to", "block"})


@dataclass(frozen=True, slots=True)
class _Item:
    """One task of a list: its line span (1-based, inclusive) and what it makes or needs."""

    first: int
    last: int
    kind: str | None  # "user", "group" or None
    name: str | None  # the account a movable user/group task makes
    uses_users: frozenset[str]
    uses_groups: frozenset[str]
    paths: frozenset[str]  # folders or files the task names (path/dest)
    home: str | None


def _literal(value: Any) -> str | None:
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        text = str(value).strip()
        if text and "{{" not in text and "{%" not in text:
            return text
    return None


def _span(lines: list[str], item: LineDict, col: int) -> tuple[int, int] | None:
    """The lines of a block-sequence item whose first key sits at ``col`` (1-based)."""
    start = item.line
    head = lines[start - 1] if 0 < start <= len(lines) else ""
    dash = head[:col - 1].rstrip()
    if not dash.endswith("-") or dash[:-1].strip():
        return None  # not ``- key:`` on one line (flow style, or the dash on its own line)
    indent = len(dash) - 1
    last = start
    for number in range(start + 1, len(lines) + 1):
        text = lines[number - 1]
        stripped = text.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if len(text) - len(text.lstrip(" ")) <= indent:
            break
        last = number
    return start, last


def _item(lines: list[str], item: Any) -> _Item | None:
    if not isinstance(item, LineDict) or not item.marks:
        return None
    first_key = min(item.marks.values(), key=lambda m: (m.line, m.col))
    span = _span(lines, item, first_key.col)
    if span is None:
        return None
    tasks = list(iter_tasks([[item]]))
    task = tasks[0] if len(tasks) == 1 and tasks[0].data is item else None
    fqcn = builtin_fqcn(task.module) if task is not None else None
    short = fqcn.rsplit(".", 1)[-1] if fqcn else None
    args = task.args if task is not None else {}
    text = "".join(lines[span[0] - 1:span[1]])
    kind = short if short in ("user", "group") else None
    name = None
    if kind is not None and task is not None:
        block = isinstance(item.get(task.module), LineDict)
        movable = (block and "{{" not in text and "{%" not in text
                   and not any(k in item for k in _NOT_MOVABLE)
                   and not any(isinstance(k, str) and k.startswith("with_") for k in item)
                   and str(args.get("state", "present")) != "absent")
        name = _literal(args.get("name")) if movable else None
    users: set[str] = set()
    groups: set[str] = set()
    if kind == "user":
        groups.update(g for g in _names(args.get("group")) + _names(args.get("groups")))
    elif kind is None:
        if (owner := _literal(args.get("owner"))) is not None:
            users.add(owner)
        if (group := _literal(args.get("group"))) is not None:
            groups.add(group)
    paths = frozenset(p for k in _PATH_KEYS if kind is None
                      and (p := _literal(args.get(k))) is not None and p.startswith("/"))
    home = _literal(args.get("home")) if kind == "user" else None
    return _Item(span[0], span[1], kind, name, frozenset(users), frozenset(groups), paths,
                 home)


def _names(value: Any) -> list[str]:
    if isinstance(value, list):
        return [n for v in value if (n := _literal(v)) is not None]
    text = _literal(value)
    return [n.strip() for n in text.split(",") if n.strip()] if text else []


def _needs(user: _Item, item: _Item) -> bool:
    """``item`` names the account ``user`` makes."""
    if user.name is None:
        return False
    if user.kind == "user":
        return user.name in item.uses_users or (item.kind is None and user.name in
                                                item.uses_groups)
    return user.name in item.uses_groups


def _passes_home(mover: _Item, over: list[_Item]) -> bool:
    """A user's home lies under a folder one of the passed tasks names (the home itself
    may be made before or after: useradd leaves an existing home as it is)."""
    if mover.home is None:
        return False
    home = mover.home.rstrip("/") + "/"
    return any(home.startswith(p.rstrip("/") + "/") and home != p.rstrip("/") + "/"
               for i in over for p in i.paths if p.rstrip("/"))


def _order(items: list[_Item]) -> tuple[list[int], list[tuple[_Item, _Item]]]:
    """The new order (indexes) of one task list, and each move: (task moved, task it now
    comes before)."""
    order = list(range(len(items)))
    moves: list[tuple[_Item, _Item]] = []
    for _ in range(len(items) * len(items)):  # each pass moves one task earlier, or stops
        for pos, index in enumerate(order):
            mover = items[index]
            if mover.name is None:
                continue
            target = next((p for p in range(pos) if _needs(mover, items[order[p]])), None)
            if target is None:
                continue
            over = [items[order[p]] for p in range(target, pos)]
            if mover.kind == "user" and _passes_home(mover, over):
                continue
            moves.append((mover, items[order[target]]))
            order.insert(target, order.pop(pos))
            break
        else:
            break
    return order, moves


def _lists(docs: list[Any]) -> list[list[Any]]:
    """Every task list of the plays and their blocks (handlers excepted)."""
    out: list[list[Any]] = []
    stack: list[Any] = [i for d in docs if isinstance(d, list) for i in d]
    while stack:
        item = stack.pop()
        if not isinstance(item, dict):
            continue
        for key in _LISTS:
            value = item.get(key)
            if isinstance(value, list):
                out.append(value)
                stack.extend(value)
    return out


def _signature(docs: list[Any]) -> list[str]:
    return sorted(repr(sorted(t.data.items(), key=repr)) for t in iter_tasks(docs))


def accounts_first(text: str) -> tuple[str, tuple[str, ...]]:
    """``text`` with each user/group task moved before the first task that names its
    account (see the module docstring), and one note per move; unchanged when nothing
    applies or the text does not load."""
    try:
        docs = load_yaml(text)
    except YamlError:
        return text, ()
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    lists: list[tuple[list[tuple[int, int]], list[int]]] = []
    notes: list[str] = []
    for tasks in _lists(docs):
        items = [_item(lines, t) for t in tasks]
        known = [i for i in items if i is not None]
        if len(known) < 2 or len(known) != len(items):
            continue  # a task this cannot place: leave the whole list as written
        order, moves = _order(known)
        if not moves:
            continue
        lists.append(([(i.first, i.last) for i in known], order))
        notes.extend(f"line {m.first}: the {m.kind} {m.name} task moved before line "
                     f"{t.first}, which names it (an owner or group that does not exist yet "
                     f"fails that task)" for m, t in moves)
    if not lists:
        return text, ()
    out = list(lines)
    # the latest list first: a block's own list is inside its task, whose lines move whole
    # afterwards (moving keeps the number of lines, so earlier spans stay where they were)
    for spans, order in sorted(lists, key=lambda m: m[0][0][0], reverse=True):
        src = list(out)
        blocks = [src[a - 1:b] for a, b in spans]
        gaps = [src[a:b - 1] for (_, a), (b, _) in pairwise(spans)]
        for i, gap in enumerate(gaps):  # comments right above a task go with it
            cut = max((n + 1 for n, line in enumerate(gap) if not line.strip()), default=0)
            gaps[i], blocks[i + 1] = gap[:cut], gap[cut:] + blocks[i + 1]
        new: list[str] = []
        for pos, index in enumerate(order):
            new.extend(blocks[index])
            if pos < len(gaps):
                new.extend(gaps[pos])
        out[spans[0][0] - 1:spans[-1][1]] = new
    fixed = "".join(out)
    if not text.endswith("\n"):
        fixed = fixed[:-1]
    try:
        if _signature(load_yaml(fixed)) != _signature(docs):
            return text, ()
    except YamlError:
        return text, ()
    return fixed, tuple(notes)

