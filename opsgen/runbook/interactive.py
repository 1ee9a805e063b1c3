"""Commands that only make sense at a terminal, turned into what they mean or stopped.

A runbook is written for a person at a keyboard: ``ssh host``, ``sudo -i``, ``less log``,
``vim /etc/x``, ``tail -f``, ``watch du -sh``. Run blindly in a script these hang, open a
shell nobody types into, or wait for a key. Each command gets one :class:`Verdict`:

* ``run``: keep it, possibly rewritten to what it means, with a note saying so
  (``ssh web1 'df -h'`` -> ``df -h`` "runs on web1"; ``less f`` -> ``cat f``;
  ``tail -f f`` -> ``tail -n 100 f``; ``apt-get install x`` -> ``apt-get -y install x``);
* ``context``: it only sets the scene (log in to the host, open a debug shell, leave it);
  the script *is* that session, so the command becomes a comment;
* ``become``: switch user (``sudo su - aptly``); the commands after it run as that user;
* ``manual``: no faithful non-interactive meaning (an editor, a REPL, ``ncdu``, a tool run
  from an operator's workstation): a ``MANUAL`` comment, listed in the report, never run.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from opsgen.runbook.shellwords import segments, words

__all__ = ["SUDO_NOTE", "Call", "Verdict", "assess", "peel"]

Kind = Literal["run", "context", "manual", "become"]

_EDITORS = frozenset({"vi", "vim", "nvim", "nano", "emacs", "pico", "joe", "mcedit", "ed",
                      "editor", "sensible-editor", "visudo", "vipw", "vigr"})  # fmt: skip
_MONITORS = frozenset({"htop", "atop", "iotop", "iftop", "nload", "glances", "btop", "nmon",
                       "ncdu", "mc", "tig", "nethogs", "powertop"})  # fmt: skip
_REPLS = {  # tool -> options that make it run something and exit
    "psql": ("-c", "--command", "-f", "--file", "-l", "--list"),
    "gitlab-psql": ("-c", "--command", "-f", "--file"),
    "mysql": ("-e", "--execute"),
    "mongo": ("--eval",),
    "mongosh": ("--eval", "-f", "--file"),
    "sqlite3": (),
    "redis-cli": (),
    "irb": (),
    "bc": (),
    "python": ("-c", "-m"),
    "python3": ("-c", "-m"),
    "node": ("-e", "--eval"),
}
_SHELLS = frozenset({"bash", "sh", "zsh", "ksh", "dash", "fish"})
_WORKSTATION = {
    "gds": "GOV.UK's gds CLI",
    "terraform": "Terraform",
    "gcloud": "the gcloud CLI",
    "gsutil": "gsutil (Google Cloud Storage)",
    "aws": "the AWS CLI",
    "az": "the Azure CLI",
    "helm": "Helm",
    "knife": "Chef's knife",
    "rake": "rake in a repository checkout",
    "cap": "Capistrano",
    "fab": "Fabric",
    "kubectl": "kubectl",
    "oc": "the OpenShift CLI",
}
_SSH_ARG_OPTS = set("bcDEeFIiJLlmOopQRSWw")
_KNIFE_ARG_OPTS = {"-a", "--attribute", "-x", "--ssh-user", "-P", "--ssh-password", "-p",
                   "--ssh-port", "-i", "--ssh-identity-file", "-G", "--ssh-gateway", "-C",
                   "--concurrency", "-e", "--exit-on-error", "-F", "-o"}  # fmt: skip
_SUDO_ARG_OPTS = set("ugCDhprtUT")
#: ``sudo`` and the options that do not change what runs: stripped or made ``runuser``.
_SUDO_PREFIX = re.compile(
    r"^(?P<lead>\s*)sudo(?:\s+(?:-[HEnSkPb]+|-u\s*[\w.-]+|--user=[\w.-]+|--preserve-env))*"
    r"\s+(?:--\s+)?(?=[^\s-])"
)
SUDO_NOTE = "dropped sudo: the script runs as root (it checks at the top)"
_KEYWORDS = frozenset({"do", "then", "else", "elif", "if", "while", "until", "!", "{", "("})
_FOLLOW = re.compile(r"(?<=\s)(--follow(?:=\w+)?|-[A-Za-z]*[fF][A-Za-z]*)(?=\s|$)")
_FOLLOW_ARG = re.compile(r"^(--follow(?:=\w+)?|-[A-Za-z]*[fF][A-Za-z]*)$")
_APT_VERBS = frozenset({"install", "remove", "purge", "upgrade", "dist-upgrade",
                        "full-upgrade", "autoremove", "autopurge"})  # fmt: skip
_APT_YES = re.compile(r"^(--yes|--assume-yes|-[a-zA-Z]*y[a-zA-Z]*)$")


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do with one command.

    Attributes:
        kind: ``run``, ``context``, ``become`` or ``manual``.
        text: the command to run (``run`` only), possibly rewritten.
        note: what opsgen changed, or why it will not run the command.
        user: for ``become``, the user the following commands run as (``root`` included).
    """

    kind: Kind
    text: str = ""
    note: str = ""
    user: str = ""


