"""Known wrong module names, options and values, corrected before any check or model call.

Small models write the same Ansible mistakes again and again: ``ansible.builtin.file`` with
``state: present`` (the module has no such state), ``lineinfile`` with ``append: true``
(borrowed from ``user``), ``cron`` with ``day_of_week`` or ``command``, a module called
``usermod``. Each fails only when the task runs, and asked to fix one, a 1.5B model often
returns the same playbook. Where the intended meaning is certain, a program fixes it better:
each correction here is one table row with the reason it keeps the meaning, and each applied
one is a note the review shows ("Corrected by opsgen").

What is corrected and why it is safe:

* an option the module does not have, renamed to the option of that meaning
  (``cron: day_of_week`` -> ``weekday``, ``find: type`` -> ``file_type``);
* an option dropped only where the module already does what it asks (``lineinfile:
  append: true``: lineinfile adds a missing line at the end by default; ``user:
  update_cache``: apt's option, it has no meaning for a user);
* find's ``state: file`` (or directory, link, any), the kind of entry it selects:
  ``file_type``; its ``age``/``size`` written with a word (``7 days``, ``100MB``, ``+7d``):
  the number and the one letter the module reads (``7d``, ``100m``);
* a value the module refuses, mapped to the one that means the same (``file: state:
  present`` -> ``touch`` with both times preserved: create when missing, change nothing
  when present; ``apt: state: installed`` -> ``present``);
* a module that does not exist, renamed to the one that does that job, with the options
  that say how (``usermod`` -> ``user``, ``symlink`` -> ``file`` with ``state: link``);
* ``file`` (or ``template``) with ``content``: ``copy``, the module that writes a file's
  text (``path`` becomes ``dest``; a ``file``/``touch``/``present`` state is dropped), when
  every other option means the same for copy;
* ``lineinfile``/``blockinfile`` on a file in a drop-in folder (``/etc/sudoers.d/NAME``,
  ``/etc/sysctl.d/NAME.conf``) with no ``create``: ``create: true`` (such a file is its own
  and usually new; without it the task fails instead of writing the line);
* ``file: state: touch`` on a path a later task writes (copy, template, lineinfile ...):
  both times preserved, so it only makes sure the file exists and a second run changes
  nothing;
* ``file`` with a ``src`` and no state, or a state that cannot take one (``present``,
  ``touch``, ``file``): ``state: link``, since only a link (or a hard link, which the model
  would have named) has a source; without this ``present`` would become ``touch`` and the
  link a file;
* a task keyword written among the module's options (``register:``, ``loop:``, ``when:``
  ... indented one level too deep), moved up to the task: no built-in module has an option
  of that name, so the module refuses it ("Unsupported parameters").

Last, a user or group task written after the first task that names its account as owner
or group moves up to just before it (:mod:`~opsgen.validators.ansible.taskorder`).

Anything else stays as written: the static check (OPS212/OPS204) names it and the model is
asked. Only block-style mappings are edited, line by line, so the rest of the text keeps its
bytes; the result must load again or nothing is changed. Parsing is all this does with the
text: nothing in it runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from opsgen.validators.ansible.taskorder import accounts_first
from opsgen.validators.ansible.tasks import Task, builtin_fqcn, iter_tasks, yaml_bool
from opsgen.validators.ansible.yamlload import KeyMark, LineDict, YamlError, load_yaml

__all__ = ["MODULES", "OPTIONS", "VALUES", "Fixed", "correct_arguments"]


@dataclass(frozen=True, slots=True)
class Rename:
    """``option`` of ``module`` is ``to``, or (``to`` None) is dropped when its value is
    ``when`` (any value if ``when`` is None); with ``values``, only for one of those."""

    to: str | None
    why: str
    when: bool | None = None
    values: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class Value:
    """``option: value`` of ``module`` becomes ``option: to``, plus the ``add`` options."""

    to: str
    why: str
    add: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Module:
    """A module that does not exist, and the built-in module (plus options) doing its job."""

    to: str
    why: str
    add: tuple[tuple[str, str], ...] = ()


#: (module short name, option) -> correction.
OPTIONS: dict[tuple[str, str], Rename] = {
    ("cron", "day_of_week"): Rename("weekday", "cron's day-of-week option is weekday"),
    ("cron", "command"): Rename("job", "cron's command option is job"),
    ("cron", "hours"): Rename("hour", "cron's option is hour"),
    ("cron", "minutes"): Rename("minute", "cron's option is minute"),
    ("cron", "user_name"): Rename("user", "cron's option is user"),
    ("find", "type"): Rename("file_type", "find's option for the kind of entry is file_type"),
    ("find", "recursive"): Rename("recurse", "find's option is recurse"),
    ("find", "state"): Rename("file_type", "find has no state; the kind of entry it selects "
                                           "is file_type", values=frozenset(
                                               {"file", "directory", "link", "any"})),
    ("file", "recursive"): Rename("recurse", "file's option is recurse"),
    ("copy", "permissions"): Rename("mode", "the permission bits are the mode option"),
    ("file", "permissions"): Rename("mode", "the permission bits are the mode option"),
    ("template", "permissions"): Rename("mode", "the permission bits are the mode option"),
    ("service", "enable"): Rename("enabled", "the option is enabled"),
    ("systemd", "enable"): Rename("enabled", "the option is enabled"),
    ("systemd_service", "enable"): Rename("enabled", "the option is enabled"),
    ("lineinfile", "append"): Rename(
        None, "lineinfile adds a line that is not there at the end of the file by default",
        when=True),
    ("lineinfile", "fail_on_missing"): Rename(
        None, "lineinfile fails on a missing file unless create is true", when=True),
    ("cron", "enabled"): Rename(None, "cron has no enabled option: a job is enabled unless "
                                      "disabled is true", when=True),
    ("user", "update_cache"): Rename(None, "update_cache is apt's option; it means nothing "
                                           "for a user"),
    ("group", "update_cache"): Rename(None, "update_cache is apt's option; it means nothing "
                                            "for a group"),
}

_PRESERVE = (("access_time", "preserve"), ("modification_time", "preserve"))

#: (module short name, option, refused value) -> correction.
VALUES: dict[tuple[str, str, str], Value] = {
    ("file", "state", "present"): Value(
        "touch", "file has no state present; touch with both times preserved creates the "
        "file when it is missing and changes nothing when it is there", _PRESERVE),
    ("apt", "state", "installed"): Value("present", "apt's state for installed is present"),
    ("apt", "state", "removed"): Value("absent", "apt's state for removed is absent"),
    ("service", "state", "running"): Value("started", "the state for running is started"),
    ("systemd", "state", "running"): Value("started", "the state for running is started"),
    ("file", "state", "symlink"): Value("link", "file's state for a symlink is link"),
    ("file", "state", "dir"): Value("directory", "file's state for a folder is directory"),
}

#: find's ``age`` and ``size`` take a number and one letter (``7d``, ``10m``); the words the
#: models write for them (``7 days``, ``100MB``, ``+7d``), by the letter each one means.
_UNITS: dict[tuple[str, str], dict[str, str]] = {
    ("find", "age"): {w: w[0] for w in (
        "s", "sec", "secs", "second", "seconds", "m", "min", "mins", "minute", "minutes",
        "h", "hr", "hrs", "hour", "hours", "d", "day", "days", "w", "wk", "wks", "week",
        "weeks")},
    ("find", "size"): {w: w[0] for w in (
        "b", "byte", "bytes", "k", "kb", "kib", "m", "mb", "mib", "g", "gb", "gib", "t", "tb",
        "tib")},
}
_AMOUNT = re.compile(r"\+?(-?\d+)\s*([A-Za-z]*)")

#: module short name -> the built-in module doing its job.
MODULES: dict[str, Module] = {
    "usermod": Module("ansible.builtin.user", "there is no usermod module: user changes "
                                              "accounts"),
    "useradd": Module("ansible.builtin.user", "there is no useradd module: user creates "
                                              "accounts"),
    "groupadd": Module("ansible.builtin.group", "there is no groupadd module: group creates "
                                                "groups"),
    "symlink": Module("ansible.builtin.file", "there is no symlink module: file makes links "
                                              "with state link", (("state", "link"),)),
    "mkdir": Module("ansible.builtin.file", "there is no mkdir module: file makes folders "
                                            "with state directory", (("state", "directory"),)),
    "systemctl": Module("ansible.builtin.systemd", "there is no systemctl module: systemd "
                                                   "manages units"),
}


#: Task keywords (:func:`~opsgen.validators.ansible.tasks.is_task_keyword`) the models indent
#: with the module's options and no built-in module has as an option (both tested): written
#: under the module, they belong one level up.
MISPLACED_KEYWORDS = frozenset({
    "register", "loop", "when", "notify", "tags", "ignore_errors", "changed_when",
    "failed_when", "loop_control", "with_items", "become", "become_user", "no_log",
})

_LINK_SOURCE = "file makes a link from src with state link; no other state takes a src"


@dataclass(frozen=True, slots=True)
class Fixed:
    """The corrected text and one note per correction (empty when nothing applied)."""

    text: str
    notes: tuple[str, ...] = ()


class _Edits:
    """Line edits on the text, checked against what the parser saw."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines(keepends=True)
        self.notes: list[str] = []
        self.inserts: dict[int, list[str]] = {}
        self.dropped: set[int] = set()

    def at(self, line: int, col: int, token: str) -> bool:
        """``token`` stands verbatim at (line, col) of a line not dropped."""
        if not 1 <= line <= len(self.lines) or line - 1 in self.dropped:
            return False
        return self.lines[line - 1][col - 1:col - 1 + len(token)] == token

    def replace(self, line: int, col: int, old: str, new: str) -> bool:
        """``old`` at (line, col) becomes ``new``; False when it is not there verbatim."""
        if not self.at(line, col, old):
            return False
        text = self.lines[line - 1]
        self.lines[line - 1] = text[:col - 1] + new + text[col - 1 + len(old):]
        return True

    def drop(self, line: int) -> None:
        self.dropped.add(line - 1)

    def insert_after(self, line: int, indent: int, pairs: tuple[tuple[str, str], ...]) -> None:
        self.inserts.setdefault(line - 1, []).extend(
            f"{' ' * indent}{key}: {value}\n" for key, value in pairs)

    def text(self) -> str:
        out: list[str] = []
        for i, line in enumerate(self.lines):
            if i not in self.dropped:
                # a last line without its newline gets one when lines follow it
                out.append(line if i not in self.inserts or line.endswith("\n") else line + "\n")
            out.extend(self.inserts.get(i, ()))
        return "".join(out)


