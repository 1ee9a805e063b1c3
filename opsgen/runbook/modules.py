"""Runbook commands that have an Ansible module: ``apt-get install -y nginx`` -> ``apt``.

A playbook that runs ``apt-get`` through ``shell`` is not idempotent, cannot report
``changed`` truthfully and trips OPS201. This table maps the common ones to their module,
one small function per command, each taking the command's words and returning the task's
module and arguments. The rule everywhere is *correctness first*: a command is mapped only
when the module does what the command does on a host; any option a mapper does not know,
any shell syntax beyond plain words (pipes, redirections, globs, command substitution,
unquoted variables), or a word Ansible would template, and the command stays ``shell``.

Parameters (``"${SERVICE}"``, a blank the runbook leaves to the operator) become
``{{ service }}``: the play's variable of the same parameter. ``sysctl -w`` is not mapped:
``ansible.posix`` is not in the sandbox image the dry-run runs playbooks in, so the task
could not run there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from opsgen.runbook.plan import Item
from opsgen.runbook.shellwords import (
    COMMENT,
    DOUBLE,
    ESCAPED,
    SINGLE,
    UNQUOTED,
    contexts,
    segments,
    words,
)

__all__ = ["MAPPERS", "ModuleTask", "Piece", "pieces", "to_modules"]


@dataclass(frozen=True, slots=True)
class ModuleTask:
    """One Ansible module call standing for one runbook command.

    Attributes:
        module: the fully qualified module name.
        args: the module's arguments.
        command: the runbook command it stands for (after opsgen's rewrites).
    """

    module: str
    args: dict[str, Any] = field(default_factory=dict)
    command: str = ""


#: A mapper: the command's name and arguments (quotes removed, parameters as ``{{ var }}``)
#: to the task, or None when the options are not all understood.
Mapper = Callable[[list[str]], "ModuleTask | None"]

_VAR = re.compile(r"\$(?:\{(?P<braced>[A-Za-z_]\w*)\}|(?P<bare>[A-Za-z_]\w*))")
_UNQUOTED_SPECIAL = set("<>|;&()$`*?[]{}~!#\\")
_JINJA = ("{{", "{%", "{#", "}}", "%}", "#}")
_PACKAGE = re.compile(r"^[a-z0-9][a-z0-9+.\-]*(?::[a-z0-9-]+)?(?:=[\w.+:~\-]+)?$|^\{\{ \w+ \}\}$")
_NAME = re.compile(r"^(?!-)(?:[A-Za-z0-9_.@\-]|\{\{ \w+ \}\})+$")
_OCTAL = re.compile(r"^0?[0-7]{3}$")
_OWNER = re.compile(r"^(?P<owner>[a-z_][a-z0-9_.\-]*)?(?::(?P<group>[a-z_][a-z0-9_.\-]*))?$")


def to_modules(command: str, variables: Mapping[str, str] | None = None) -> tuple[ModuleTask, ...]:
    """The module tasks that do what ``command`` does, or ``()`` when it stays shell.

    Args:
        command: one runbook command as the script would run it (``sudo`` already dropped).
            An ``a && b`` chain maps only when every part does, one task each (the play
            stops at a failing part, where the shell would have skipped the rest).
        variables: parameter name -> play variable (``SERVICE`` -> ``service``); a
            parameter inside double quotes becomes ``{{ service }}``, anything else with a
            ``$`` stays shell.
    """
    appended = _append(command, variables or {})
    if appended is not None:
        return (appended,)
    parts = _and_chain(command)
    tasks: list[ModuleTask] = []
    for part in parts:
        argv = _plain_words(part, variables or {})
        if not argv:
            return ()
        if argv[0] == "sudo":
            argv = argv[1:]
        mapper = MAPPERS.get(argv[0]) if argv else None
        task = mapper(argv[1:]) if mapper else None
        if task is None:
            return ()
        tasks.append(ModuleTask(task.module, task.args, part))
    return tuple(tasks)


def _and_chain(command: str) -> list[str]:
    """``a && b`` -> [a, b]; any other operator (``|``, ``;``, ``||``, ``&``) -> [] ."""
    parts = segments(command)
    position = 0
    for index, part in enumerate(parts):
        start = command.index(part, position)
        gap = command[position:start].strip()
        if gap != ("&&" if index else ""):
            return []
        position = start + len(part)
    return parts if not command[position:].strip() else []


def _plain_words(command: str, variables: Mapping[str, str]) -> list[str]:
    """Words of a command that is plain words only, parameters as ``{{ var }}``; [] if not."""
    ctx = contexts(command)
    for index, (char, where) in enumerate(zip(command, ctx, strict=True)):
        if where == UNQUOTED and char in _UNQUOTED_SPECIAL:
            return []
        if where == ESCAPED and char in "$`":
            return []
        if where == DOUBLE and char == "`":
            return []
        if where == DOUBLE and char == "$":
            found = _VAR.match(command, index)
            if found is None or (found["braced"] or found["bare"]) not in variables:
                return []
        if where == COMMENT or (where == SINGLE and char == "$"):
            return []  # '$X' is literal text: kept in shell rather than told apart
    if any(mark in command for mark in _JINJA) or "\n" in command:
        return []
    out: list[str] = []
    for word in words(command):
        out.append(_VAR.sub(lambda m: "{{ " + variables[m["braced"] or m["bare"]] + " }}", word))
    return out


def _append(command: str, variables: Mapping[str, str]) -> ModuleTask | None:
    """``echo LINE >> FILE``: the line present in the file (added once, not on every run);
    a crontab line into ``/etc/cron.d`` becomes a ``cron`` entry of that file."""
    ctx = contexts(command)
    at = [i for i in range(len(command) - 1)
          if command.startswith(">>", i) and ctx[i] == ctx[i + 1] == UNQUOTED]  # fmt: skip
    if len(at) != 1 or (at[0] and command[at[0] - 1] in "0123456789&>"):
        return None
    left = _plain_words(command[: at[0]], variables)
    right = _plain_words(command[at[0] + 2 :], variables)
    if len(left) < 2 or left[0] != "echo" or len(right) != 1 or not _path(right[0]):
        return None
    if any(w.startswith("-") for w in left[1:2]):
        return None  # echo -e / -n: not the line as written
    line = " ".join(left[1:])
    cron = _cron(line, right[0])
    if cron is not None:
        return ModuleTask(cron.module, cron.args, command)
    return ModuleTask("ansible.builtin.lineinfile", {"path": right[0], "line": line,
                                                     "create": True}, command)  # fmt: skip


_CRON_FIELDS = ("minute", "hour", "day", "month", "weekday")
_CRON_TIME = re.compile(r"^[0-9*/,\-]+$|^[A-Za-z]{3}$")


def _cron(line: str, path: str) -> ModuleTask | None:
    """``m h dom mon dow user command`` appended to ``/etc/cron.d/NAME`` -> a cron entry."""
    folder, _, name = path.rpartition("/")
    fields = line.split(maxsplit=6)
    if folder != "/etc/cron.d" or not _NAME.match(name) or len(fields) != 7 or "%" in line:
        return None
    if not all(_CRON_TIME.match(f) for f in fields[:5]) or not _NAME.match(fields[5]):
        return None
    args: dict[str, Any] = {"name": f"{name}: {fields[6]}"[:120], "cron_file": path,
                            "user": fields[5], "job": fields[6]}  # fmt: skip
    args.update(zip(_CRON_FIELDS, fields[:5], strict=True))
    return ModuleTask("ansible.builtin.cron", args)


# -- the table ----------------------------------------------------------------------------


def _flags(args: list[str], known: Mapping[str, str]) -> tuple[set[str], list[str]] | None:
    """Split ``args`` into understood flags (by canonical name) and operands; None when an
    option is not in ``known`` (``-yq`` is read as ``-y -q``)."""
    seen: set[str] = set()
    operands: list[str] = []
    for arg in args:
        if arg.startswith("--") or (arg.startswith("-") and len(arg) == 2):
            if arg not in known:
                return None
            seen.add(known[arg])
        elif arg.startswith("-") and len(arg) > 2:
            letters = [f"-{c}" for c in arg[1:]]
            if not all(letter in known for letter in letters):
                return None
            seen.update(known[letter] for letter in letters)
        else:
            operands.append(arg)
    return seen, operands


_APT_FLAGS = {"-y": "yes", "--yes": "yes", "--assume-yes": "yes", "-q": "quiet",
              "--quiet": "quiet", "--no-install-recommends": "no-recommends"}  # fmt: skip


def _apt(args: list[str]) -> ModuleTask | None:
    """``apt-get install|remove|purge -y PKG...``, ``update``, ``autoremove``, ``clean``."""
    parsed = _flags(args, _APT_FLAGS)
    if parsed is None or not parsed[1]:
        return None
    flags, (verb, *packages) = parsed
    module = "ansible.builtin.apt"
    if verb == "update" and not packages and flags <= {"yes", "quiet"}:
        return ModuleTask(module, {"update_cache": True})
    if verb in ("autoremove", "clean") and not packages and flags <= {"yes", "quiet"}:
        return ModuleTask(module, {verb: True})
    if verb not in ("install", "remove", "purge") or not packages:
        return None
    if not all(_PACKAGE.match(p) for p in packages) or "yes" not in flags:
        return None  # without -y apt-get would stop at its question: not the same command
    task: dict[str, Any] = {"name": packages, "state": "present" if verb == "install" else
                            "absent"}  # fmt: skip
    if verb == "purge":
        task["purge"] = True
    if "no-recommends" in flags:
        if verb != "install":
            return None
        task["install_recommends"] = False
    return ModuleTask(module, task)


_SYSTEMCTL_STATES = {"start": "started", "stop": "stopped", "restart": "restarted",
                     "reload": "reloaded"}  # fmt: skip


def _systemctl(args: list[str]) -> ModuleTask | None:
    """``systemctl start|stop|restart|reload|enable [--now]|disable [--now] UNIT``,
    ``systemctl daemon-reload``."""
    now = "--now" in args
    rest = [a for a in args if a != "--now"]
    module = "ansible.builtin.systemd_service"
    if rest == ["daemon-reload"] and not now:
        return ModuleTask(module, {"daemon_reload": True})
    if len(rest) != 2 or not _NAME.match(rest[1]) or any(a.startswith("-") for a in rest):
        return None
    verb, unit = rest
    if verb in _SYSTEMCTL_STATES and not now:
        return ModuleTask(module, {"name": unit, "state": _SYSTEMCTL_STATES[verb]})
    if verb in ("enable", "disable"):
        task: dict[str, Any] = {"name": unit, "enabled": verb == "enable"}
        if now:
            task["state"] = "started" if verb == "enable" else "stopped"
        return ModuleTask(module, task)
    return None


def _service(args: list[str]) -> ModuleTask | None:
    """``service NAME start|stop|restart|reload`` (``status`` only looks: stays a command)."""
    if len(args) != 2 or not _NAME.match(args[0]) or args[1] not in _SYSTEMCTL_STATES:
        return None
    return ModuleTask("ansible.builtin.service",
                      {"name": args[0], "state": _SYSTEMCTL_STATES[args[1]]})  # fmt: skip


# option -> (module argument, takes a value)
_USERADD = {"-r": ("system", False), "--system": ("system", False),
            "-m": ("create_home", False), "--create-home": ("create_home", False),
            "-M": ("no_create_home", False), "--no-create-home": ("no_create_home", False),
            "-d": ("home", True), "--home-dir": ("home", True),
            "-s": ("shell", True), "--shell": ("shell", True),
            "-G": ("groups", True), "--groups": ("groups", True),
            "-g": ("group", True), "--gid": ("group", True),
            "-u": ("uid", True), "--uid": ("uid", True),
            "-c": ("comment", True), "--comment": ("comment", True)}  # fmt: skip
_GROUPADD = {"-r": ("system", False), "--system": ("system", False),
             "-g": ("gid", True), "--gid": ("gid", True)}  # fmt: skip


def _options(args: list[str], table: Mapping[str, tuple[str, bool]]) -> dict[str, Any] | None:
    """``-r -d /srv/x NAME`` -> {"system": True, "home": "/srv/x", "name": "NAME"}; None
    when an option is unknown or the name is missing or odd."""
    out: dict[str, Any] = {}
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if arg.startswith("-") and len(arg) > 2 and not arg.startswith("--"):
            rest = [f"-{c}" for c in arg[1:]] + rest  # "-rm" -> "-r -m"
            if any(table.get(f"-{c}", ("", True))[1] for c in arg[1:]):
                return None  # a value glued to a flag ("-s/bin/sh"): not guessed at
            continue
        if arg.startswith("-"):
            if arg not in table:
                return None
            key, takes = table[arg]
            if takes and not rest:
                return None
            out[key] = rest.pop(0) if takes else True
        elif "name" in out or not _NAME.match(arg):
            return None
        else:
            out["name"] = arg
    return out if "name" in out else None


def _useradd(args: list[str]) -> ModuleTask | None:
    """``useradd [-r] [-m|-M] [-d HOME] [-s SHELL] [-g G] [-G A,B] [-u UID] [-c C] NAME``.

    useradd makes a home only with ``-m`` (Debian's default), the module by default: so
    ``create_home`` is always written out. ``-G`` sets the exact supplementary groups,
    as the module does without ``append``.
    """
    found = _options(args, _USERADD)
    if found is None or (found.get("create_home") and found.get("no_create_home")):
        return None
    task: dict[str, Any] = {"name": found.pop("name")}
    for key in ("uid",):
        if key in found and not str(found[key]).isdigit():
            return None
    task["create_home"] = bool(found.pop("create_home", False))
    found.pop("no_create_home", None)
    if "groups" in found:
        found["groups"] = [g for g in str(found["groups"]).split(",") if g]
    task.update(found)
    return ModuleTask("ansible.builtin.user", task)


def _groupadd(args: list[str]) -> ModuleTask | None:
    """``groupadd [-r] [-g GID] NAME``."""
    found = _options(args, _GROUPADD)
    if found is None or ("gid" in found and not str(found["gid"]).isdigit()):
        return None
    task = {"name": found.pop("name"), **found}
    return ModuleTask("ansible.builtin.group", task)


def _path(word: str) -> bool:
    """An absolute path, or a parameter: a relative one would depend on the shell's cwd."""
    return (word.startswith("/") and "//" not in word) or bool(re.match(r"^\{\{ \w+ \}\}", word))


def _mkdir(args: list[str]) -> ModuleTask | None:
    """``mkdir -p DIR`` or ``mkdir -p -m MODE DIR`` (``-p``: no error when it exists)."""
    mode = ""
    rest = list(args)
    if "-m" in rest:
        at = rest.index("-m")
        mode = rest[at + 1] if at + 1 < len(rest) else ""
        del rest[at : at + 2]
        if not _OCTAL.match(mode):
            return None
    if len(rest) != 2 or "-p" not in rest:
        return None
    path = rest[1 - rest.index("-p")]
    if not _path(path):
        return None
    task: dict[str, Any] = {"path": path, "state": "directory"}
    if mode:
        task["mode"] = _mode(mode)
    return ModuleTask("ansible.builtin.file", task)


def _mode(octal: str) -> str:
    """``750`` -> ``"0750"``: always a quoted string, so YAML never reads it as a number."""
    return octal if len(octal) == 4 else "0" + octal


def _chmod(args: list[str]) -> ModuleTask | None:
    """``chmod MODE PATH`` with an octal mode (not ``-R``: the module's recurse differs)."""
    if len(args) != 2 or not _OCTAL.match(args[0]) or not _path(args[1]):
        return None
    return ModuleTask("ansible.builtin.file", {"path": args[1], "mode": _mode(args[0])})


def _chown(args: list[str]) -> ModuleTask | None:
    """``chown OWNER[:GROUP] PATH`` or ``chown :GROUP PATH`` (not ``-R``)."""
    if len(args) != 2 or not _path(args[1]):
        return None
    found = _OWNER.match(args[0])
    if found is None or not (found["owner"] or found["group"]):
        return None
    task: dict[str, Any] = {"path": args[1]}
    if found["owner"]:
        task["owner"] = found["owner"]
    if found["group"]:
        task["group"] = found["group"]
    return ModuleTask("ansible.builtin.file", task)


def _cp(args: list[str]) -> ModuleTask | None:
    """``cp SRC DST`` without options: a file copied on the host (``remote_src``). ``-r``
    and ``-a`` stay shell: the module copies a directory *into* an existing ``DST``
    differently, and does not keep owners as ``-a`` does."""
    if len(args) != 2 or not all(_path(a) for a in args):
        return None
    return ModuleTask("ansible.builtin.copy",
                      {"src": args[0], "dest": args[1], "remote_src": True})  # fmt: skip


def _ln(args: list[str]) -> ModuleTask | None:
    """``ln -s TARGET LINK`` (``-sfn``: replace what is there). ``-sf`` without ``-n``
    stays shell: on a link to a directory it creates the link inside that directory."""
    if len(args) != 3 or not _path(args[2]) or not args[1]:
        return None
    flags = args[0]
    if flags == "-s":
        task: dict[str, Any] = {"src": args[1], "dest": args[2], "state": "link"}
    elif flags.startswith("-") and sorted(flags[1:]) == ["f", "n", "s"]:
        task = {"src": args[1], "dest": args[2], "state": "link", "force": True}
    else:
        return None
    return ModuleTask("ansible.builtin.file", task)


_SED = re.compile(
    r"^s(?P<d>[/|#,])\^(?P<key>[A-Za-z0-9_.\-]+)(?P<sep> ?[=:] ?| ?)\.\*(?P<end>\$?)"
    r"(?P=d)(?P<line>[^\\&]*)(?P=d)g?$"
)


def _sed(args: list[str]) -> ModuleTask | None:
    """``sed -i 's/^KEY.*/KEY=VALUE/' FILE``: the line of KEY set to a new value.

    ``backrefs: true`` makes lineinfile leave the file alone when no line matches, as sed
    does (without it lineinfile would add the line). The new line must start with KEY.
    """
    if len(args) != 3 or args[0] != "-i" or not _path(args[2]):
        return None
    found = _SED.match(args[1])
    if found is None or found["d"] in found["line"] or not found["line"].startswith(found["key"]):
        return None
    regexp = f"^{found['key']}{found['sep']}.*{found['end']}"
    return ModuleTask("ansible.builtin.lineinfile",
                      {"path": args[2], "regexp": regexp, "line": found["line"],
                       "backrefs": True})  # fmt: skip


MAPPERS: dict[str, Mapper] = {
    "apt-get": _apt, "apt": _apt,
    "systemctl": _systemctl,
    "service": _service,
    "useradd": _useradd,
    "groupadd": _groupadd,
    "mkdir": _mkdir,
    "chmod": _chmod,
    "chown": _chown,
    "cp": _cp,
    "ln": _ln,
    "sed": _sed,
}  # fmt: skip


# -- a block's commands as tasks ------------------------------------------------------------

#: Commands that change the shell itself: after one, a later command of the same block
#: depends on it (the cwd, a variable), so the block is not split into separate tasks.
_SHELL_STATE = frozenset({"cd", "pushd", "popd", "export", "source", ".", "set", "unset",
                          "umask", "declare", "typeset", "local", "readonly", "alias",
                          "shopt", "trap", "ulimit", "eval", "exec", "let", "read"})  # fmt: skip


@dataclass(frozen=True, slots=True)
class Piece:
    """Part of a block: its items, and the module tasks they become (``()``: one shell task)."""

    items: tuple[Item, ...]
    tasks: tuple[ModuleTask, ...] = ()


def pieces(items: tuple[Item, ...], variables: Mapping[str, str]) -> list[Piece]:
    """A block's items split where commands map to modules; one shell piece when none do,
    or when the block changes the shell's own state (``cd``, ``export``, ``X=1``)."""
    runs = [i for i in items if i.kind == "run"]
    if any(_changes_shell(i.text) for i in runs):
        return [Piece(items)]
    out: list[Piece] = []
    shell: list[Item] = []
    for item in items:
        tasks = to_modules(item.text, variables) if item.kind == "run" and not item.user else ()
        if not tasks:
            shell.append(item)
            continue
        if any(i.kind == "run" for i in shell):
            out.append(Piece(tuple(shell)))
            shell = []
        out.append(Piece((*shell, item), tasks))
        shell = []
    if shell:
        out.append(Piece(tuple(shell)))
    return _merged(out)


def _changes_shell(command: str) -> bool:
    for part in segments(command):
        argv = words(part)
        if argv and (argv[0] in _SHELL_STATE or re.match(r"^[A-Za-z_]\w*=", argv[0])):
            return True
    return False


def _merged(found: list[Piece]) -> list[Piece]:
    """``apt-get update`` then an install: one apt task with ``update_cache``; ``mkdir -p D``
    then ``chmod``/``chown`` of D: one file task with mode and owner."""
    out: list[Piece] = []
    for piece in found:
        last = out[-1] if out else None
        if last is not None and len(last.tasks) == 1 and len(piece.tasks) == 1:
            joined = _join(last.tasks[0], piece.tasks[0])
            if joined is not None:
                out[-1] = Piece(last.items + piece.items, (joined,))
                continue
        out.append(piece)
    return out


def _join(first: ModuleTask, then: ModuleTask) -> ModuleTask | None:
    command = f"{first.command} && {then.command}"
    if (
        first.module == then.module == "ansible.builtin.apt"
        and first.args == {"update_cache": True}
        and "name" in then.args
    ):
        return ModuleTask(then.module, {**then.args, "update_cache": True}, command)
    if (
        first.module == then.module == "ansible.builtin.file"
        and first.args.get("state") == "directory"
        and then.args.get("path") == first.args["path"]
        and "state" not in then.args
        and not set(then.args) & set(first.args) - {"path"}
    ):
        return ModuleTask(first.module, {**first.args, **then.args}, command)
    return None
