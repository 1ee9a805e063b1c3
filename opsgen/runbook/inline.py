"""Which inline code spans in prose are commands to run, and which are only mentioned.

Runbook prose is full of backticks: paths (`/var/log`), names (`postgresql`), labels,
flags (`-ctime +1`), SQL, and real commands ("restart it with `sudo service x restart`").
We take a span as a command only when it has at least two words and starts like a command
(a known tool, ``sudo``, an absolute path or an assignment), and not when the sentence only
talks about it: "the `df -i` command", "change the `find /` to ...", or a glossary item
"`find -type d` - find all directories".
"""

from __future__ import annotations

import re
from typing import Any

from opsgen.runbook.lexicon import KNOWN_COMMANDS
from opsgen.runbook.models import InlineCommand

__all__ = ["command_spans", "looks_like_command"]

_ARTICLE = re.compile(r"\b(the|a|an|this|that|your|our|its)\s*$", re.I)
_EDIT_VERB = re.compile(r"\b(change|changing|replace|replacing)\b", re.I)
_DEFINITION = re.compile(r"^\s*[-–—:]\s")  # noqa: RUF001 (en and em dashes are meant)
_SENTENCE_END = re.compile(r"[.!?]\s|\n")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_PATH_EXE = re.compile(r"^(/(?!dev/|proc/|sys/)|\./|~/)[\w.@+/-]+$")


def looks_like_command(line: str, *, min_words: int = 1) -> bool:
    """True when ``line`` starts like a shell command: known tool, path, assignment, sudo."""
    parts = line.strip().split()
    if len(parts) < min_words:
        return False
    first = parts[0]
    return bool(first in KNOWN_COMMANDS or _ASSIGNMENT.match(first) or _PATH_EXE.match(first))


def command_spans(tok: Any, first_line: int, *, in_list: bool = False) -> list[InlineCommand]:
    """The inline code spans of an inline token that read as commands, with their lines.

    Args:
        tok: a markdown-it ``inline`` token.
        first_line: the 1-based source line where the token starts.
        in_list: the paragraph is in a list item (glossary items are recognised there).
    """
    found: list[InlineCommand] = []
    children = list(tok.children or ())
    line = first_line
    before: list[str] = []
    for index, child in enumerate(children):
        if child.type in ("softbreak", "hardbreak"):
            line += 1
            before.append("\n")
            continue
        if child.type == "code_inline":
            after = "".join(c.content for c in children[index + 1 : index + 3])
            command = _command_text(child.content, "".join(before), after, in_list)
            if command:
                found.append(InlineCommand(command, line))
            before.append("`code`")
            continue
        before.append(child.content)
    return found


def _command_text(code: str, before: str, after: str, in_list: bool) -> str | None:
    text = code.strip().removeprefix("$ ").strip()
    if not looks_like_command(text, min_words=2):
        return None
    if _ARTICLE.search(before):
        return None  # "the `df -i` command": a mention
    if _EDIT_VERB.search(_SENTENCE_END.split(before)[-1]):
        return None  # "change the `find /` to `find /x`": describes an edit
    if in_list and not before.strip() and _DEFINITION.match(after):
        return None  # "`find -type d` - find all directories": a glossary entry
    return text