def _one_line(args: LineDict, key: str) -> bool:
    """``key: value`` alone on its line, a plain scalar (so dropping the line drops just it)."""
    mark = args.mark(key)
    value = args[key]
    return (mark.value_line == mark.line and not isinstance(value, (dict, list))
            and mark.style in (None, '"', "'"))


def _fix_task(task: Task, edits: _Edits) -> None:
    args = task.data.get(task.module)
    if not isinstance(args, LineDict) or not args.marks:
        return  # free-form or flow style: leave it to the static check and the model
    fqcn = builtin_fqcn(task.module)
    if fqcn is None:
        return
    short = fqcn.rsplit(".", 1)[-1]
    module = MODULES.get(short)
    added: set[str] = set()
    if module is not None:
        mark = task.module_mark()
        if not edits.replace(mark.line, mark.col, task.module, module.to):
            return
        edits.notes.append(f"line {mark.line}: {task.module} -> {module.to} ({module.why})")
        missing = tuple((k, v) for k, v in module.add if k not in args)
        added = {k for k, _ in missing}
        if missing:
            first = min(args.marks.values(), key=lambda m: m.line)
            edits.insert_after(mark.line, first.col - 1, missing)
        short = module.to.rsplit(".", 1)[-1]
    if short == "file" and "src" in args and "state" not in added:
        _link_state(args, task.module_mark().line, edits)
    if short in ("file", "template") and module is None and _content_to_copy(task, args, edits):
        short = "copy"
    if short in ("lineinfile", "blockinfile"):
        _create_drop_in(short, args, edits)
    _lift_keywords(task, args, edits)
    for key in list(args):
        if not isinstance(key, str) or key in MISPLACED_KEYWORDS:
            continue
        if short == "file" and key == "state" and "src" in args:
            continue  # decided by _link_state
        mark = args.mark(key)
        rename = OPTIONS.get((short, key))
        if rename is not None and rename.values is not None and (
                not isinstance(args[key], str) or args[key] not in rename.values):
            rename = None
        if rename is not None:
            if rename.to is not None and rename.to not in args:
                if edits.replace(mark.line, mark.col, key, rename.to):
                    edits.notes.append(f"line {mark.line}: {short} option {key} -> "
                                       f"{rename.to} ({rename.why})")
            elif rename.to is None and _one_line(args, key) and (
                    rename.when is None or yaml_bool(args[key]) is rename.when):
                edits.drop(mark.line)
                edits.notes.append(f"line {mark.line}: {short} option {key} removed "
                                   f"({rename.why})")
            continue
        value = args[key]
        if _amount(short, key, value, mark, edits):
            continue
        fix = VALUES.get((short, key, str(value))) if isinstance(value, str) else None
        if fix is not None and mark.value_line == mark.line and \
                edits.replace(mark.value_line, mark.value_col, _written(value, mark.style),
                              _written(fix.to, mark.style)):
            edits.notes.append(f"line {mark.line}: {short} {key}: {value} -> {fix.to} "
                               f"({fix.why})")
            extra = tuple((k, v) for k, v in fix.add if k not in args)
            if extra:
                edits.insert_after(mark.line, mark.col - 1, extra)