@dataclass(frozen=True, slots=True)
class Call:
    """A simple command with its wrappers peeled off (``sudo -u git git fsck``)."""

    name: str
    args: tuple[str, ...]
    become: str | None = None  # user of a bare ``sudo -u x`` / ``sudo -i`` (no command)
    sudo_user: str | None = None  # the user a ``sudo`` wrapper runs the command as


Handler = Callable[[str, "Call"], "Verdict | None"]


def assess(command: str) -> Verdict:
    """Decide whether ``command`` runs (maybe rewritten), sets context, switches user, or stops."""
    pieces = segments(command)
    if not pieces:
        return Verdict("run", command)
    if len(pieces) == 1:
        verdict = _single(command)
        if verdict is not None:
            return verdict
    return _compound(command, pieces)


def _single(command: str) -> Verdict | None:
    call = peel(words(command))
    if call is None:
        return None
    if call.become is not None:
        return _become(call.become, command)
    name, args = call.name, call.args
    if name in _SHELLS and not args:
        if call.sudo_user is None:
            return Verdict("context", note=f"the runbook opens a sub-shell ({command.strip()})")
        return _become(call.sudo_user, command)
    if name == "su":
        user = _su_user(args)
        if user is not None:
            return _become(user, command)
    handler = _HANDLERS.get(name)
    return handler(command, call) if handler else None


def _compound(command: str, pieces: list[str]) -> Verdict:
    notes: list[str] = []
    text = command
    if len(pieces) > 1:
        last = peel(words(pieces[-1]))
        if last and last.name in ("less", "more", "most") and not _operands(last.args):
            text = re.sub(r"\|\s*" + re.escape(pieces[-1]) + r"\s*$", "", text.rstrip()).rstrip()
            notes.append(f"dropped the pager '| {last.name}' (nobody reads it in a script)")
            pieces = pieces[:-1]
    for piece in pieces:
        call = peel(words(piece))
        if call is None:
            continue
        reason = _blocker(call)
        if reason:
            return Verdict("manual", note=f"{reason} ('{piece}')")
        fixed, note = _fix(piece, call)
        if note:
            text = text.replace(piece, fixed, 1)
            notes.extend(note.split("; "))
    return Verdict("run", text, "; ".join(dict.fromkeys(notes)))


def _blocker(call: Call) -> str:
    """Why a command inside a pipeline or loop cannot run unattended ("" when it can)."""
    name = call.name
    if call.become is not None or name == "su":
        return "switches user in the middle of a command"
    if name in _EDITORS or name in _MONITORS:
        return f"{name} is interactive"
    if name in _REPLS and _repl_interactive(name, call.args):
        return f"{name} opens an interactive session"
    if name == "ssh" or (name == "knife" and call.args[:1] == ("ssh",)):
        return f"runs {name} ssh inside a compound command" if name == "knife" else (
            "runs ssh inside a compound command")  # fmt: skip
    if name in _WORKSTATION:
        return f"runs on an operator workstation with {_WORKSTATION[name]}"
    return ""


def _fix(piece: str, call: Call) -> tuple[str, str]:
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


# -- single-command handlers -----------------------------------------------------------


def _ssh(command: str, call: Call) -> Verdict:
    args = call.args
    positional = _positionals(args, lambda a: len(a) == 2 and a[1] in _SSH_ARG_OPTS)
    if not positional:
        return Verdict("manual", note="ssh without a host")
    host, remote = positional[0], positional[1:]
    if not remote:
        return Verdict("context", note=f"the runbook logs in to {host}: run this on that host")
    return _unwrapped(" ".join(remote), f"runs on {host} (the runbook ran it over ssh)")


def _knife(command: str, call: Call) -> Verdict:
    args = call.args
    if args[:1] == ("ssh",):
        positional = _positionals(args[1:], lambda a: a in _KNIFE_ARG_OPTS)
        if len(positional) < 2:
            return Verdict("manual", note="knife ssh opens interactive sessions on many nodes")
        query = positional[0]
        note = f"the runbook ran it with knife ssh on every node matching '{query}'"
        return _unwrapped(" ".join(positional[1:]), note)
    if "edit" in args:
        return Verdict("manual", note="knife ... edit opens an editor")
    return _workstation(command, (call.name, *args))


def _unwrapped(inner: str, note: str) -> Verdict:
    verdict = assess(inner)
    if verdict.kind != "run":
        return Verdict(verdict.kind, note=f"{note}; {verdict.note}", user=verdict.user)
    notes = "; ".join(n for n in (note, verdict.note) if n)
    return Verdict("run", verdict.text, notes)


def _workstation(command: str, argv: tuple[str, ...]) -> Verdict:
    name = argv[0]
    if "ssh" in argv[1:] and "--command" not in argv:
        return Verdict("context", note=f"the runbook logs in with {name}: run this on that host")
    tool = _WORKSTATION.get(name, name)
    return Verdict(
        "manual",
        note=f"runs on an operator workstation with {tool}, not on the target host",
    )


