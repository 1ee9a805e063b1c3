"""Just enough shell lexing to rewrite runbook commands without changing what they mean.

We never execute anything here; we need to know, for each character of a command, whether
bash would see it unquoted, inside single or double quotes, escaped or in a comment. That
decides how a placeholder is replaced (``'<x>'`` needs its quotes closed, ``<x>`` needs
double quotes), which ``$VAR`` bash would expand, and where a pipeline splits. The rules
are POSIX's, minus the parts runbooks do not use (arithmetic, nested quoting inside
``$(...)`` is treated as the surrounding context).
"""

from __future__ import annotations

import re
import shlex

__all__ = [
    "UNQUOTED",
    "contexts",
    "quote",
    "segments",
    "unterminated",
    "words",
]

UNQUOTED, SINGLE, DOUBLE, ESCAPED, COMMENT = "u", "s", "d", "e", "c"
_OPERATORS = ("&&", "||", ";;", "|&", "|", ";", "&")


def contexts(text: str) -> str:
    """One context letter per character of ``text``.

    ``u`` unquoted, ``s`` inside single quotes (or ``$'...'``), ``d`` inside double quotes,
    ``e`` a backslash or the character it escapes (the backslash is removed by bash), ``c``
    a comment. Quote characters get the context they open or close.
    """
    return _scan(text)[0]


def unterminated(text: str) -> bool:
    """True when ``text`` ends inside a quote: appended to a script it would swallow the rest."""
    return _scan(text)[1] in (SINGLE, DOUBLE)


def _scan(text: str) -> tuple[str, str]:
    out: list[str] = []
    state = UNQUOTED
    i = 0
    while i < len(text):
        ch = text[i]
        if state == COMMENT:
            out.append(COMMENT)
            if ch == "\n":
                state = UNQUOTED
                out[-1] = UNQUOTED
        elif state == SINGLE:
            out.append(SINGLE)
            if ch == "'":
                state = UNQUOTED
        elif state == DOUBLE:
            if ch == "\\" and i + 1 < len(text) and text[i + 1] in '$`"\\\n':
                out += [ESCAPED, ESCAPED]
                i += 2
                continue
            out.append(DOUBLE)
            if ch == '"':
                state = UNQUOTED
        elif ch == "\\" and i + 1 < len(text):
            out += [ESCAPED, ESCAPED]
            i += 2
            continue
        elif ch == "'":
            state = SINGLE
            out.append(SINGLE)
        elif ch == '"':
            state = DOUBLE
            out.append(DOUBLE)
        elif ch == "#" and (i == 0 or text[i - 1] in " \t\n;&|("):
            state = COMMENT
            out.append(COMMENT)
        else:
            out.append(UNQUOTED)
        i += 1
    return "".join(out), state


def segments(command: str) -> list[str]:
    """Split a command at top-level ``|``, ``||``, ``&&``, ``;`` and ``&`` (not ``2>&1``).

    Operators inside quotes, ``$(...)``, backticks or parentheses do not split; the
    returned pieces are stripped and never empty.
    """
    ctx = contexts(command)
    pieces: list[str] = []
    depth = 0
    start = 0
    i = 0
    while i < len(command):
        ch, c = command[i], ctx[i]
        if c != UNQUOTED:
            i += 1
            continue
        if ch in "(`" or command.startswith("${", i):
            depth += 1
        elif ch in ")}" and depth:
            depth -= 1
        elif depth == 0:
            op = next((o for o in _OPERATORS if command.startswith(o, i)), None)
            if op and not _is_redirect(command, i):
                pieces.append(command[start:i])
                i += len(op)
                start = i
                continue
        i += 1
    pieces.append(command[start:])
    return [p.strip() for p in pieces if p.strip()]


def _is_redirect(text: str, i: int) -> bool:
    # "2>&1", "&>file", ">&2": an ampersand next to a redirection is not an operator.
    before = text[i - 1] if i else ""
    after = text[i + 1] if i + 1 < len(text) else ""
    return text[i] == "&" and (before in "<>" or after == ">")


_WORD_BREAK = re.compile(r"[ \t\n]")


def words(command: str) -> list[str]:
    """Split one simple command into words with quotes removed, as bash would.

    Unlike :func:`shlex.split`, a backslash inside double quotes escapes only ``$`` `` ` ``
    ``"`` ``\\`` and newline (POSIX), so ``"print \\$1"`` becomes ``print $1``. Stops at a
    comment. Never raises: an unterminated quote ends the last word.
    """
    out: list[str] = []
    word: list[str] = []
    has_word = False
    ctx = contexts(command)
    i = 0
    while i < len(command):
        ch, c = command[i], ctx[i]
        if c == COMMENT:
            break
        if c == ESCAPED:
            nxt = command[i + 1] if i + 1 < len(command) else ""
            if nxt != "\n":  # backslash-newline is a line continuation, not a character
                word.append(nxt)
                has_word = True
            i += 2
            continue
        if c == UNQUOTED and _WORD_BREAK.match(ch):
            if has_word:
                out.append("".join(word))
            word, has_word = [], False
        elif (c == SINGLE and ch == "'") or (c == DOUBLE and ch == '"'):
            has_word = True  # quote characters are removed, an empty "" is still a word
        else:
            word.append(ch)
            has_word = True
        i += 1
    if has_word:
        out.append("".join(word))
    return out


def quote(value: str) -> str:
    """Quote ``value`` as one shell word (single quotes unless it is plainly safe)."""
    return shlex.quote(value)