def _amount(short: str, key: str, value: object, mark: KeyMark, edits: _Edits) -> bool:
    """find's ``age``/``size`` written with a unit word becomes number + letter."""
    units = _UNITS.get((short, key))
    if units is None or not isinstance(value, str) or mark.value_line != mark.line:
        return False
    match = _AMOUNT.fullmatch(value.strip())
    if match is None or match.group(2).lower() not in units:
        return False
    to = match.group(1) + units[match.group(2).lower()]
    if to == value or not edits.replace(mark.value_line, mark.value_col,
                                        _written(value, mark.style), _written(to, mark.style)):
        return False
    edits.notes.append(f"line {mark.line}: {short} {key}: {value} -> {to} ({short}'s {key} "
                       f"is a number and one letter)")
    return True


#: ``file``/``template`` options that ``copy`` takes as they are (``path``/``name`` become
#: ``dest``; ``state: file``/``touch``/``present`` and touch's times are dropped).
_COPY_KEEPS = frozenset({"dest", "content", "mode", "owner", "group", "attributes", "backup",
                         "force", "seuser", "serole", "setype", "selevel", "unsafe_writes"})
_COPY_DROPS = frozenset({"state", "access_time", "modification_time"})
_CONTENT = "only copy writes a file's text from content; file and template have no content"


