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

__all__ = ["RULES", "DerivedRule", "derive_scenario", "existing_users", "presupposed_groups",
           "presupposed_paths", "presupposed_state", "presupposed_users"]

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
            between = sentence[sentence.find(path) + len(path):m.start()]
            if re.search(r"\b(?:file|directory|folder|dir|link)s?\b", between, re.I):
                continue  # "create DIR (mode 700) with a keys file (mode 600)": not DIR's
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


def _attributes(text: str) -> Iterator[Check]:
    """"PATH: owner root, group myapp, mode 0640" for a path the request makes or works on
    (the prepare has it): each attribute is a check."""
    dirs, files = presupposed_paths(text)
    for m in re.finditer(rf"({_PATH}):\s+((?:(?:owner|group|mode)\s+[\w-]+(?:,\s*|\s+and\s+)?)+)",
                         text):
        path, items = m.group(1), dict(re.findall(r"(owner|group|mode)\s+([\w-]+)", m.group(2)))
        if path not in dirs + files and not _made(text, path):
            continue
        q = _q(path)
        owner, group, mode = items.get("owner"), items.get("group"), items.get("mode")
        if owner and re.fullmatch(_NAME, owner) and owner not in _NOT_NAMES:
            yield _check(f"{path} is owned by {owner}",
                         f"[ \"$(stat -c %U -- {q})\" = {_q(owner)} ]")
        if group and re.fullmatch(_NAME, group) and group not in _NOT_NAMES:
            yield _check(f"{path} has group {group}",
                         f"[ \"$(stat -c %G -- {q})\" = {_q(group)} ]")
        if mode and re.fullmatch(r"0?[0-7]{3,4}", mode):
            yield _check(f"{path} has mode {mode}",
                         f"[ \"$(stat -c %a -- {q})\" = {format(int(mode, 8), 'o')} ]")


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
_DAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
_DAY_RE = r"(sun|mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?)(?:day)?s?"


def _day_number(word: str) -> int:
    return next(i for i, d in enumerate(_DAYS) if d.startswith(word.lower()[:3]))


def _dow_field(numbers: list[int]) -> str:
    """An ERE for a cron day-of-week field that means exactly ``numbers`` (digits, 7 for
    Sunday, three-letter names, a range or a list)."""
    def one(n: int) -> str:
        names = _DAYS[n][:3]
        return f"(0?{n}{'|7' if n == 0 else ''}|{names})"

    if len(numbers) == 1:
        return one(numbers[0])
    alts = [",".join(one(n) for n in numbers)]
    if numbers == list(range(numbers[0], numbers[-1] + 1)):
        alts.append(f"{one(numbers[0])}-{one(numbers[-1])}")
    return "(" + "|".join(alts) + ")"


def _schedule(text: str) -> tuple[str, str, str, str] | None:
    """(minute, hour, day-of-week) EREs and a label for the one schedule ``text`` states,
    or None: "every day at 02:30", "every Sunday at 04:15", "at 07:45 Monday through
    Friday", "on weekdays at 6:00", "every 15 minutes"."""
    every = re.findall(r"\bevery\s+(\d{1,2})\s+min(?:ute)?s?\b", text, re.I)
    times = {(int(h), int(mi)) for h, mi in _TIME.findall(text)}
    if every:
        n = int(every[0])
        if len(set(every)) != 1 or times or not 1 < n < 60 or 60 % n:
            return None
        listed = ",".join(f"0?{k}" for k in range(0, 60, n))
        return f"(\\*/{n}|{listed})", "\\*", "\\*", f"every {n} minutes"
    if len(times) != 1:
        return None
    hour, minute = times.pop()
    at = f"at {hour:02d}:{minute:02d}"
    ranged = re.search(rf"\b{_DAY_RE}\s+(?:through|thru|to|until|-)\s+{_DAY_RE}\b", text, re.I)
    named = {_day_number(w) for w in re.findall(rf"\b(?:every|on|each)\s+{_DAY_RE}\b", text,
                                                 re.I)}
    daily = re.search(r"\b(?:daily|every\s+(?:day|night|morning|evening)|each\s+(?:day|night)|"
                      r"nightly)\b", text, re.I)
    weekdays = re.search(r"\b(?:on\s+|every\s+)?week\s?days\b", text, re.I)
    kinds = sum(bool(k) for k in (ranged, named, daily, weekdays))
    if kinds != 1:
        return None
    if daily:
        dow, label = "\\*", f"daily {at}"
    elif weekdays:
        dow, label = _dow_field([1, 2, 3, 4, 5]), f"{at} Monday to Friday"
    elif ranged:
        first, last = _day_number(ranged.group(1)), _day_number(ranged.group(2))
        if first >= last:
            return None
        dow = _dow_field(list(range(first, last + 1)))
        label = f"{at} {_DAYS[first].title()} to {_DAYS[last].title()}"
    else:
        if len(named) != 1:
            return None
        day = named.pop()
        dow, label = _dow_field([day]), f"{at} every {_DAYS[day].title()}"
    return f"0?{minute}", f"0?{hour}", dow, label


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


