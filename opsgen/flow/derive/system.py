"""Rules about system settings: sysctl, cron schedules, packages, ``KEY=VALUE`` settings in
a file (and the value the file has now), systemd unit files."""

from __future__ import annotations

import re
from collections.abc import Iterator

from opsgen.flow.derive.words import (
    _NOT_NAMES,
    _PATH,
    _check,
    _command_path,
    _ere,
    _made,
    _one_file,
    _paths,
    _q,
    _runner,
)
from opsgen.scenario import Check


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


def _schedule(text: str) -> tuple[str, str, str, str, str] | None:
    """(minute, hour, day-of-week) EREs, a label and the five cron fields written plainly
    (``15 4 * * 0``, shown in the check's name, so a repair sees the line it needs) for the
    one schedule ``text`` states, or None: "every day at 02:30", "every Sunday at 04:15",
    "at 07:45 Monday through Friday", "on weekdays at 6:00", "every 15 minutes"."""
    every = re.findall(r"\bevery\s+(\d{1,2})\s+min(?:ute)?s?\b", text, re.I)
    times = {(int(h), int(mi)) for h, mi in _TIME.findall(text)}
    if every:
        n = int(every[0])
        if len(set(every)) != 1 or times or not 1 < n < 60 or 60 % n:
            return None
        listed = ",".join(f"0?{k}" for k in range(0, 60, n))
        return f"(\\*/{n}|{listed})", "\\*", "\\*", f"every {n} minutes", f"*/{n} * * * *"
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
        dow, label, plain = "\\*", f"daily {at}", "*"
    elif weekdays:
        dow, label, plain = _dow_field([1, 2, 3, 4, 5]), f"{at} Monday to Friday", "1-5"
    elif ranged:
        first, last = _day_number(ranged.group(1)), _day_number(ranged.group(2))
        if first >= last:
            return None
        dow = _dow_field(list(range(first, last + 1)))
        label = f"{at} {_DAYS[first].title()} to {_DAYS[last].title()}"
        plain = f"{first}-{last}"
    else:
        if len(named) != 1:
            return None
        day = named.pop()
        dow, label, plain = _dow_field([day]), f"{at} every {_DAYS[day].title()}", str(day)
    return f"0?{minute}", f"0?{hour}", dow, label, f"{minute} {hour} * * {plain}"


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
    minute, hour, dow, label, plain = schedule
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
    name = f"a cron line {label} (`{plain}`)" + (f" as {user}" if user else "") + \
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


def _held(text: str) -> Iterator[Check]:
    """"Hold the logrotate package" / "put nginx on hold": dpkg has it on hold. A
    package the sandbox does not have cannot be held there: the check then holds before the
    script too and is vacuous (never counted), not failed."""
    names = set()
    for m in re.finditer(r"\bhold\s+(?:the\s+)?(?:package\s+([a-z0-9][a-z0-9+.-]{1,60})|"
                         r"([a-z0-9][a-z0-9+.-]{1,60})\s+package)\b|\bput\s+(?:the\s+)?"
                         r"(?:package\s+)?([a-z0-9][a-z0-9+.-]{1,60})(?:\s+package)?\s+on\s+"
                         r"hold\b", text, re.I):
        name = m.group(1) or m.group(2) or m.group(3)
        if name not in _NOT_NAMES and name not in ("the", "package", "packages", "it"):
            names.add(name)
    if len(names) != 1 or re.search(r"\b(?:unhold|release|un-hold)\b", text, re.I):
        return
    name = names.pop()
    # dpkg's own status word, not ``apt-mark showhold``: apt would rebuild its cache file,
    # which a check may not write (checks run under a small file-size limit)
    yield _check(f"package {name} is held",
                 f"! dpkg-query -W {_q(name)} >/dev/null 2>&1 || "
                 f"dpkg-query -W -f='${{Status}}' {_q(name)} | grep -q '^hold '")


#: KEY=VALUE as a request writes a setting: "sets WORKERS=8", "LimitNOFILE=65536".
_SETTING = re.compile(r"(?<![\w$.-])([A-Za-z_][A-Za-z0-9_]{1,40})=(?:\"([^\"'`$\\]{1,120})\"|"
                      r"([A-Za-z0-9_./:@+-]{1,80})(?<![.,:])(?![\w\"'=]))")


#: "set PermitRootLogin to no in /etc/ssh/sshd_config"
_SET_TO = re.compile(rf"\bset\s+([A-Za-z_][A-Za-z0-9_]{{1,40}})\s+to\s+"
                     rf"[\"'`]?([A-Za-z0-9_./:@+-]{{1,80}}?)[\"'`]?\s+in\s+({_PATH})", re.I)


def key_line(key: str) -> str:
    """An ERE for a line that sets ``key`` (``KEY=...``, ``export KEY=...``, ``Key value``)."""
    return f"^[[:space:]]*(export[[:space:]]+)?{_ere(key)}([[:space:]]*=|[[:space:]])"


def _setting_line(key: str, value: str) -> str:
    """An ERE for a line that sets ``key`` to exactly ``value`` (quotes allowed)."""
    return (f"{key_line(key)}[[:space:]]*[\"']?{_ere(value)}[\"']?[[:space:]]*$")


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


def presupposed_settings(text: str) -> list[tuple[str, str, str]]:
    """(file, key, line) for a setting the request changes in place ("change the existing
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
        out.append((path, key, f"{key}{sep}{old}"))
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
            yield _check(f"{path} has one {key} line",
                         f"[ \"$(grep -Ec {_q(key_line(key))} {_q(path)})\" = 1 ]")


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