def _content_to_copy(task: Task, args: LineDict, edits: _Edits) -> bool:
    """``file`` (or ``template``) with ``content``: the task writes that text to a file,
    which is ``copy``'s job; only when every other option means the same for copy."""
    if "content" not in args or "src" in args:
        return False
    target = [k for k in ("path", "dest", "name") if k in args]
    state = args.get("state", "file")
    if len(target) != 1 or state not in ("file", "touch", "present") or any(
            k not in _COPY_KEEPS | _COPY_DROPS | {"path", "name"} for k in args):
        return False
    if any(k in args and not _one_line(args, k) for k in _COPY_DROPS | {target[0]}):
        return False
    mark = task.module_mark()
    if not edits.at(mark.line, mark.col, task.module):
        return False
    key = target[0]
    if key != "dest":
        key_mark = args.mark(key)
        if not edits.replace(key_mark.line, key_mark.col, key, "dest"):
            return False
    edits.replace(mark.line, mark.col, task.module, "ansible.builtin.copy")
    for k in _COPY_DROPS & set(args):
        edits.drop(args.mark(k).line)
    edits.notes.append(f"line {mark.line}: {task.module} with content -> ansible.builtin.copy "
                       f"({_CONTENT})")
    return True


#: A file in a drop-in folder (``/etc/sudoers.d/backup``, ``/etc/sysctl.d/90-net.conf``,
#: ``/etc/systemd/system/x.service.d/override.conf``): a file of its own, usually new.
_DROP_IN = re.compile(r"/etc/(?:[\w.@-]+/)*[\w.@-]+\.d/[\w.@-]+")
_CREATE = ("a line for a file in a drop-in folder: the file is often new, and without create "
           "lineinfile fails on a missing file instead of writing it")


def _create_drop_in(short: str, args: LineDict, edits: _Edits) -> None:
    """lineinfile/blockinfile on a drop-in file, with no ``create``: ``create: true``."""
    target = [k for k in ("path", "dest", "destfile", "name") if k in args]
    if len(target) != 1 or "create" in args or str(args.get("state", "present")) != "present":
        return
    path = args[target[0]]
    mark = args.mark(target[0])
    if not isinstance(path, str) or not _DROP_IN.fullmatch(path) or mark.value_line != mark.line:
        return
    edits.insert_after(mark.line, mark.col - 1, (("create", "true"),))
    edits.notes.append(f"line {mark.line}: {short} create: true added ({_CREATE})")