def _cron(text: str) -> Iterator[Check]:
    """A cron job at the schedule the request states (daily, on named days, Monday to Friday,
    every N minutes), as the user it names, running the one command it names, in the
    /etc/cron.d file it names (or any system or user crontab)."""
    if not re.search(r"\bcron(?:tab|\.d)?\b", text, re.I) or \
            re.search(r"\b(?:systemd|timer|oncalendar)\b", text, re.I):
        return
    schedule = _schedule(text)
    if schedule is None:
        return
    minute, hour, dow, label = schedule
    user = _runner(text)
    files = [p for p in _paths(text) if p.startswith("/etc/cron.d/")]
    files += [f"/etc/cron.d/{m.group(1)}" for m in re.finditer(
        r"/etc/cron\.d/?\s+(?:called|named)\s+[\"'`]?([A-Za-z0-9_-]+)", text)]
    command = _command_path(text, lambda p: p.startswith("/etc/cron"))
    fields = f"^[[:space:]]*{minute}[[:space:]]+{hour}[[:space:]]+\\*[[:space:]]+\\*" \
             f"[[:space:]]+{dow}[[:space:]]+"
    tail = ""
    if command is not None:
        tail = ".*" + _ere(command) + "([^A-Za-z0-9_./-]|$)"
    who = (_ere(user) if user else "[^[:space:]]+") + "[[:space:]]+"
    system = _q(fields + who + tail)
    name = f"a cron line {label}" + (f" as {user}" if user else "") + \
        (f" running {command}" if command else "")
    if len(files) == 1:
        yield _check(f"{name} in {files[0]}", f"grep -Eiq {system} {_q(files[0])}")
        return
    spool = "/var/spool/cron/crontabs/" + (_q(user) if user else "*")
    yield _check(f"{name} in a crontab",
                 f"grep -Eiqs {system} /etc/crontab /etc/cron.d/* || "
                 f"grep -Eiqs {_q(fields + tail)} {spool}")


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



# --- links, settings, units -----------------------------------------------------------------


_LINK = (
    rf"\bsym(?:bolic\s+)?link\s+(?:called\s+|named\s+|at\s+)?({_PATH})\s+(?:that\s+|which\s+)?"
    rf"(?:points?|pointing)\s+(?:to|at)\s+({_PATH})",
    rf"(?<![\w/.-])({_PATH})\s+sym(?:bolic\s+)?link\b[^.;]{{0,80}}?\bto\s+(?:the\s+)?"
    rf"(?:new\s+)?(?:release\s+|directory\s+|folder\s+)?({_PATH})",
)


def _links(text: str) -> list[tuple[str, str]]:
    found: dict[str, set[str]] = {}
    for pattern in _LINK:
        for m in re.finditer(pattern, text, re.I):
            found.setdefault(m.group(1).rstrip("/"), set()).add(m.group(2).rstrip("/"))
    return [(link, targets.pop()) for link, targets in found.items() if len(targets) == 1]


