"""The words the request-check rules read: names, paths, users, who runs a job, what the
request makes. Shared by every rule module; values are matched against strict patterns and
shell-quoted before they reach a check (see the package docstring)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from opsgen.scenario import Check

_NAME = r"[a-z_][a-z0-9_-]{0,31}"


_PATH = r"/(?:[A-Za-z0-9._+@-]+/)*[A-Za-z0-9._+@-]*[A-Za-z0-9_+@-]"


_PATH_RE = re.compile(rf"(?<![\w/.~$-]){_PATH}/?")


#: English words that follow "user"/"group" without being a name.
_NOT_NAMES = frozenset(
    "a an the new same right following correct existing other default primary system "
    "supplementary secondary service account accounts user users group groups named called "
    "for with and or to in of is that this which who whose its their it be should must will "
    "can name id home shell login password exists exist already has had was were needs "
    "gets got does still now here there on at by from into onto as if so but not no yes all "
    "any each every some only also just data management info information settings "
    "config configuration directory folder file files her him them me us you his hers "
    "theirs they she he we processes process limits limit quota quotas session sessions "
    "list lists names ids input space agent level rights privileges privilege permission "
    "permissions crontab crontabs logins passwords groups accounts interface mode "
    "membership memberships".split()
)


@dataclass(frozen=True, slots=True)
class DerivedRule:
    """One shape of request sentence and the checks it gives.

    Attributes:
        id: stable name, shown in the review beside each check it made.
        summary: what the rule reads, in a line.
        find: the checks for a request (already lower-cased where the rule says so).
    """

    id: str
    summary: str
    find: Callable[[str], Iterator[Check]]


def _q(value: str) -> str:
    return shlex.quote(value)


def _ere(value: str) -> str:
    """``value`` as a literal in a POSIX extended regular expression (``re.escape`` also
    escapes ``-``, which grep 3.8 warns about)."""
    return re.sub(r"([.\[\]()*+?{}|^$\\])", r"\\\1", value)


def _check(name: str, run: str) -> Check:
    return Check(name, run, "request")


def _in_group(user: str, group: str) -> str:
    """The shell test "``user`` is a member of ``group``" (primary or supplementary)."""
    return f"id -nG {_q(user)} | tr ' ' '\\n' | grep -qx -- {_q(group)}"


def _make_user(user: str) -> str:
    """A prepare line: the account exists (made with a home when missing)."""
    return f"id -u {_q(user)} >/dev/null 2>&1 || useradd -m {_q(user)}"


def _make_group(group: str) -> str:
    """A prepare line: the group exists."""
    return f"getent group {_q(group)} >/dev/null || groupadd {_q(group)}"


def _sentences(text: str) -> list[str]:
    """Sentences of one-line text (a full stop, ;, ! or ? before a space ends one; a dot
    inside a path does not)."""
    parts = re.split(r"(?<=[.;!?])\s+", text)
    return [p.strip() for p in parts if p.strip()]


def _paths(text: str) -> list[str]:
    return [m.group(0).rstrip("/") or "/" for m in _PATH_RE.finditer(text)]


def _users(text: str) -> list[str]:
    """Users the request introduces: "user ingest", "user called ingest", "account olduser"."""
    found: list[str] = []
    introduced = rf"\b(?:user|account)\s+(?:(?:called|named)\s+)?[\"'`]?({_NAME})\b(?!')"
    added = rf"\badd\s+(?:the\s+user\s+)?({_NAME})\s+to\s+the\b"
    matches = sorted([*re.finditer(introduced, text, re.I), *re.finditer(added, text, re.I)],
                     key=lambda m: m.start())
    for m in matches:
        name = m.group(1)
        if name.lower() not in _NOT_NAMES and name == name.lower() and name not in found:
            found.append(name)
    return found + [u for u in existing_users(text) if u not in found]


def _one_user(text: str) -> str | None:
    users = _users(text)
    return users[0] if len(users) == 1 else None


def _group_list(words: str) -> list[str]:
    names = [w for w in re.split(r"\s*(?:,\s*and\s+|,|\band\b)\s*", words.strip()) if w]
    if not names or any(not re.fullmatch(_NAME, n) or n in _NOT_NAMES for n in names):
        return []
    return names


#: "as root", "as the postgres user", "as user reports": who runs a job.
_AS_USER = re.compile(rf"\bas\s+(?:the\s+)?(?:user\s+)?({_NAME})(?:\s+user)?\b")


_NOT_RUNNERS = _NOT_NAMES | {"well", "soon", "needed", "usual", "before", "follows", "root's"}


def _runner(text: str) -> str | None:
    names = {m.group(1) for m in _AS_USER.finditer(text) if m.group(1) not in _NOT_RUNNERS}
    return names.pop() if len(names) == 1 else None


def _command_path(text: str, skip: Callable[[str], bool]) -> str | None:
    """The one path the request runs (not a cron/unit file, not a log it writes to)."""
    found = [p for p in dict.fromkeys(_paths(text))
             if not skip(p) and not p.startswith(("/var/log/", "/etc/", "/dev/", "/tmp/"))]  # noqa: S108
    return found[0] if len(found) == 1 else None


def _one_file(text: str) -> str | None:
    files = [p for p in dict.fromkeys(_paths(text)) if p.startswith("/etc/")
             and not p.endswith("/")]
    return files[0] if len(files) == 1 else None


_ASKS_FOR = re.compile(r"\b(?:write|create|make|generate|give\s+me)\s+(?:me\s+)?(?:a|an|the)\s+"
                       r"(?:(?:ansible|bash|shell)\s+)?(?:playbook|script)\b", re.I)


#: Verbs that make something new; "make" is one, except where it only changes a thing the
#: server has ("make /etc/app.conf mode 0640": ``changing_make`` in :func:`_made`).
_CREATE_VERBS = (r"create|creates|creating|mkdir|set\s+up|add|adds|install|installs|put|write|"
                 r"writes|deploy|provision")


def _made(text: str, path: str, *, changing_make: bool = False) -> bool:
    """The request makes ``path``: a verb of making before it in its clause ("write a
    playbook that ..." asks for the playbook, not the path), or "PATH (created".
    ``changing_make``: "make PATH ..." changes the path rather than making it."""
    text = re.sub(r"\bmakes?\s+sure\b", "", _ASKS_FOR.sub("", text), flags=re.I)
    if re.search(re.escape(path) + r"[^.;]{0,12}\bcreated?\b", text, re.I):
        return True
    verbs = _CREATE_VERBS if changing_make else f"make|makes|{_CREATE_VERBS}"
    return re.search(rf"\b(?:{verbs})\b[^.;]{{0,80}}?" + re.escape(path) + r"(?![\w/.-])",
                     text, re.I) is not None


_EXISTING_USER = (
    rf"\b({_NAME})(?:'s)?\s+(?:already\s+)?(?:has|have)\s+an?\s+(?:user\s+)?account\b",
    rf"\b({_NAME})'s\s+(?:user\s+)?account\s+(?:already\s+)?exists\b",
    rf"\b(?:the\s+)?(?:user|account)\s+({_NAME})\s+already\s+exists\b",
    rf"\bexisting\s+(?:user|account)\s+({_NAME})\b",
)


def existing_users(text: str) -> list[str]:
    """Users the request says exist already ("alice already has an account on this box"):
    the state it presupposes, which a fresh sandbox does not have."""
    found: list[str] = []
    for pattern in _EXISTING_USER:
        for m in re.finditer(pattern, text, re.I):
            name = m.group(1)
            if name == name.lower() and name not in _NOT_NAMES and name not in found:
                found.append(name)
    return found


_CREATES_USER = re.compile(
    r"\b(?:create|creates|creating|add|adds|adding|make|makes|set\s+up|new|provision)\b"
    r"[^.;]{0,80}?\b(?:users?|accounts?)\b|\buseradd\b|\badduser\b|"
    r"\b(?:users?|accounts?)\b[^.;]{0,60}\b(?:be\s+)?created\b", re.I)


def presupposed_users(text: str) -> list[str]:
    """Users that must exist before the script: those the request says exist already, and,
    when the request does not ask to create a user at all, every user it names ("lock the
    account olduser" is about an account the server has). A fresh sandbox has none of them,
    so without this a right script that locks olduser fails its checks there."""
    named = existing_users(text)
    if not _CREATES_USER.search(text):
        named += [u for u in _users(text) if u not in named]
    return named
