"""Rewrites that let a runbook command run unattended, as root, with the same meaning.

``tail -f`` never ends, ``apt-get install`` waits for a "y", ``dpkg-reconfigure`` asks
questions, ``top`` takes over the terminal, and ``sudo`` wants a password and a sudoers
entry (and its audit plugin fails in containers) although the script runs as root. Each
rewrite returns a note, shown in the script next to the command, so a reviewer sees what
opsgen changed.
"""

from __future__ import annotations

import re

from opsgen.runbook.calls import Call

__all__ = ["SUDO_NOTE", "fix"]

#: ``sudo`` and the options that do not change what runs: stripped or made ``runuser``.
_SUDO_PREFIX = re.compile(
    r"^(?P<lead>\s*)sudo(?:\s+(?:-[HEnSkPb]+|-u\s*[\w.-]+|--user=[\w.-]+|--preserve-env))*"
    r"\s+(?:--\s+)?(?=[^\s-])"
)
SUDO_NOTE = "dropped sudo: the script runs as root (it checks at the top)"
_FOLLOW = re.compile(r"(?<=\s)(--follow(?:=\w+)?|-[A-Za-z]*[fF][A-Za-z]*)(?=\s|$)")
_FOLLOW_ARG = re.compile(r"^(--follow(?:=\w+)?|-[A-Za-z]*[fF][A-Za-z]*)$")
_APT_YES = re.compile(r"^(--yes|--assume-yes|-[a-zA-Z]*y[a-zA-Z]*)$")
_APT_VERBS = frozenset({"install", "remove", "purge", "upgrade", "dist-upgrade",
                        "full-upgrade", "autoremove", "autopurge"})  # fmt: skip


def fix(piece: str, call: Call) -> tuple[str, str]:
    """Rewrite ``piece`` so it runs unattended as root; ("", "") when nothing to do."""
    fixed = piece
    notes: list[str] = []
    for fixer in (_terminal_fix, _sudo_fix):
        text, note = fixer(fixed, call)
        if note:
            fixed = text
            notes.append(note)
    return (fixed, "; ".join(notes)) if notes else ("", "")


def _terminal_fix(piece: str, call: Call) -> tuple[str, str]:
    name, args = call.name, call.args
    if name in ("tail", "journalctl") and any(_FOLLOW_ARG.match(a) for a in args):
        lines = "" if any(a.startswith(("-n", "--lines")) for a in args) else " -n 100"
        fixed = _FOLLOW.sub(lambda m: _unfollow(m.group(0)), piece)
        fixed = _insert_after(re.sub(r"  +", " ", fixed).rstrip(), name, lines.strip())
        if name == "journalctl" and "--no-pager" not in args:
            fixed += " --no-pager"
        return fixed, f"'{name} -f' never ends: shows the last lines instead"
    if name == "ping" and not any(a.startswith("-c") for a in args):
        return _insert_after(piece, "ping", "-c 3"), "ping without -c never ends: 3 probes"
    if name in ("apt-get", "apt") and _APT_VERBS & set(args):
        if not any(_APT_YES.match(a) for a in args):
            note = f"added -y: {name} would wait for a confirmation"
            return _insert_after(piece, name, "-y"), note
    if name == "dpkg-reconfigure" and not any(a.startswith(("-f", "--frontend")) for a in args):
        note = "added -f noninteractive: dpkg-reconfigure would ask questions"
        return _insert_after(piece, name, "-f noninteractive"), note
    if name == "top" and not any("b" in a for a in args if a.startswith("-")):
        return _insert_after(piece, "top", "-b -n 1"), "top is interactive: one batch snapshot"
    return "", ""


def _sudo_fix(piece: str, call: Call) -> tuple[str, str]:
    """``sudo cmd`` -> ``cmd`` and ``sudo -u x cmd`` -> ``runuser -u x -- cmd``.

    The script runs as root (it checks, at the top), so ``sudo`` adds nothing but a
    password prompt, a sudoers dependency and an audit plugin that fails in containers;
    switching to another user stays, done the way root does it.
    """
    match = _SUDO_PREFIX.match(piece)
    if match is None or call.sudo_user is None:
        return "", ""
    rest = piece[match.end() :]
    user = call.sudo_user
    if user == "root":
        return match.group("lead") + rest, SUDO_NOTE
    if not re.fullmatch(r"[a-z_][a-z0-9_.-]{0,31}", user):
        return "", ""
    note = f"sudo -u {user} -> runuser -u {user}: the script runs as root"
    return f"{match.group('lead')}runuser -u {user} -- {rest}", note


def _unfollow(option: str) -> str:
    """``-f`` -> "", ``-fu`` -> ``-u``, ``--follow=name`` -> "": drop only the follow flag."""
    if option.startswith("--"):
        return ""
    rest = option[1:].replace("f", "").replace("F", "")
    return f"-{rest}" if rest else ""


def _insert_after(piece: str, word: str, extra: str) -> str:
    if not extra:
        return piece
    return re.sub(rf"(?<![\w-]){re.escape(word)}(?![\w-])", f"{word} {extra}", piece, count=1)