def _symlink(text: str) -> Iterator[Check]:
    """A symlink that points where the request says (compared as resolved paths, so a
    relative target is as good as an absolute one)."""
    for link, target in _links(text):
        yield _check(f"{link} is a symlink to {target}",
                     f"[ -L {_q(link)} ] && "
                     f"[ \"$(readlink -m -- {_q(link)})\" = \"$(readlink -m -- {_q(target)})\" ]")


#: KEY=VALUE as a request writes a setting: "sets WORKERS=8", "LimitNOFILE=65536".
_SETTING = re.compile(r"(?<![\w$.-])([A-Za-z_][A-Za-z0-9_]{1,40})=(?:\"([^\"'`$\\]{1,120})\"|"
                      r"([A-Za-z0-9_./:@+-]{1,80})(?<![.,:])(?![\w\"'=]))")
#: "set PermitRootLogin to no in /etc/ssh/sshd_config"
_SET_TO = re.compile(rf"\bset\s+([A-Za-z_][A-Za-z0-9_]{{1,40}})\s+to\s+"
                     rf"[\"'`]?([A-Za-z0-9_./:@+-]{{1,80}}?)[\"'`]?\s+in\s+({_PATH})", re.I)


def _one_file(text: str) -> str | None:
    files = [p for p in dict.fromkeys(_paths(text)) if p.startswith("/etc/")
             and not p.endswith("/")]
    return files[0] if len(files) == 1 else None


def _setting_line(key: str, value: str) -> str:
    return (f"^[[:space:]]*(export[[:space:]]+)?{_ere(key)}([[:space:]]*=[[:space:]]*|"
            f"[[:space:]]+)[\"']?{_ere(value)}[\"']?[[:space:]]*$")


def _setting_pairs(text: str) -> list[tuple[str, str, str, str]]:
    """(file, key, value, separator) of each setting the request spells out."""
    pairs: list[tuple[str, str, str, str]] = []
    for m in _SET_TO.finditer(text):
        pairs.append((m.group(3), m.group(1), m.group(2), " "))
    target = _one_file(text)
    if target is not None and not re.search(r"\bsysctl\b", text, re.I):
        for m in _SETTING.finditer(text):
            pairs.append((target, m.group(1), m.group(2) or m.group(3), "="))
    return pairs


#: "(it says yes at the moment)", "currently 512": the value the file has now.
_NOW = re.compile(r"\b(?:it\s+(?:says|is)|currently|now)\s+[\"'`]?([A-Za-z0-9_./:@+-]{1,40}?)"
                  r"[\"'`]?\s*(?:at\s+the\s+moment|now|currently|today)?\)?(?=[\s.,;)]|$)",
                  re.I)
_EXISTING_SETTING = re.compile(r"\b(?:existing|current|currently|at\s+the\s+moment|replace|"
                               r"replacing|change|changing)\b", re.I)


def presupposed_settings(text: str) -> list[tuple[str, str]]:
    """(file, line) for a setting the request changes in place ("change the existing
    setting", "replace the JAVA_OPTS line", "it says yes at the moment"): the file has
    the key already, with the value the request names as current, else another one."""
    if not _EXISTING_SETTING.search(text):
        return []
    now = _NOW.search(text)
    out = []
    for path, key, value, sep in _setting_pairs(text):
        if _made(text, path):
            continue
        old = now.group(1) if now and now.group(1).lower() != value.lower() else \
            {"yes": "no", "no": "yes", "true": "false", "false": "true"}.get(
                value.lower(), "opsgen-old")
        out.append((path, f"{key}{sep}{old}"))
    return out


