"""Fix hints for run failures whose cause is well known.

A small model told only "no crontab for root" tends to rewrite the same ``crontab -l``
pipeline three times. Our lint rules already carry a fix hint each; this table does the
same for the few runtime failures that generated scripts keep hitting in the sandbox, keyed
by what the run printed (or, for a silent failure, the command the trace named). Only the
first matching hint is added, so a repair prompt stays one short line per problem.

A failed scenario check (the script ran, but a postcondition of the request does not hold)
gets a hint too: keyed by what the check looks at (a home folder, a cron.d line, the printed
output), or else the general one, which says to change the script, not to argue with the
check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from opsgen.flow.problems import Problem

__all__ = ["CHECK_HINTS", "HINTS", "Hint", "with_hints"]


@dataclass(frozen=True, slots=True)
class Hint:
    """One known failure: a stable name, what identifies it, and how to fix the script."""

    name: str
    pattern: re.Pattern[str]
    fix: str
    #: Only when another problem of the same check says this (the same message can have
    #: causes that need opposite fixes: a package apt cannot find with no package path is
    #: not a wrong name).
    context: re.Pattern[str] | None = None
    #: Only for a script in this language (None: any): a failed check of a playbook needs
    #: the module that does it, not the shell command.
    lang: str | None = None


_APT_MISSING = re.compile(r"Unable to locate package|has no installation candidate")

HINTS: tuple[Hint, ...] = (
    Hint(
        "no-crontab",
        re.compile(r"no crontab for|`crontab -l[^`]*`"),
        "`crontab -l` fails when the user has no crontab yet; install the job as a whole "
        "file instead: write /etc/cron.d/NAME with `0 3 * * * root COMMAND` (no crontab "
        "command at all), which is also idempotent.",
    ),
    Hint(
        "interactive-editor",
        re.compile(
            r"not (?:to|from) a terminal|sensible-editor|`(?:crontab -e|visudo|vim?|nano)\b"
        ),
        "the script runs with no terminal, so an editor cannot be used: write files "
        "directly (`cat > FILE <<'EOF'` ... `EOF`, or printf).",
    ),
    Hint(
        "find-lost-path",
        re.compile(r"find: [^|]*No such file or directory"),
        "find names a path that is not there: the start folder does not exist (use the "
        "path the request names), or `-exec rm`/`-exec rmdir` removed a folder before find "
        "descended into it (use `-delete`, which works depth-first).",
    ),
    Hint(
        "apt-no-package-path",
        _APT_MISSING,
        "the package name may well be right: this dry-run has no package path (--network "
        "none), so apt cannot find any package here. Keep the package and its name; do not "
        "replace it with another.",
        re.compile(r"no package path"),
    ),
    Hint(
        "apt-not-in-debian",
        _APT_MISSING,
        "that name is not a Debian bookworm package (apt-cache policy shows no candidate "
        "after apt-get update): use the Debian package that provides it (e.g. "
        "`apache2`, not `httpd`; `default-mysql-server`, not `mysql-server`).",
        re.compile(r"is not in Debian"),
    ),
    Hint(
        "apt-unknown-package",
        _APT_MISSING,
        "run `apt-get update` before `apt-get install -y`, and use the Debian bookworm "
        "package name.",
    ),
    Hint(
        "command-not-found",
        re.compile(r"command not found"),
        "install the Debian package that provides the command first "
        "(`DEBIAN_FRONTEND=noninteractive apt-get install -y PACKAGE`), or use a command "
        "Debian bookworm has.",
    ),
    Hint(
        "unbound-variable",
        re.compile(r"unbound variable"),
        "set -u stops at a variable that was never set: assign it first or write "
        '"${NAME:-default}".',
    ),
    Hint(
        "already-exists",
        re.compile(r"already exists|File exists"),
        "the script creates something that is already there on the second run: check "
        "first (`id -u NAME`, `getent group NAME`) or use the idempotent form "
        "(`mkdir -p`, `ln -sfn`).",
    ),
    Hint(
        "ansible-controller-file",
        re.compile(r"Could not find or access '[^']*'(?: on the Ansible Controller)?"),
        "the play runs with no files beside it: write the file's text with "
        "ansible.builtin.copy and `content:` (or `remote_src: true` for a file already on "
        "the host).",
    ),
    Hint(
        "ansible-unknown-owner",
        re.compile(r"failed to look up (?:user|group)|chown failed|chgrp failed"),
        "the user or group does not exist yet: create it (ansible.builtin.user, "
        "ansible.builtin.group) in a task before the one that names it as owner.",
    ),
    Hint(
        "ansible-lineinfile-line",
        re.compile(r"line is required with state=present"),
        "lineinfile needs `line:` (the whole line to write); `regexp:` selects the line it "
        "replaces.",
    ),
    Hint(
        "ansible-missing-destination",
        re.compile(r"Destination \S+ does not exist"),
        "the file is not there: `create: true` on lineinfile/blockinfile, or write the whole "
        "file with ansible.builtin.copy and `content:`.",
    ),
    Hint(
        "grep-no-match",
        re.compile(r"`grep (?:-\w+ )*-\w*q"),
        "grep exits 1 when nothing matches, which stops a set -e script: use it as an "
        "`if` condition (`if ! grep -q ...; then ... fi`).",
    ),
)


#: Hints for a failed scenario check, by what the check looks at and the script's language;
#: the last one always matches.
CHECK_HINTS: tuple[Hint, ...] = (
    Hint(
        "system-user-playbook",
        re.compile(r"system user|uid below 1000", re.I),
        "ansible.builtin.user with `system: true` makes a system account (uid below 1000); "
        "give `home: DIR` and `create_home: true` in the same task when the request names "
        "the home, and the shell and groups there too: one user task, before the files it "
        "owns.",
        lang="ansible",
    ),
    Hint(
        "system-user",
        re.compile(r"system user|uid below 1000", re.I),
        "`useradd --system` (`-r`) gives a uid below 1000; add `--home-dir DIR "
        "--create-home` when the request names the home.",
        lang="bash",
    ),
    Hint(
        "home-folder-playbook",
        re.compile(r"getent passwd[^`]*-f\s*'?6|\bhome\b", re.I),
        "ansible.builtin.user with `home: DIR` and `create_home: true` (and `move_home: true` "
        "for a user that exists already); without `home` the user module puts it in "
        "/home/NAME.",
        lang="ansible",
    ),
    Hint(
        "cron-line-playbook",
        re.compile(r"/etc/cron\.d|cron line", re.I),
        "ansible.builtin.cron with `name`, `cron_file: NAME` (it writes /etc/cron.d/NAME), "
        "`user`, `job` (the command alone), and `minute`, `hour`, `day`, `month`, `weekday` "
        "from the five fields the check names, in that order.",
        lang="ansible",
    ),
    Hint(
        "exact-content-playbook",
        re.compile(r"holds exactly|exactly the line", re.I),
        "write the whole file with ansible.builtin.copy, `dest` and `content: \"LINE\\n\"` "
        "(lineinfile only adds or replaces one line among the others).",
        lang="ansible",
    ),
    Hint(
        "file-attributes-playbook",
        re.compile(r"\bhas mode\b|\bis owned by\b|\bhas group\b", re.I),
        "set `owner`, `group` and `mode: \"0750\"` (quoted) on the ansible.builtin.file or "
        "copy task that makes that path, as the check names them.",
        lang="ansible",
    ),
    Hint(
        "printed-output-playbook",
        re.compile(r"OPSGEN_STDOUT"),
        "the check reads what the play printed: ansible.builtin.command with `register: "
        "out` and `changed_when: false`, then ansible.builtin.debug with `msg: \"{{ "
        "out.stdout }}\"` so that the message is exactly the value asked for, with no "
        "labels.",
        lang="ansible",
    ),
    Hint(
        "home-folder",
        re.compile(r"getent passwd[^`]*-f\s*'?6|\bhome\b", re.I),
        "useradd puts the home in /home/NAME unless `--home-dir DIR` names it (with "
        "`--create-home` to make it); for a user that exists already, `usermod --home DIR "
        "--move-home NAME`.",
        lang="bash",
    ),
    Hint(
        "cron-line",
        re.compile(r"/etc/cron\.d"),
        "a line in /etc/cron.d is `MIN HOUR DOM MON DOW USER COMMAND`: 02:30 every day is "
        "`30 2 * * * root COMMAND`; write the whole file.",
        lang="bash",
    ),
    Hint(
        "printed-output",
        re.compile(r"OPSGEN_STDOUT"),
        "the check reads what the script printed: print exactly the value the request asks "
        "for, with no labels, headings or extra lines.",
        lang="bash",
    ),
    Hint(
        "postcondition",
        re.compile(r""),
        "the script ran but did not do what the request asks: change the script so that "
        "this holds (the name, path, value or schedule the request gives).",
    ),
)


#: The five cron fields a cron check names in its name (``(`15 4 * * 0`)``).
_FIELDS = re.compile(r"\(`([0-9*/,-]+) ([0-9*/,-]+) ([0-9*/,-]+) ([0-9*/,-]+) ([0-9*/,-]+)`\)")


def _cron_fields(hint: Hint, message: str, lang: str) -> str:
    """For a cron check, the fields it names spelt out one by one: a small model mixes up
    minute and hour when it only sees the line."""
    found = _FIELDS.search(message) if hint.name.startswith("cron-line") else None
    if found is None:
        return ""
    names = ("minute", "hour", "day", "month", "weekday")
    if lang == "ansible":
        return " Here: " + ", ".join(f'{n}: "{v}"' for n, v in zip(names, found.groups(),
                                                                      strict=True)) + "."
    return (f" Here the line starts `{' '.join(found.groups())}` ("
            + ", ".join(f"{n} {v}" for n, v in zip(names, found.groups(), strict=True)) + ").")


def with_hints(problems: list[Problem], lang: str = "bash") -> list[Problem]:
    """The problems, each failed run or failed check given the fix hint of the first known
    failure it shows (hints for another language than ``lang`` are skipped)."""
    out = []
    context = "\n".join(p.message for p in problems)
    for problem in problems:
        table = {"run": HINTS, "check": CHECK_HINTS}.get(problem.kind, ())
        if table and " Fix: " not in problem.message:
            for hint in table:
                if hint.lang is not None and hint.lang != lang:
                    continue
                if hint.context is not None and not hint.context.search(context):
                    continue
                if hint.pattern.search(problem.message):
                    fix = hint.fix + _cron_fields(hint, problem.message, lang)
                    problem = Problem(
                        problem.kind, problem.code, f"{problem.message} Fix: {fix}",
                        problem.line,
                    )
                    break
        out.append(problem)
    return out
