"""Checks read straight from the request's words: independent evidence without a model.

"Vetted" must mean "does what was asked". The model's own scenario (``--model-scenario``)
is independent of the candidates, but a 1.5B model often writes wrong checks, so it stays
opt-in. Many everyday requests state their postconditions in a few fixed shapes, though:
"a system user ingest whose home is /srv/ingest", "/srv/reports owned by root with mode
0750", "in the adm and sudo groups", "set net.ipv4.ip_forward to 1", "a cron job at 02:30
in /etc/cron.d/backup". Each shape here is a small, self-describing rule that turns the
words into a named one-line check (source ``request``), run before and after the script
like any other: a check that already holds before the script is vacuous and not counted.

The rules are deliberately narrow. A check that reads the request wrongly turns a right
script red (the second-worst outcome), so a rule fires only on an unambiguous sentence:
one user named, one path in the clause, names and paths of plain characters. Anything the
rules do not understand gives no check, never a guess. Values from the request are
untrusted: every one is matched against a strict pattern and shell-quoted.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from opsgen.scenario import MAX_CHECKS, Check, Scenario

__all__ = ["RULES", "DerivedRule", "derive_scenario", "existing_users", "presupposed_users"]

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
    "permissions crontab crontabs logins passwords groups accounts interface mode".split()
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


def _check(name: str, run: str) -> Check:
    return Check(name, run, "request")


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


# --- accounts -------------------------------------------------------------------------------


def _home(text: str) -> Iterator[Check]:
    user = _one_user(text)
    if user is None:
        return
    homes = set()
    pattern = (r"\bhome(?:\s+(?:directory|dir|folder))?\s*(?:should\s+be|must\s+be|will\s+be|"
               r"is|at|in|=|:)?\s+(?:in\s+|at\s+)?(" + _PATH + r")")
    for m in re.finditer(pattern, text, re.I):
        homes.add(m.group(1))
    if len(homes) == 1:
        home = homes.pop()
        yield _check(f"home of {user} is {home}",
                     f"getent passwd {_q(user)} | cut -d: -f6 | grep -qx -- {_q(home)}")


_SHELLS = r"(/usr/sbin/nologin|/sbin/nologin|/bin/false|/usr/bin/false|/bin/bash|/usr/bin/bash|" \
          r"/bin/sh|/usr/bin/sh|/bin/dash|/usr/bin/zsh|/bin/zsh)"


def _shell(text: str) -> Iterator[Check]:
    user = _one_user(text)
    if user is None:
        return
    shells = {m.group(1) for m in re.finditer(
        r"\bshell\b[^.;/]{0,30}?" + _SHELLS + r"(?![\w/])", text, re.I)}
    if len(shells) == 1:
        shell = shells.pop()
        yield _check(f"login shell of {user} is {shell}",
                     f"getent passwd {_q(user)} | cut -d: -f7 | grep -qx -- {_q(shell)}")


def _system_user(text: str) -> Iterator[Check]:
    user = _one_user(text)
    if user is None or not re.search(r"\bsystem\s+(?:user|account)\b", text, re.I):
        return
    yield _check(f"{user} is a system user (uid below 1000)",
                 f"u=$(id -u {_q(user)}) && [ \"$u\" -lt 1000 ]")


def _group_list(words: str) -> list[str]:
    names = [w for w in re.split(r"\s*(?:,\s*and\s+|,|\band\b)\s*", words.strip()) if w]
    if not names or any(not re.fullmatch(_NAME, n) or n in _NOT_NAMES for n in names):
        return []
    return names


def _member_of(text: str) -> Iterator[Check]:
    user = _one_user(text)
    if user is None:
        return
    groups: list[str] = []
    pattern = (r"\b(?:to|in|into|of)\s+the\s+(" + _NAME + r"(?:\s*(?:,\s*and\s+|,|\band\b)\s*"
               + _NAME + r")*)\s+(?:supplementary\s+)?groups?\b")
    for m in re.finditer(pattern, text):
        for g in _group_list(m.group(1)):
            if g not in groups and g != user:
                groups.append(g)
    for group in groups:
        yield _check(f"{user} is in the group {group}",
                     f"id -nG {_q(user)} | tr ' ' '\\n' | grep -qx -- {_q(group)}")


def _ids(text: str) -> Iterator[Check]:
    for m in re.finditer(rf"\bgroup\s+(?:called\s+|named\s+)?({_NAME})\s+with\s+(?:the\s+)?"
                         r"gid\s+(\d{1,9})\b", text, re.I):
        group, gid = m.group(1), m.group(2)
        if group not in _NOT_NAMES:
            yield _check(f"group {group} has GID {gid}",
                         f"getent group {_q(group)} | cut -d: -f3 | grep -qx {gid}")
    for m in re.finditer(rf"\buser\s+(?:called\s+|named\s+)?({_NAME})\s+with\s+(?:the\s+)?"
                         r"uid\s+(\d{1,9})\b", text, re.I):
        user, uid = m.group(1), m.group(2)
        if user not in _NOT_NAMES:
            yield _check(f"user {user} has UID {uid}", f"[ \"$(id -u {_q(user)})\" = {uid} ]")


# --- files ------------------------------------------------------------------------------------


#: The request makes the path (so a fresh sandbox can judge its mode and owner); a path
#: the request only "fixes" is state the server has and the sandbox does not.
_MAKES = re.compile(r"\b(?:create|creates|creating|make|makes|mkdir|set\s+up|add|install|"
                    r"put|write|writes|deploy|provision|new)\b", re.I)


def _path_before(sentence: str, start: int, *, commas: bool) -> str | None:
    """The one path between the start of ``sentence``'s clause and ``start`` (a mode or
    "owned by"): "Create /srv/r owned by root with mode 0750" reads /srv/r; "data gets
    mode 0750, /opt/app ..." reads nothing (the path comes after, and it is another one).
    ``commas``: a comma ends a clause ("data 0750, /opt/app 0755" are two)."""
    head = sentence[:start]
    cut = max(head.rfind(";"), head.rfind(",") if commas else -1)
    paths = list(dict.fromkeys(_paths(head[cut + 1:])))
    return paths[0] if len(paths) == 1 else None


def _mode(text: str) -> Iterator[Check]:
    if not _MAKES.search(text):
        return
    for sentence in _sentences(text):
        for m in re.finditer(r"\b(?:mode|permissions?|perms|chmod)\s+(?:of\s+|to\s+|set\s+to\s+)?"
                             r"(0?[0-7]{3,4})\b", sentence, re.I):
            path = _path_before(sentence, m.start(), commas=True)
            if path is None or len(_paths(sentence)) != 1:
                continue
            mode = format(int(m.group(1), 8), "o")
            yield _check(f"{path} has mode {m.group(1)}",
                         f"[ \"$(stat -c %a -- {_q(path)})\" = {mode} ]")


def _owner(text: str) -> Iterator[Check]:
    if not _MAKES.search(text):
        return
    for sentence in _sentences(text):
        for m in re.finditer(rf"\bowned\s+by\s+(?:the\s+)?(?:user\s+)?({_NAME})"
                             rf"(?:\s*:\s*({_NAME})|\s+and\s+(?:the\s+)?group\s+({_NAME}))?",
                             sentence):
            path = _path_before(sentence, m.start(), commas=False)
            if path is None or len(_paths(sentence)) != 1 or m.group(1) in _NOT_NAMES:
                continue
            user, group = m.group(1), m.group(2) or m.group(3)
            yield _check(f"{path} is owned by {user}",
                         f"[ \"$(stat -c %U -- {_q(path)})\" = {_q(user)} ]")
            if group and group not in _NOT_NAMES:
                yield _check(f"{path} has group {group}",
                             f"[ \"$(stat -c %G -- {_q(path)})\" = {_q(group)} ]")


def _exact_content(text: str) -> Iterator[Check]:
    pattern = (r"(" + _PATH + r")\s+(?:should\s+)?contains?\s+exactly\s+(?:one|1|a\s+single)\s+"
               r"line[:,]?\s+[\"“]([^\"”\n]{1,200})[\"”]")
    for m in re.finditer(pattern, text, re.I):
        path, line = m.group(1), m.group(2)
        if "'" in line:
            continue
        quoted = _q(path)
        yield _check(f"{path} holds exactly the line {line!r}",
                     f"[ \"$(cat -- {quoted})\" = {_q(line)} ] && "
                     f"[ \"$(wc -l < {quoted})\" -le 1 ]")


# --- system settings --------------------------------------------------------------------------


def _sysctl(text: str) -> Iterator[Check]:
    seen = set()
    for m in re.finditer(r"\b((?:net|vm|kernel|fs)\.[a-z0-9_.]+[a-z0-9_])\s*(?:=|to|at|is)\s*"
                         r"(-?\d{1,12})\b", text):
        key, value = m.group(1), m.group(2)
        if key in seen:
            continue
        seen.add(key)
        pattern = "^[[:space:]]*" + re.escape(key).replace("\\.", "[./]") + \
            "[[:space:]]*=[[:space:]]*" + value + "[[:space:]]*$"
        yield _check(f"{key} = {value} is set persistently",
                     f"cat /etc/sysctl.conf /etc/sysctl.d/*.conf 2>/dev/null | "
                     f"grep -Eq {_q(pattern)}")


_TIME = re.compile(r"\b(?:at\s+)?([01]?\d|2[0-3])[:.h]([0-5]\d)\b")


def _cron(text: str) -> Iterator[Check]:
    """A daily job at HH:MM, in the cron file the request names (or any system cron file)."""
    if not re.search(r"\bcron(?:tab|\.d)?\b", text, re.I):
        return
    if not re.search(r"\b(?:daily|every\s+day|each\s+day|every\s+night|nightly)\b", text, re.I):
        return
    times = {(int(h), int(mi)) for h, mi in _TIME.findall(text)}
    if len(times) != 1:
        return
    hour, minute = times.pop()
    files = [p for p in _paths(text) if p.startswith("/etc/cron.d/")]
    where = _q(files[0]) if len(files) == 1 else \
        "/etc/crontab /etc/cron.d/* /var/spool/cron/crontabs/*"
    line = f"^[[:space:]]*0?{minute}[[:space:]]+0?{hour}[[:space:]]+\\*[[:space:]]+\\*" \
           "[[:space:]]+\\*[[:space:]]"
    label = f"in {files[0]}" if len(files) == 1 else "in a system cron file"
    yield _check(f"a daily cron line at {hour:02d}:{minute:02d} {label}",
                 f"cat {where} 2>/dev/null | grep -Eq {_q(line)}")


def _package(text: str) -> Iterator[Check]:
    if not re.search(r"\binstall", text, re.I):
        return
    names = set()
    for m in re.finditer(r"\bpackages?\s+([a-z0-9][a-z0-9+.-]{1,60})\b|"
                         r"\b([a-z0-9][a-z0-9+.-]{1,60})\s+package\b", text):
        name = m.group(1) or m.group(2)
        if name not in _NOT_NAMES and not name.endswith("."):
            names.add(name)
    for name in sorted(names):
        yield _check(f"package {name} is installed",
                     f"dpkg-query -W -f='${{Status}}' {_q(name)} 2>/dev/null | "
                     "grep -q 'install ok installed'")


RULES: tuple[DerivedRule, ...] = (
    DerivedRule("home", "a user's home directory (one user named)", _home),
    DerivedRule("shell", "a user's login shell", _shell),
    DerivedRule("system-user", "a system user has a uid below 1000", _system_user),
    DerivedRule("member-of", "a user in the named supplementary groups", _member_of),
    DerivedRule("ids", "a group's GID, a user's UID", _ids),
    DerivedRule("mode", "the mode of the one path in the sentence", _mode),
    DerivedRule("owner", "the owner (and group) of the one path in the sentence", _owner),
    DerivedRule("exact-content", "a file that holds exactly one given line", _exact_content),
    DerivedRule("sysctl", "a kernel setting made persistent in sysctl.conf or sysctl.d",
                _sysctl),
    DerivedRule("cron", "a daily cron job at a time (in the named /etc/cron.d file)", _cron),
    DerivedRule("package", "a Debian package named as such is installed", _package),
)


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


def derive_scenario(request: str) -> Scenario:
    """The prepare and checks the rules read from ``request`` (source ``request``); empty
    when none. The prepare makes only the users the request presupposes
    (:func:`presupposed_users`).

    Never raises for odd text: a rule that cannot read a sentence gives nothing.
    """
    checks: dict[str, Check] = {}
    text = " ".join(request.split()) if len(request) <= 20_000 else ""
    for rule in RULES:
        for check in rule.find(text):
            checks.setdefault(check.name, check)
    kept = tuple(checks.values())[:MAX_CHECKS]
    prepare = "".join(f"id -u {_q(u)} >/dev/null 2>&1 || useradd -m {_q(u)}\n"
                      for u in presupposed_users(text))
    if not kept and not prepare:
        return Scenario()
    return Scenario(prepare=prepare, checks=kept, sources=("request",))