def _settings(text: str) -> Iterator[Check]:
    """A setting the request spells out (``KEY=VALUE``, or "set KEY to VALUE in FILE") is a
    line of the one file under /etc it names; "exactly one KEY line" is counted too."""
    seen: set[tuple[str, str]] = set()
    for path, key, value, _sep in _setting_pairs(text):
        if (path, key) in seen or re.match(r"(?:net|vm|kernel|fs)\.", key):
            continue
        seen.add((path, key))
        yield _check(f"{path} sets {key} to {value}",
                     f"grep -Eq {_q(_setting_line(key, value))} {_q(path)}")
        if re.search(rf"\b(?:exactly|only)\s+one\s+{re.escape(key)}\s+(?:line|setting|entry)\b|"
                     rf"\bone\s+{re.escape(key)}\s+line\s+in\s+the\s+end\b|"
                     r"\b(?:rather\s+than|instead\s+of)\s+(?:appending|adding)\b", text, re.I):
            first = _ere(key) + "([[:space:]]*=|[[:space:]])"
            yield _check(f"{path} has one {key} line",
                         f"[ \"$(grep -Ec {_q('^[[:space:]]*(export[[:space:]]+)?' + first)} "
                         f"{_q(path)})\" = 1 ]")


_UNIT = re.compile(r"(/etc/systemd/system/[A-Za-z0-9@._-]+\.(?:service|timer|socket))\b")


def _unit(text: str) -> Iterator[Check]:
    """A systemd unit file the request installs: the command it runs, its user, its
    restart policy and the target that wants it, each a line of the file."""
    units = set(_UNIT.findall(text))
    if len(units) != 1:
        return
    unit = units.pop()
    q = _q(unit)
    quoted = re.search(r"\brun(?:s|ning)?\s+[\"“`]((?:/[^\"”`\s]+)[^\"”`]{0,200})[\"”`]", text)
    bare = re.search(rf"\brun(?:s|ning)?\s+({_PATH})(?=[\s,.;]|$)", text)
    command = quoted.group(1) if quoted else bare.group(1) if bare else None
    if command is not None and not command.startswith("/etc/"):
        yield _check(f"{unit} runs {command}",
                     f"grep -E '^[[:space:]]*ExecStart=' {q} | grep -Fq -- {_q(command)}")
    user = _runner(text)
    if user is not None and unit.endswith(".service"):
        yield _check(f"{unit} runs as {user}",
                     f"grep -Eq {_q('^[[:space:]]*User=' + _ere(user) + '[[:space:]]*$')} {q}")
    if re.search(r"\brestart(?:s|ing)?\b[^.;]{0,20}\bon\s+failure\b", text, re.I):
        yield _check(f"{unit} restarts on failure",
                     f"grep -Eq '^[[:space:]]*Restart=on-failure[[:space:]]*$' {q}")
    wanted = re.search(r"\bwanted\s+by\s+([a-z0-9-]+\.target)\b", text, re.I)
    if wanted:
        target = wanted.group(1)
        yield _check(f"{unit} is wanted by {target}",
                     f"grep -Eq {_q('^[[:space:]]*WantedBy=.*' + _ere(target))} {q}")


# --- what must stay -------------------------------------------------------------------------


_LEAVE = re.compile(
    rf"\b(?:take|remove|drop|delete)\s+({_NAME})\s+(?:out\s+of|from)\s+the\s+({_NAME})\s+group\b",
    re.I)
_KEEP_GROUPS = re.compile(
    r"\bkeeps?\b[^.;]{0,40}\bother\s+group|\bwithout\s+(?:dropping|removing|losing)\b"
    r"[^.;]{0,40}\bgroups?\b|\bstays?\s+in\s+(?:all\s+)?(?:the|her|his|their)\s+(?:other\s+)?"
    r"groups\b", re.I)
KEEP_GROUP = "opsgenkeep"


def _left_group(text: str) -> Iterator[Check]:
    """"Take mallory out of the sudo group": she is not in it after (the prepare puts her
    there); "she keeps her other groups": still in one the prepare gave her."""
    for m in _LEAVE.finditer(text):
        user, group = m.group(1), m.group(2)
        if user in _NOT_NAMES or group in _NOT_NAMES:
            continue
        yield _check(f"{user} is not in the group {group}",
                     f"! id -nG {_q(user)} | tr ' ' '\\n' | grep -qx -- {_q(group)}")


