"""The commands inside cron lines a script installs, so the shell rules can read them.

A model asked to "prune /var/tmp nightly" once wrote
``echo "0 2 * * * rm -rf /var/tmp" | crontab -``: the dangerous part is a string to the
parser, and it would run every night. Cron lines are recognised by their schedule (five
time fields or an ``@keyword``) in the literal text given to ``echo``/``printf`` and in
here-documents written to cron's files; what follows the schedule (and the user field of
system crontabs) is shell code, checked like the rest of the script.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from opsgen.validators.shell.calls import Call
from opsgen.validators.shell.writes import write_targets

__all__ = ["CronCommand", "cron_commands"]

_FIELD = r"[0-9*/,\-A-Za-z]+"
_SCHEDULE = re.compile(
    rf"^\s*(?:@(?:reboot|yearly|annually|monthly|weekly|daily|midnight|hourly)|"
    rf"{_FIELD}\s+{_FIELD}\s+{_FIELD}\s+{_FIELD}\s+{_FIELD})\s+(?P<rest>\S.*)$"
)
_SYSTEM_TAB = re.compile(r"/etc/cron\.d/|/etc/crontab\b|/etc/anacrontab\b")
_USER = re.compile(r"^[a-z_][a-z0-9_.-]*\s+")


@dataclass(frozen=True, slots=True)
class CronCommand:
    """The command part of one cron line, and where its text starts in the script."""

    text: str
    line: int


_KNOWN_USERS = re.compile(r"^(?:root|www-data|nobody|daemon|backup|postgres|mysql|app)\s+")
_CRON_FILE = re.compile(r"/etc/cron(tab\b|\.d/|\.(hourly|daily|weekly|monthly)/)|/var/spool/cron")


def _commands(text: str, line: int, system: bool) -> Iterator[CronCommand]:
    for offset, raw in enumerate(text.replace("\\n", "\n").splitlines()):
        m = _SCHEDULE.match(raw)
        if not m:
            continue
        rest = m.group("rest")
        # /etc/cron.d and /etc/crontab have a user field before the command; a user's
        # crontab does not. Where the file is unknown, only well-known users are dropped.
        user = (_USER if system else _KNOWN_USERS).match(rest)
        if user and rest[user.end() :].strip():
            rest = rest[user.end() :]
        yield CronCommand(rest.strip(), line + offset)


def cron_commands(calls: list[Call]) -> list[CronCommand]:
    """Cron commands that ``calls`` write: echo/printf text and here-documents to cron files."""
    found: list[CronCommand] = []
    for call in calls:
        peers = call.pipeline or [call]
        written = [t for c in peers for t in write_targets(c)]
        system = any(_SYSTEM_TAB.search(t) for t in written)
        if call.name in ("echo", "printf") and call.args:
            words = [w for w in call.args if not w.value.startswith("-")]
            if words:
                text = " ".join(w.value for w in words)
                found.extend(_commands(text, words[0].line, system))
        if any(_CRON_FILE.search(t) for t in write_targets(call)):
            for redirect in call.cmd.redirects:
                if redirect.heredoc is not None:
                    first = redirect.heredoc_line or call.line
                    found.extend(_commands(redirect.heredoc, first, system))
    return found
