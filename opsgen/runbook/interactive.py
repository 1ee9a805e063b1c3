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

from opsgen.runbook.calls import Call, operands, peel, positionals, su_user
from opsgen.runbook.fixes import fix
from opsgen.runbook.shellwords import segments, words

__all__ = ["Verdict", "assess"]

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
        user = su_user(args)
        if user is not None:
            return _become(user, command)
    handler = _HANDLERS.get(name)
    return handler(command, call) if handler else None


def _compound(command: str, pieces: list[str]) -> Verdict:
    notes: list[str] = []
    text = command
    if len(pieces) > 1:
        last = peel(words(pieces[-1]))
        if last and last.name in ("less", "more", "most") and not operands(last.args):
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
        fixed, note = fix(piece, call)
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


# -- single-command handlers -----------------------------------------------------------


def _ssh(command: str, call: Call) -> Verdict:
    args = call.args
    positional = positionals(args, lambda a: len(a) == 2 and a[1] in _SSH_ARG_OPTS)
    if not positional:
        return Verdict("manual", note="ssh without a host")
    host, remote = positional[0], positional[1:]
    if not remote:
        return Verdict("context", note=f"the runbook logs in to {host}: run this on that host")
    return _unwrapped(" ".join(remote), f"runs on {host} (the runbook ran it over ssh)")


def _knife(command: str, call: Call) -> Verdict:
    args = call.args
    if args[:1] == ("ssh",):
        positional = positionals(args[1:], lambda a: a in _KNIFE_ARG_OPTS)
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
    files = operands(args)
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
    target = " ".join(operands(args)) or "the file"
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
        return len(operands(args)) <= (1 if name == "sqlite3" else 0)
    return True


def _exit(command: str, call: Call) -> Verdict:
    return Verdict("context", note="the runbook leaves its session here")


def _chroot(command: str, call: Call) -> Verdict | None:
    args = call.args
    if len(operands(args)) <= 1:
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