def _group_keeper(text: str) -> str | None:
    """The user whose other groups must stay ("she keeps her other groups", "without
    dropping him from the groups he is in"): the prepare puts them in one more group."""
    if not _KEEP_GROUPS.search(text):
        return None
    left = [m.group(1) for m in _LEAVE.finditer(text) if m.group(1) not in _NOT_NAMES]
    if len(set(left)) == 1:
        return left[0]
    user = _one_user(text)
    return user if user is not None and user in presupposed_users(text) else None


def _kept_groups(text: str) -> Iterator[Check]:
    user = _group_keeper(text)
    if user is not None:
        yield _check(f"{user} is still in the group {KEEP_GROUP}",
                     f"id -nG {_q(user)} | tr ' ' '\\n' | grep -qx {KEEP_GROUP}")


_ASKS_FOR = re.compile(r"\b(?:write|create|make|generate|give\s+me)\s+(?:me\s+)?(?:a|an|the)\s+"
                       r"(?:(?:ansible|bash|shell)\s+)?(?:playbook|script)\b", re.I)


def _made(text: str, path: str) -> bool:
    """The request makes ``path``: a verb of making before it in its clause ("write a
    playbook that ..." asks for the playbook, not the path), or "PATH (created"."""
    text = re.sub(r"\bmakes?\s+sure\b", "", _ASKS_FOR.sub("", text), flags=re.I)
    if re.search(re.escape(path) + r"[^.;]{0,12}\bcreated?\b", text, re.I):
        return True
    return re.search(r"\b(?:create|creates|creating|make|makes|mkdir|set\s+up|add|adds|install|"
                     r"installs|put|write|writes|deploy|provision)\b[^.;]{0,80}?"
                     + re.escape(path) + r"(?![\w/.-])", text, re.I) is not None


_DIR_CUES = (
    rf"\b(?:files?|logs?|directories|folders)\b[^.;/]{{0,40}}?\b(?:in|under)\s+({_PATH})",
    rf"\b(?:under|(?:clean|clear)\s+out|"
    rf"(?<!home\s)(?:directory|folder)|inside|within)\s+({_PATH})",
    rf"(?<![\w/.-])({_PATH})\s+(?:directory|folder)\b",
)
_FILE_CUES = (
    rf"\bfrom\s+({_PATH}),?\s+(?:print|count|show|list|report|extract|find)",
    rf"\blocks?\s+down\s+({_PATH})",
    rf"(?:^|[.:;!?]\s+)in\s+({_PATH}),\s+(?:replace|set|change|add|remove|comment|uncomment)",
)
_KEEP_LINES = re.compile(
    r"\b(?:keep|leave|preserve)\b[^.;]{0,30}\bother\s+(?:lines|variables|settings|entries|jobs|"
    r"options)\b|\bother\s+(?:lines|variables|settings|entries|jobs|options)\b[^.;]{0,30}"
    r"\b(?:stay|remain|unchanged|as\s+they\s+are)\b", re.I)
KEEP_LINE = "# opsgen-keep: a line that must stay"


def presupposed_paths(text: str) -> tuple[list[str], list[str]]:
    """(directories, files) the request works in or edits without making them: the state
    a server has and a fresh sandbox does not ("delete old files under /srv/tmp", "in
    /etc/default/app, replace ...")."""
    dirs: list[str] = []
    files: list[str] = []
    for patterns, into in ((_DIR_CUES, dirs), (_FILE_CUES, files)):
        for pattern in patterns:
            for m in re.finditer(pattern, text, re.I):
                path = m.group(1).rstrip("/")
                if path.count("/") >= 2 and path not in into and not _made(text, path):
                    into.append(path)
    # A file the request sets a key in exists only when the request says it changes what
    # is there ("the existing setting", "keep the other lines"): "a drop-in FILE setting
    # KEY=V" asks for a new file, and a prepared one would hide a script that cannot make it.
    edited = [m.group(3) for m in _SET_TO.finditer(text)]
    target = _one_file(text)
    if target is not None and _SETTING.search(text):
        edited.append(target)
    if not (_EXISTING_SETTING.search(text) or _KEEP_LINES.search(text)):
        edited = []
    for path in edited:
        if path not in files and not _made(text, path):
            files.append(path)
    files = [f for f in files if f not in dirs]
    return dirs, files


