"""Names and paths an export may write: refused, never repaired, when hostile (ADV-19/21).

Export paths come from the command line (``--path``, ``--name``, ``--branch``) and from
manifests read back by ``verify``. A path with ``..``, an absolute path, a control or bidi
character, a ``.git`` component or a leading ``-`` could write outside the target, hide
from a reviewer or be read as an option; we refuse them with one clear error each.
"""

from __future__ import annotations

import re
import unicodedata

from opsgen.errors import ExportError
from opsgen.names import check_name

__all__ = ["check_branch", "check_name", "check_relpath"]

_MAX_PATH = 1024


def _hostile_char(value: str) -> str | None:
    for char in value:
        if unicodedata.category(char) in {"Cc", "Cf", "Zl", "Zp"}:
            return f"U+{ord(char):04X}"
    return None


def check_relpath(path: str, what: str = "--path") -> str:
    """A relative POSIX path inside the export target; returns it normalised ("" for root)."""
    bad = _hostile_char(path)
    problem = None
    if bad:
        problem = f"contains the control or formatting character {bad}"
    elif path.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", path):
        problem = "is absolute"
    elif "\\" in path:
        problem = "contains a backslash"
    elif len(path) > _MAX_PATH:
        problem = "is too long"
    parts = [p for p in path.strip("/").split("/") if p not in {"", "."}] if not problem else []
    for part in parts:
        if part == "..":
            problem = "contains '..'"
        elif part.lower() == ".git":
            problem = "enters a .git folder"
        elif part.startswith("-"):
            problem = f"has a component starting with '-' ({part})"
        elif len(part) > 255:
            problem = "has a component over 255 characters"
    if problem:
        raise ExportError(
            f"refusing {what} {path!r}: it {problem}",
            reference="bad-export-path",
            hint="give a relative path inside the target, without '..'",
        )
    return "/".join(parts)


def check_branch(branch: str) -> str:
    """A branch name git accepts that is also safe to show (``git check-ref-format`` rules)."""
    problem = None
    if _hostile_char(branch) or " " in branch:
        problem = "contains a space, control or formatting character"
    elif branch.startswith(("-", "/")) or branch.endswith(("/", ".", ".lock")) or not branch:
        problem = "starts or ends badly"
    elif any(s in branch for s in ("..", "@{", "//", "~", "^", ":", "?", "*", "[", "\\")):
        problem = "contains a character sequence git forbids"
    elif any(part.startswith(".") for part in branch.split("/")) or branch == "HEAD":
        problem = "has a component starting with '.'"
    if problem:
        raise ExportError(f"invalid branch name {branch!r}: it {problem}", reference="bad-branch")
    return branch
