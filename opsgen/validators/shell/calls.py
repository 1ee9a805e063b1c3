"""What a command really runs: wrappers stripped, options split, nested code found.

``sudo -E env X=1 /usr/bin/curl`` runs ``curl``; ``bash -c 'curl x | sh'`` hides a pipeline
in a string; ``find . -exec chmod 777 {} +`` runs ``chmod``. Rules read :class:`Call`
objects so that each of these spellings is seen the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from opsgen.validators.shell.model import Command, Script, Word

__all__ = ["INLINE_FLAGS", "SHELLS", "Call", "command_name", "effective", "parse_opts"]

# wrapper -> options that take a value; "#n" = number of positional words before the command
_WRAPPERS: dict[str, tuple[frozenset[str], int]] = {
    "sudo": (frozenset("-u -g -C -h -p -r -t -U -D -T --user --group --host --prompt --role "
                       "--type --other-user --chdir --command-timeout --close-from".split()), 0),
    "doas": (frozenset({"-u", "-C"}), 0),
    "env": (frozenset({"-u", "-C", "--unset", "--chdir"}), 0),
    "command": (frozenset(), 0),
    "exec": (frozenset({"-a"}), 0),
    "nohup": (frozenset(), 0),
    "nice": (frozenset({"-n", "--adjustment"}), 0),
    "ionice": (frozenset({"-c", "-n", "-p", "-t"}), 0),
    "setsid": (frozenset(), 0),
    "stdbuf": (frozenset({"-i", "-o", "-e"}), 0),
    "unbuffer": (frozenset(), 0),
    "runuser": (frozenset({"-u", "-g", "-G"}), 0),
    "timeout": (frozenset({"-s", "-k", "--signal", "--kill-after"}), 1),
    "chroot": (frozenset({"--userspec", "--groups"}), 1),
    "busybox": (frozenset(), 0),
    "xargs": (frozenset("-I -n -P -d -L -s -E -a --max-args --max-procs --delimiter --replace "
                        "--arg-file --max-lines --eof".split()), 0),
}
SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "fish", "rbash"})
_LOOKUP = re.compile(r"(?:\$\(|`)\s*(?:which|command\s+-v|type\s+-p)\s+(?P<name>[\w./-]+)\s*"
                     r"(?:\)|`)|\$\{\w+:?-(?P<default>[\w./-]+)\}")
_VAR = re.compile(r"\$\{?([A-Za-z_]\w*)\}?")
_VERSIONED = re.compile(r"(python|perl|ruby|node|php|lua|pwsh)[0-9.]*")
#: interpreter -> options whose value is program text
INLINE_FLAGS: dict[str, frozenset[str]] = {
    **{s: frozenset({"-c"}) for s in SHELLS},
    "python": frozenset({"-c"}), "perl": frozenset({"-e", "-E"}), "ruby": frozenset({"-e"}),
    "node": frozenset({"-e", "-p", "--eval", "--print"}), "nodejs": frozenset({"-e", "-p"}),
    "php": frozenset({"-r"}), "lua": frozenset({"-e"}), "pwsh": frozenset({"-c", "-command"}),
}
_SHELL_VALUE_OPTS = frozenset({"-o", "+o", "-O", "+O", "--rcfile", "--init-file"})


def parse_opts(
    args: list[Word], with_value: frozenset[str] = frozenset()
) -> tuple[dict[str, str], list[Word]]:
    """Split ``args`` into ``{option: value}`` (``""`` for flags) and positional words.

    Short flags may be bundled (``-rf`` gives ``-r`` and ``-f``); ``--opt=value`` and
    ``-ovalue`` forms are understood for options listed in ``with_value``.
    """
    opts: dict[str, str] = {}
    pos: list[Word] = []
    i = 0
    while i < len(args):
        v = args[i].value
        i += 1
        if v == "--":
            pos.extend(args[i:])
            break
        if v.startswith("--"):
            name, eq, val = v.partition("=")
            if not eq and name in with_value and i < len(args):
                val, i = args[i].value, i + 1
            opts[name] = val
        elif v.startswith("-") and len(v) > 1:
            for j, ch in enumerate(v[1:], start=1):
                flag = "-" + ch
                if flag in with_value:
                    rest = v[j + 1 :]
                    if not rest and i < len(args):
                        rest, i = args[i].value, i + 1
                    opts[flag] = rest
                    break
                opts[flag] = ""
        else:
            pos.append(args[i - 1])
    return opts, pos


def command_name(value: str, aliases: dict[str, str] | None = None) -> str:
    """``/usr/bin/python3.11`` -> ``python``; ``$(which curl)`` -> ``curl``.

    Command names spelled through a lookup (``$(command -v curl)``), a default
    (``${X:-curl}``) or a variable assigned a literal earlier (``c=curl; $c``, via
    ``aliases``) are resolved: they are common ways to hide a command from a linter.
    """
    m = _LOOKUP.fullmatch(value)
    if m:
        value = m.group("name") or m.group("default")
    elif aliases and (v := _VAR.fullmatch(value)) and v.group(1) in aliases:
        value = aliases[v.group(1)]
    base = value.rsplit("/", 1)[-1]
    m = _VERSIONED.fullmatch(base)
    return m.group(1) if m else base


@dataclass(slots=True, eq=False)
class Call:
    """One command as it will run, found anywhere in a script."""

    cmd: Command
    name: str
    args: list[Word]
    name_word: Word | None
    wrappers: tuple[str, ...] = ()
    pipeline: list[Call] | None = None
    children: list[Script] = field(default_factory=list)

    @property
    def line(self) -> int:
        """Line of the command's first word."""
        return self.name_word.line if self.name_word else self.cmd.line

    @property
    def col(self) -> int:
        """Column of the command's first word."""
        return self.name_word.col if self.name_word else self.cmd.col

    def opts(self, with_value: frozenset[str] = frozenset()) -> tuple[dict[str, str], list[Word]]:
        """:func:`parse_opts` over this call's arguments."""
        return parse_opts(self.args, with_value)

    def inline_code(self) -> Word | None:
        """The program text given with ``-c``/``-e`` (``su -c`` too), or None."""
        flags = INLINE_FLAGS.get(self.name)
        if self.name == "su":  # su [options] [user] -c CMD: the user comes before -c
            flags = frozenset({"-c", "--command"})
        if not flags:
            return None
        skip = False
        for i, w in enumerate(self.args):
            v = w.value
            if skip:
                skip = False
            elif v in flags or (self.name in SHELLS and re.fullmatch(r"-[a-z]*c", v)):
                return self.args[i + 1] if i + 1 < len(self.args) else None
            elif v in _SHELL_VALUE_OPTS:
                skip = True
            elif not v.startswith("-") and self.name != "su":
                return None  # a script file comes first: -c after it is the script's option
        return None

    def reads_program_from_stdin(self) -> bool:
        """True when an interpreter takes its program from stdin (``curl .. | sh``)."""
        if "xargs" in self.wrappers:  # xargs sh -c '{}' runs each input line as a command
            code = self.inline_code()
            has_c = any(re.fullmatch(r"-[a-z]*c", w.value) for w in self.args)
            return self.name in SHELLS and has_c and (code is None or code.value in ("{}", "%"))
        if self.name == "sudo" and not self.args:
            return True  # sudo -s / sudo -i: an interactive root shell fed by the pipe
        if self.name == "su":
            return self.inline_code() is None
        if self.name in ("source", "."):
            return bool(self.args) and self.args[0].value in ("/dev/stdin", "/proc/self/fd/0")
        if self.name not in INLINE_FLAGS or self.inline_code() is not None:
            return False
        if self.name == "python" and any(w.value.startswith("-m") for w in self.args):
            return False  # python -m json.tool (or -mjson.tool) reads data, not code
        skip = False
        for w in self.args:
            if skip:
                skip = False
            elif w.value in _SHELL_VALUE_OPTS:
                skip = True
            elif w.value in ("-", "/dev/stdin", "/proc/self/fd/0"):
                return True
            elif not w.value.startswith(("-", "+")):
                return False  # a script file: stdin is only data
        return True


def effective(
    words: list[Word], aliases: dict[str, str] | None = None
) -> tuple[str, Word | None, list[Word], tuple[str, ...]]:
    """Strip ``sudo``/``env``/``xargs``... and return (name, name word, args, wrappers)."""
    wrappers: list[str] = []
    i = 0
    while i < len(words):
        name = command_name(words[i].value, aliases)
        spec = _WRAPPERS.get(name)
        if spec is None or (name == "command" and i + 1 < len(words)
                            and words[i + 1].value in ("-v", "-V")):
            return name, words[i], words[i + 1 :], tuple(wrappers)
        with_value, positionals = spec
        wrappers.append(name)
        i += 1
        while i < len(words):  # the wrapper's own options and NAME=value settings
            v = words[i].value
            if v == "--":
                i += 1
                break
            if v in with_value:
                i += 2
            elif v.startswith("-") or (name == "env" and "=" in v):
                i += 1
            else:
                break
        i += positionals
    return (wrappers[-1] if wrappers else ""), None, [], tuple(wrappers[:-1])