def _kept(text: str) -> Iterator[Check]:
    """What the request says must stay: a folder "itself", the other lines of a file it
    edits (the prepare writes one there)."""
    dirs, files = presupposed_paths(text)
    for path in dirs:
        if re.search(rf"{re.escape(path)}\s+itself\b|\bkeep\s+the\s+(?:directory|folder)\s+"
                     r"itself\b", text, re.I):
            yield _check(f"{path} is still a directory", f"[ -d {_q(path)} ]")
    if _KEEP_LINES.search(text):
        for path in files:
            yield _check(f"the other lines of {path} stay",
                         f"grep -qxF {_q(KEEP_LINE)} {_q(path)}")


_CREATES_GROUP = re.compile(r"\b(?:create|creates|make|makes)\b[^.;]{0,40}\bgroups?\b|"
                            r"\badds?\s+(?:a\s+|the\s+)?(?:new\s+)?groups?\b|\bnew\s+groups?\b|"
                            r"\bgroupadd\b|\bgroups?\b[^.;]{0,40}\bcreated?\b", re.I)


def presupposed_groups(text: str) -> list[str]:
    """Groups the request names without asking to create any ("add bob to the docker
    group" is about a group the server has)."""
    if _CREATES_GROUP.search(text):
        return []
    found: list[str] = []
    for m in re.finditer(rf"\bgroups?\s+({_NAME})\b|\bthe\s+({_NAME}(?:\s*(?:,\s*and\s+|,|"
                         rf"\band\b)\s*{_NAME})*)\s+(?:supplementary\s+)?groups?\b", text):
        for name in _group_list(m.group(1) or m.group(2)):
            if name not in found:
                found.append(name)
    return found



# --- files by age or size in a folder ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Sweep:
    """"delete the files in DIR older than 14 days", "gzip the .log files in DIR bigger than
    10 MB": what to do, to which files, and the sample files that show it was done."""

    folder: str
    action: str  # "delete" or "compress"
    ext: str  # "" or ".log"
    days: int | None
    megabytes: int | None

    def old(self) -> str:
        return f"{self.folder}/opsgen-{'old' if self.days else 'big'}{self.ext or '.dat'}"

    def new(self) -> str:
        return f"{self.folder}/opsgen-{'new' if self.days else 'small'}{self.ext or '.dat'}"

    def other(self) -> str | None:
        """An old (or big) file of another type, which a sweep of one type leaves alone."""
        if not self.ext:
            return None
        return f"{self.folder}/opsgen-{'old' if self.days else 'big'}.keep"


_SWEEP_VERB = re.compile(r"\b(?:(delete|remove|prune|purge|clean\s+(?:out|up))|(gzip|compress))\b",
                         re.I)
_AGE = re.compile(r"\bolder\s+than\s+(\d{1,4})\s+days?\b|\bnot\s+(?:been\s+)?modified\s+in\s+the\s+"
                  r"last\s+(\d{1,4})\s+days?\b|\bmore\s+than\s+(\d{1,4})\s+days?\s+old\b", re.I)
_SIZE = re.compile(r"\b(?:bigger|larger|greater)\s+than\s+(\d{1,5})\s*(?:MB|M|MiB)\b", re.I)
_EXT = re.compile(r"(?:\*|\bevery\s+|\ball\s+|\bthe\s+|\s)\.([a-z0-9]{1,8})\s+files?\b|"
                  r"\*\.([a-z0-9]{1,8})\b", re.I)


