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

The request also tells what the server has before the script (an account it names, the
folder it works in, the file it edits, the link it switches): :func:`presupposed_state`
writes the prepare that makes exactly that, each thing only when missing.

Layout: :mod:`.words` (names, paths, users, shared helpers), :mod:`.accounts`,
:mod:`.files`, :mod:`.system` (settings, cron, packages, units) hold the rules; this module
lists them in :data:`RULES` and puts the scenario together.
"""

from __future__ import annotations

import re

from opsgen.flow.derive.accounts import (
    KEEP_GROUP,
    _group_keeper,
    _home,
    _ids,
    _kept_groups,
    _left_group,
    _member_of,
    _shell,
    _system_user,
    leavers,
    presupposed_groups,
)
from opsgen.flow.derive.files import (
    _KEEP_LINES,
    _SWITCH,
    KEEP_CONTENT_DIR,
    KEEP_CONTENT_LINE,
    KEEP_LINE,
    _attributes,
    _exact_content,
    _kept,
    _kept_release,
    _links,
    _mode,
    _owner,
    _previous,
    _sweep,
    _sweep_samples,
    _swept,
    _symlink,
    keep_content_slug,
    kept_content_file,
    presupposed_paths,
)
from opsgen.flow.derive.system import (
    _cron,
    _held,
    _package,
    _settings,
    _sysctl,
    _unit,
    key_line,
    presupposed_settings,
)
from opsgen.flow.derive.words import (
    DerivedRule,
    _make_group,
    _make_user,
    _q,
    existing_users,
    presupposed_users,
)
from opsgen.scenario import MAX_CHECKS, Check, Scenario

__all__ = ["KEEP_GROUP", "KEEP_LINE", "RULES", "DerivedRule", "derive_scenario", "existing_users",
           "presupposed_groups", "presupposed_paths", "presupposed_settings", "presupposed_state",
           "presupposed_users"]


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
    DerivedRule("kept", "a folder, the other lines of a file or a file's contents the request "
                "says must stay", _kept),
    DerivedRule("kept-release", "a switched link's previous release (named) stays unless the "
                "request removes something", _kept_release),
    DerivedRule("package", "a Debian package named as such is installed", _package),
    DerivedRule("held", "a package held at its version (apt-mark)", _held),
)


def presupposed_state(text: str) -> str:
    """The prepare script: users, groups, folders, files and links the request presupposes,
    each made only when missing (so the prepare is idempotent and harmless)."""
    lines = [_make_user(u) for u in presupposed_users(text)]
    lines += [_make_group(g) for g in presupposed_groups(text)]
    for user, group in leavers(text):
        lines += [_make_group(group), _make_user(user), f"usermod -aG {_q(group)} {_q(user)}"]
    keeper = _group_keeper(text)
    if keeper is not None:
        lines += [_make_user(keeper), f"groupadd -f {KEEP_GROUP}",
                  f"usermod -aG {KEEP_GROUP} {_q(keeper)}"]
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
    kept = kept_content_file(text)
    if kept is not None and kept in files:
        q = _q(kept)
        lines += [f"[ -s {q} ] || echo {_q(KEEP_CONTENT_LINE)} > {q}",
                  f"mkdir -p {KEEP_CONTENT_DIR} && sha256sum -- {q} > "
                  f"{_q(keep_content_slug(kept))}"]
    for path, key, line in presupposed_settings(text):
        lines.append(f"grep -Eq {_q(key_line(key))} {_q(path)} || echo {_q(line)} >> {_q(path)}")
    folder = re.search(r"\b(?:release|directory|folder|dir)\b", text, re.I) is not None
    switch = _SWITCH.search(text)
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
    when none. The prepare makes only what the request presupposes
    (:func:`presupposed_state`).

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