_WRITERS = frozenset({"copy", "template", "lineinfile", "blockinfile", "replace", "ini_file"})
_QUIET = ("touch only makes sure the file exists before a later task writes it; with both "
          "times preserved it changes nothing when the file is there, so a second run reports "
          "no change")


def _quiet_touch(tasks: list[Task], edits: _Edits) -> None:
    """``file: state: touch`` (times not preserved) on a path a later task writes: both
    times preserved, as for ``state: present`` (a plain touch changes the file at every
    run, so the play is never idempotent)."""
    for i, task in enumerate(tasks):
        args = task.data.get(task.module)
        fqcn = builtin_fqcn(task.module)
        if fqcn != "ansible.builtin.file" or not isinstance(args, LineDict) or not args.marks:
            continue
        path = next((args[k] for k in ("path", "dest", "name") if k in args), None)
        if args.get("state") != "touch" or not isinstance(path, str) or \
                "access_time" in args or "modification_time" in args or "{{" in path:
            continue
        written = any(
            (later_fqcn := builtin_fqcn(later.module)) is not None
            and later_fqcn.rsplit(".", 1)[-1] in _WRITERS
            and path in (later.args.get("dest"), later.args.get("path"), later.args.get("name"))
            for later in tasks[i + 1:])
        mark = args.mark("state")
        if written and mark.value_line == mark.line:
            edits.insert_after(mark.line, mark.col - 1, _PRESERVE)
            edits.notes.append(f"line {mark.line}: file state: touch keeps both times "
                               f"({_QUIET})")


def _link_state(args: LineDict, module_line: int, edits: _Edits) -> None:
    """``file`` with ``src``: a missing state, or one that cannot take a source, is link."""
    if "state" not in args:
        first = min(args.marks.values(), key=lambda m: m.line)
        edits.insert_after(module_line, first.col - 1, (("state", "link"),))
        edits.notes.append(f"line {module_line}: file state: link added ({_LINK_SOURCE})")
        return
    value, mark = args["state"], args.mark("state")
    if not isinstance(value, str) or value not in ("present", "touch", "file"):
        return
    if mark.value_line == mark.line and edits.replace(
            mark.value_line, mark.value_col, _written(value, mark.style),
            _written("link", mark.style)):
        edits.notes.append(f"line {mark.line}: file state: {value} -> link ({_LINK_SOURCE})")
        for key in ("access_time", "modification_time"):  # touch's options, not a link's
            if key in args and args[key] == "preserve" and _one_line(args, key):
                edits.drop(args.mark(key).line)


def _lift_keywords(task: Task, args: LineDict, edits: _Edits) -> None:
    """Task keywords under the module, one line each, moved up before the module key."""
    module = task.module_mark()
    if module.line == task.data.line:
        return  # the module is the task's first key (``- ansible.builtin.find:``): no room
    for key in [k for k in args if isinstance(k, str) and k in MISPLACED_KEYWORDS]:
        if key in task.data or not _one_line(args, key):
            continue  # also given at the task's level, or a block value: not certain
        mark = args.mark(key)
        if not edits.at(mark.line, mark.col, f"{key}:"):
            continue
        value = edits.lines[mark.line - 1][mark.value_col - 1:].rstrip()
        edits.drop(mark.line)
        edits.insert_after(module.line - 1, module.col - 1, ((key, value),))
        edits.notes.append(f"line {mark.line}: {key} moved from the {task.short} options to "
                           f"the task (a task keyword, not an option of the module)")


def _written(value: str, style: str | None) -> str:
    return f"{style}{value}{style}" if style in ('"', "'") else value


def correct_arguments(text: str) -> Fixed:
    """``text`` with the known wrong module names, options and values corrected and each
    account made before the task that names it (see the module docstring and
    :mod:`~opsgen.validators.ansible.taskorder`); unchanged when it does not load or
    nothing applies."""
    try:
        docs = load_yaml(text)
    except YamlError:
        return Fixed(text)
    edits = _Edits(text)
    tasks = list(iter_tasks(docs))
    for task in tasks:
        _fix_task(task, edits)
    _quiet_touch(tasks, edits)
    fixed = edits.text() if edits.notes else text
    notes = tuple(edits.notes)
    if notes:
        try:
            if not load_yaml(fixed):
                fixed, notes = text, ()
        except YamlError:
            fixed, notes = text, ()
    fixed, moved = accounts_first(fixed)
    return Fixed(fixed, tuple(f"corrected {n}" for n in notes + moved))
