"""Does a command only look at the system? Decides ``changed_when: false`` in playbooks.

A guess on the safe side: a command counts as read-only only when every part of it is a
known inspection tool used without its writing options, and nothing is redirected into a
file. Anything else is reported as a change (``changed_when: true``), which is honest:
opsgen cannot tell whether the runbook's command changed the host.
"""

from __future__ import annotations

import re

from opsgen.runbook.calls import peel
from opsgen.runbook.lexicon import READ_ONLY
from opsgen.runbook.shellwords import UNQUOTED, contexts, segments, words

__all__ = ["is_read_only"]

_REDIRECT = re.compile(r"(?<![<>&\d])(\d?>>?|&>)\s*(?!&|/dev/null\b)")
_SUBCOMMAND_READS = {
    "systemctl": {"status", "is-active", "is-enabled", "is-failed", "show", "cat",
                  "list-units", "list-unit-files", "list-timers"},
    "service": {"status", "--status-all"},
    "sv": {"status", "check"},
    "dpkg": {"-l", "--list", "-s", "--status", "-L", "--listfiles", "-S", "--search"},
    "git": {"status", "log", "show", "diff", "fsck", "rev-parse", "branch"},
    "sysctl": {"-a", "--all", "-n"},
    "docker": {"ps", "images", "inspect", "logs", "info", "version"},
}  # fmt: skip
_WRITES = {"find": ("-delete", "-exec", "-execdir", "-ok", "-fprint"), "sed": ("-i",),
           "sort": ("-o",)}  # fmt: skip


def is_read_only(command: str) -> bool:
    """True when ``command`` only reads: every part is an inspection, no output to files."""
    ctx = contexts(command)
    for match in _REDIRECT.finditer(command):
        if ctx[match.start()] == UNQUOTED:
            return False
    return all(_reads(piece) for piece in segments(command))


def _reads(piece: str) -> bool:
    call = peel(words(piece))
    if call is None:
        return True
    name, args = call.name, call.args
    if name in _SUBCOMMAND_READS:
        return bool(set(args) & _SUBCOMMAND_READS[name]) and not any("=" in a for a in args)
    if name == "hostname":
        return all(a.startswith("-") for a in args)
    if name in _WRITES:
        return not any(a.startswith(w) for a in args for w in _WRITES[name])
    return name in READ_ONLY or name == "find"