def _sweep(text: str) -> _Sweep | None:
    verbs = {("compress" if m.group(2) else "delete") for m in _SWEEP_VERB.finditer(text)}
    ages = {int(next(g for g in m.groups() if g)) for m in _AGE.finditer(text)}
    sizes = {int(m.group(1)) for m in _SIZE.finditer(text)}
    exts = {(m.group(1) or m.group(2)).lower() for m in _EXT.finditer(text)}
    dirs, _files = presupposed_paths(text)
    if len(verbs) != 1 or len(dirs) != 1 or len(exts) > 1 or len(ages) + len(sizes) != 1:
        return None
    if re.search(r"\b(?:archive|move|copy|rotate|report|list|print|count|show)\b", text, re.I):
        return None  # another action on the same files: the samples would not tell
    return _Sweep(dirs[0], verbs.pop(), "." + exts.pop() if exts else "",
                  ages.pop() if ages else None, sizes.pop() if sizes else None)


def _sweep_samples(sweep: _Sweep) -> list[str]:
    """Prepare lines: a file the sweep must act on, one it must leave, one of another type."""
    lines = [f"mkdir -p {_q(sweep.folder)}"]
    targets = [(sweep.old(), True), (sweep.new(), False)]
    other = sweep.other()
    if other is not None:
        targets.append((other, True))
    for path, hit in targets:
        q = _q(path)
        if sweep.days is not None:
            when = f"{sweep.days + 30} days ago" if hit else "1 hour ago"
            lines.append(f"[ -e {q} ] || {{ echo sample > {q} && touch -d {_q(when)} {q}; }}")
        else:
            size = f"{(sweep.megabytes or 0) + 2}M" if hit else "1K"
            lines.append(f"[ -e {q} ] || truncate -s {size} {q}")
    return lines


def _swept(text: str) -> Iterator[Check]:
    """The sample file the request's sweep must act on was acted on; the others stay."""
    sweep = _sweep(text)
    if sweep is None:
        return
    hit, kept, other = _q(sweep.old()), _q(sweep.new()), sweep.other()
    which = f"older than {sweep.days} days" if sweep.days else f"bigger than {sweep.megabytes} MB"
    if sweep.action == "delete":
        yield _check(f"a file {which} in {sweep.folder} is deleted", f"[ ! -e {hit} ]")
    else:
        yield _check(f"a file {which} in {sweep.folder} is compressed",
                     f"[ ! -e {hit} ] && gzip -t -- {_q(sweep.old() + '.gz')}")
    yield _check(f"a file not {which} in {sweep.folder} is still there", f"[ -f {kept} ]")
    if other is not None:
        yield _check(f"a file of another type in {sweep.folder} is still there",
                     f"[ -f {_q(other)} ]")


