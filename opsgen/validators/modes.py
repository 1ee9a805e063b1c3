"""Reading file modes, octal or symbolic, the way chmod and Ansible's ``mode:`` do."""

from __future__ import annotations

import re

__all__ = ["Mode", "parse_mode"]

_OCTAL = re.compile(r"(?:0o?)?([0-7]{3,4})")
_CLAUSE = re.compile(r"([ugoa]*)((?:[-+=][rwxXst]*)+)")


class Mode:
    """What a mode grants that matters for policy.

    Attributes:
        world_writable: others may write, and the sticky bit does not protect the entries
            (``1777`` is how /tmp is meant to be, so it does not count).
        setuid: runs as the file's owner (setgid alone is normal on shared group folders).
        executable: someone may execute it.
    """

    __slots__ = ("executable", "setuid", "world_writable")

    def __init__(self, world_writable: bool = False, setuid: bool = False,
                 executable: bool = False):
        self.world_writable = world_writable
        self.setuid = setuid
        self.executable = executable


def parse_mode(mode: str | int) -> Mode:
    """Interpret ``mode``: ``"0777"``, ``4755``, ``"a+w"``, ``"u=rwx,o+w"``; unknown -> nothing.

    An ``int`` is taken as YAML gives it: ``0777`` in YAML 1.1 is already 511.
    """
    if isinstance(mode, int):
        return _bits(mode)
    text = mode.strip()
    m = _OCTAL.fullmatch(text)
    if m:
        return _bits(int(m.group(1), 8))
    ww = suid = ex = False
    for clause in text.split(","):
        c = _CLAUSE.fullmatch(clause)
        if not c:
            continue
        who = c.group(1)
        for op, perms in re.findall(r"([-+=])([rwxXst]*)", c.group(2)):
            if op == "-":
                continue
            ww |= "w" in perms and ("o" in who or "a" in who) and "t" not in perms
            suid |= "s" in perms and (not who or "u" in who or "a" in who)
            ex |= "x" in perms
    return Mode(ww, suid, ex)


def _bits(value: int) -> Mode:
    sticky = bool(value & 0o1000)
    return Mode(bool(value & 0o002) and not sticky, bool(value & 0o4000), bool(value & 0o111))