def _kube(command: str, call: Call) -> Verdict:
    args = call.args
    if "debug" in args and any(a.startswith("node/") for a in args) and "--" not in args:
        return Verdict("context", note="the runbook opens a debug shell on the node")
    if "exec" in args and "--" in args:
        inner = args[args.index("--") + 1 :]
        pod = next((a for a in args[args.index("exec") + 1 :] if not a.startswith("-")), "")
        if inner and not (inner[0] in _SHELLS and len(inner) == 1):
            return _unwrapped(" ".join(inner), f"runs in pod {pod} (the runbook used exec)")
    if "exec" in args or "edit" in args:
        return Verdict("manual", note=f"opens an interactive session with {call.name}")
    return _workstation(command, (call.name, *args))


def _pager(command: str, call: Call) -> Verdict:
    args = call.args
    files = _operands(args)
    if not files:
        return Verdict("manual", note="a pager with nothing to page")
    return Verdict("run", "cat " + " ".join(_requote(command, f) for f in files),
                   "a pager waits for keys: prints the file instead")  # fmt: skip


def _watch(command: str, call: Call) -> Verdict:
    args = call.args
    rest = list(args)
    while rest and rest[0].startswith("-"):
        option = rest.pop(0)
        if option in ("-n", "--interval", "-q", "--equexit") and rest:
            rest.pop(0)
    if not rest:
        return Verdict("manual", note="watch without a command")
    return _unwrapped(" ".join(rest), "watch repeats it forever: runs it once")


def _editor(command: str, call: Call) -> Verdict:
    args = call.args
    target = " ".join(_operands(args)) or "the file"
    return Verdict("manual", note=f"edit {target} by hand (an editor cannot run in a script)")


def _monitor(command: str, call: Call) -> Verdict:
    return Verdict("manual", note=f"{call.name} is an interactive full-screen tool")


def _repl(command: str, call: Call) -> Verdict | None:
    args = call.args
    name = call.name
    if not _repl_interactive(name, args) or "<" in command:
        return None
    return Verdict("manual", note=f"{name} opens an interactive session: type it by hand")


def _repl_interactive(name: str, args: tuple[str, ...]) -> bool:
    runs = _REPLS.get(name, ())
    if any(a.split("=", 1)[0] in runs for a in args):
        return False
    if name in ("python", "python3", "node", "irb", "sqlite3", "redis-cli"):
        return len(_operands(args)) <= (1 if name == "sqlite3" else 0)
    return True


def _exit(command: str, call: Call) -> Verdict:
    return Verdict("context", note="the runbook leaves its session here")


def _chroot(command: str, call: Call) -> Verdict | None:
    args = call.args
    if len(_operands(args)) <= 1:
        return Verdict("context", note=f"the runbook enters a chroot shell ({command.strip()})")
    return None


def _screen(command: str, call: Call) -> Verdict:
    return Verdict("context", note="a terminal multiplexer: not needed to run a script")


def _manual_note(note: str) -> Handler:
    def handler(command: str, call: Call) -> Verdict:
        return Verdict("manual", note=note)

    return handler


def _crontab(command: str, call: Call) -> Verdict | None:
    return _editor(command, call) if "-e" in call.args else None


def _tool(command: str, call: Call) -> Verdict:
    return _workstation(command, (call.name, *call.args))


def _become(user: str, command: str) -> Verdict:
    if user == "root":
        note = f"the runbook becomes root ({command.strip()}): the script must run as root"
    else:
        note = f"the runbook switches to user {user} ({command.strip()})"
    return Verdict("become", note=note, user=user)


# -- peeling wrappers ------------------------------------------------------------------


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


def _su_user(args: tuple[str, ...]) -> str | None:
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


def _positionals(args: tuple[str, ...], takes_value: Callable[[str], bool]) -> list[str]:
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


def _operands(args: tuple[str, ...]) -> list[str]:
    return [a for a in args if not a.startswith("-")]


def _requote(command: str, word: str) -> str:
    # Keep a word as the runbook wrote it when it appears verbatim (variables stay live).
    return word if word in command.split() else f"'{word}'"


_HANDLERS: dict[str, Handler] = {
    "ssh": _ssh,
    "knife": _knife,
    "kubectl": _kube,
    "oc": _kube,
    "less": _pager,
    "more": _pager,
    "most": _pager,
    "watch": _watch,
    "exit": _exit,
    "logout": _exit,
    "chroot": _chroot,
    "screen": _screen,
    "tmux": _screen,
    "byobu": _screen,
    "man": _manual_note("reads a manual page"),
    "passwd": _manual_note("passwd asks for a password interactively"),
    "crontab": _crontab,
    **{name: _editor for name in _EDITORS},
    **{name: _monitor for name in _MONITORS},
    **{name: _repl for name in _REPLS},
    **{name: _tool for name in _WORKSTATION if name not in ("knife", "kubectl", "oc")},
}
