"""A shell command with its wrappers peeled off: what does ``sudo -u git env X=1 git fsck`` run?

Runbooks wrap the command that matters in ``sudo``, ``env``, ``nohup``, ``nice``,
``bundle exec`` and shell keywords (``do``, ``then``); the interactive and effect checks
need the command underneath, its arguments, and who it runs as.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Call", "operands", "peel", "positionals", "su_user"]

_SUDO_ARG_OPTS = set("ugCDhprtUT")
_KEYWORDS = frozenset({"do", "then", "else", "elif", "if", "while", "until", "!", "{", "("})


@dataclass(frozen=True, slots=True)
class Call:
    """A simple command with its wrappers peeled off (``sudo -u git git fsck``)."""

    name: str
    args: tuple[str, ...]
    become: str | None = None  # user of a bare ``sudo -u x`` / ``sudo -i`` (no command)
    sudo_user: str | None = None  # the user a ``sudo`` wrapper runs the command as


def peel(argv: list[str]) -> Call | None:
    """The command ``argv`` really runs, past assignments, keywords and wrappers like sudo."""
    rest = list(argv)
    sudo_user: str | None = None
    while rest and (re.match(r"^[A-Za-z_]\w*=", rest[0]) or rest[0] in _KEYWORDS):
        rest.pop(0)
    while rest:
        head = rest[0]
        if head == "sudo":
            sudo_user, rest = _sudo(rest[1:])
            if not rest:
                return Call("sudo", (), become=sudo_user)
            continue
        if head in ("nohup", "time", "exec", "command"):
            rest.pop(0)
        elif head == "bundle" and rest[1:2] == ["exec"]:
            rest = rest[2:]
        elif head in ("env", "nice", "ionice", "timeout"):
            rest = _skip_options(rest)
        else:
            break
    if not rest:
        return None
    return Call(rest[0].rsplit("/", 1)[-1], tuple(rest[1:]), sudo_user=sudo_user)


def _sudo(args: list[str]) -> tuple[str, list[str]]:
    """Parse sudo's options; returns (the -u user or "root", the command words)."""
    user = "root"
    rest = list(args)
    while rest and rest[0].startswith("-") and rest[0] != "--":
        option = rest.pop(0)
        if option.startswith("--"):
            key, _, value = option.partition("=")
            if key == "--user":
                user = value or (rest.pop(0) if rest else user)
            continue
        for index, char in enumerate(option[1:]):
            if char in _SUDO_ARG_OPTS:
                value = option[index + 2 :] or (rest.pop(0) if rest else "")
                user = value if char == "u" else user
                break
    if rest[:1] == ["--"]:
        rest.pop(0)
    return user, rest


def _skip_options(rest: list[str]) -> list[str]:
    head = rest.pop(0)
    takes = {"nice": ("-n",), "ionice": ("-c", "-n", "-p"), "env": ("-u", "-C"),
             "timeout": ("-s", "-k", "--signal", "--kill-after")}[head]  # fmt: skip
    while rest and (rest[0].startswith("-") or (head == "env" and "=" in rest[0])):
        option = rest.pop(0)
        if option in takes and rest:
            rest.pop(0)
    if head == "timeout" and rest:
        rest.pop(0)  # the duration
    return rest


def su_user(args: tuple[str, ...]) -> str | None:
    """The user ``su ARGS`` switches to, or None when it runs a command (``-c``)."""
    user = "root"
    rest = list(args)
    while rest:
        option = rest.pop(0)
        if option in ("-c", "--command") or option.startswith("--command="):
            return None
        if option in ("-s", "--shell", "-g", "--group") and rest:
            rest.pop(0)
        elif not option.startswith("-"):
            user = option
    return user


def positionals(args: tuple[str, ...], takes_value: Callable[[str], bool]) -> list[str]:
    out: list[str] = []
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if out:
            out.append(arg)
        elif arg.startswith("-"):
            if takes_value(arg) and rest:
                rest.pop(0)
        else:
            out.append(arg)
    return out


def operands(args: tuple[str, ...]) -> list[str]:
    return [a for a in args if not a.startswith("-")]
