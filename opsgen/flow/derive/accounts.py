"""Rules about accounts: home, shell, system uid, groups joined or left, IDs, and the
groups the request names without creating them."""

from __future__ import annotations

import re
from collections.abc import Iterator

from opsgen.flow.derive.words import (
    _NAME,
    _NOT_NAMES,
    _PATH,
    _check,
    _group_list,
    _in_group,
    _one_user,
    _q,
    presupposed_users,
)
from opsgen.scenario import Check


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
        yield _check(f"{user} is in the group {group}", _in_group(user, group))


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


_LEAVE = re.compile(
    rf"\b(?:take|remove|drop|delete)\s+({_NAME})\s+(?:out\s+of|from)\s+the\s+({_NAME})\s+group\b",
    re.I)


_KEEP_GROUPS = re.compile(
    r"\bkeeps?\b[^.;]{0,40}\bother\s+group|\bwithout\s+(?:dropping|removing|losing)\b"
    r"[^.;]{0,40}\bgroups?\b|\bstays?\s+in\s+(?:all\s+)?(?:the|her|his|their)\s+(?:other\s+)?"
    r"groups\b", re.I)


KEEP_GROUP = "opsgenkeep"


def leavers(text: str) -> list[tuple[str, str]]:
    """(user, group) for each "take USER out of the GROUP group" (the prepare puts the user
    in the group first)."""
    return [(m.group(1), m.group(2)) for m in _LEAVE.finditer(text)
            if m.group(1) not in _NOT_NAMES and m.group(2) not in _NOT_NAMES]


def _left_group(text: str) -> Iterator[Check]:
    """"Take mallory out of the sudo group": she is not in it after."""
    for user, group in leavers(text):
        yield _check(f"{user} is not in the group {group}", f"! {_in_group(user, group)}")


def _group_keeper(text: str) -> str | None:
    """The user whose other groups must stay ("she keeps her other groups", "without
    dropping him from the groups he is in"): the prepare puts them in one more group."""
    if not _KEEP_GROUPS.search(text):
        return None
    left = {user for user, _group in leavers(text)}
    if len(left) == 1:
        return left.pop()
    user = _one_user(text)
    return user if user is not None and user in presupposed_users(text) else None


def _kept_groups(text: str) -> Iterator[Check]:
    user = _group_keeper(text)
    if user is not None:
        yield _check(f"{user} is still in the group {KEEP_GROUP}", _in_group(user, KEEP_GROUP))


#: The request makes a group ("create the group auditors", "a new group"); "make it owned by
#: root with group myapp" names the group a path gets, which the server has.
_CREATES_GROUP = re.compile(r"\b(?:create|creates|make|makes)\b(?:(?!\bowned\b)[^.;]){0,40}"
                            r"\bgroups?\b|"
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