RULES: tuple[DerivedRule, ...] = (
    DerivedRule("home", "a user's home directory (one user named)", _home),
    DerivedRule("shell", "a user's login shell", _shell),
    DerivedRule("system-user", "a system user has a uid below 1000", _system_user),
    DerivedRule("member-of", "a user in the named supplementary groups", _member_of),
    DerivedRule("ids", "a group's GID, a user's UID", _ids),
    DerivedRule("mode", "the mode of the one path in the sentence", _mode),
    DerivedRule("owner", "the owner (and group) of the one path in the sentence", _owner),
    DerivedRule("attributes", "PATH: owner, group, mode of a path made or worked on",
                _attributes),
    DerivedRule("exact-content", "a file that holds exactly one given line", _exact_content),
    DerivedRule("sysctl", "a kernel setting made persistent in sysctl.conf or sysctl.d",
                _sysctl),
    DerivedRule("cron", "a cron job's schedule, user and command (in the named cron.d file)",
                _cron),
    DerivedRule("symlink", "a symlink points at the named target", _symlink),
    DerivedRule("setting", "KEY=VALUE (or set KEY to VALUE in FILE) is a line of that file",
                _settings),
    DerivedRule("unit", "a systemd unit's command, user, restart policy and target", _unit),
    DerivedRule("left-group", "a user taken out of a group", _left_group),
    DerivedRule("kept-groups", "a user keeps the groups it had (the prepare adds one)",
                _kept_groups),
    DerivedRule("sweep", "files by age or size in a folder deleted or compressed, the rest kept",
                _swept),
    DerivedRule("kept", "a folder or the other lines of a file the request says must stay",
                _kept),
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


def _previous(text: str, target: str) -> str:
    """Where a link the request switches points now: "from PATH", or "from the NAME release
    to DIR/NEW" (a sibling DIR/NAME), else a placeholder beside the new target."""
    parent = target.rsplit("/", 1)[0]
    said = re.search(rf"\bfrom\s+(?:the\s+)?(?:({_PATH})|([A-Za-z0-9][A-Za-z0-9._-]{{0,60}})\s+"
                     r"(?:release|version|build|deploy(?:ment)?))\s+to\b", text, re.I)
    if said and said.group(1) and said.group(1) != target:
        return said.group(1)
    if said and said.group(2):
        return f"{parent}/{said.group(2)}"
    return f"{parent}/opsgen-previous"


def presupposed_state(text: str) -> str:
    """The prepare script: users, groups, folders, files and links the request presupposes,
    each made only when missing (so the prepare is idempotent and harmless)."""
    lines = [f"id -u {_q(u)} >/dev/null 2>&1 || useradd -m {_q(u)}"
             for u in presupposed_users(text)]
    lines += [f"getent group {_q(g)} >/dev/null || groupadd {_q(g)}"
              for g in presupposed_groups(text)]
    for m in _LEAVE.finditer(text):
        user, group = _q(m.group(1)), _q(m.group(2))
        lines += [f"getent group {group} >/dev/null || groupadd {group}",
                  f"id -u {user} >/dev/null 2>&1 || useradd -m {user}",
                  f"usermod -aG {group} {user}"]
    keeper = _group_keeper(text)
    if keeper is not None:
        lines += [f"id -u {_q(keeper)} >/dev/null 2>&1 || useradd -m {_q(keeper)}",
                  f"groupadd -f {KEEP_GROUP}", f"usermod -aG {KEEP_GROUP} {_q(keeper)}"]
    dirs, files = presupposed_paths(text)
    for path in dirs:
        q = _q(path)
        lines.append(f"[ -d {q} ] || {{ mkdir -p {q}/opsgen-sample && "
                     f"echo sample > {q}/opsgen-sample.txt; }}")
    sweep = _sweep(text)
    if sweep is not None:
        lines += _sweep_samples(sweep)
    keep = _KEEP_LINES.search(text) is not None
    for path in files:
        q = _q(path)
        lines += [f"mkdir -p \"$(dirname -- {q})\"", f"touch -- {q}"]
        if keep:
            lines.append(f"grep -qxF {_q(KEEP_LINE)} {q} || echo {_q(KEEP_LINE)} >> {q}")
    for path, line in presupposed_settings(text):
        key = re.split(r"[ =]", line, maxsplit=1)[0]
        lines.append(f"grep -Eq {_q('^[[:space:]]*' + _ere(key) + '([[:space:]]|=)')} {_q(path)} "
                     f"|| echo {_q(line)} >> {_q(path)}")
    folder = re.search(r"\b(?:release|directory|folder|dir)\b", text, re.I) is not None
    switch = re.search(r"\b(?:switch|repoint|re-point|change|update|move|flip)\b", text, re.I)
    for link, target in _links(text):
        t, parent = _q(target), _q(target.rsplit("/", 1)[0] or "/")
        make = f"mkdir -p {t}" if folder else f"mkdir -p {parent} && touch {t}"
        lines.append(f"[ -e {t} ] || {{ {make}; }}")
        if switch:
            old = _q(_previous(text, target))
            lines.append(f"[ -e {_q(link)} ] || {{ mkdir -p {old} \"$(dirname -- {_q(link)})\" "
                         f"&& ln -s {old} {_q(link)}; }}")
    return "".join(line + "\n" for line in dict.fromkeys(lines))


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
    prepare = presupposed_state(text)
    if not kept and not prepare:
        return Scenario()
    return Scenario(prepare=prepare, checks=kept, sources=("request",))
