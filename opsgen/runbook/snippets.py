"""Code blocks and inline code -> the shell commands they contain, output left out.

A runbook's code block mixes what to type with what the terminal printed back::

    $ ps -ef | grep defunct
    root      2735     1  0 Jun08 ?        00:02:09 [prometheus] <defunct>

When a block uses prompts (``$ ``, ``user@host:~$ ``, or ``# `` before a known tool after
such a prompt), only prompt lines are commands and the rest is output. Without prompts, a
block tagged as shell is a script; an untagged block keeps only the lines that start like a
command and reports the others (log excerpts, tables, JSON) as left out. Blocks tagged with
another language (``promql``, ``yaml``) are reference material, never run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from opsgen.runbook.inline import looks_like_command
from opsgen.runbook.lexicon import KNOWN_COMMANDS, SHELL_KEYWORDS, SHELL_TAGS
from opsgen.runbook.models import CodeBlock, InlineCommand
from opsgen.runbook.shellwords import contexts

__all__ = ["Line", "Snippet", "from_block", "from_inline"]

LineKind = Literal["command", "comment"]

_PROMPTS = (
    re.compile(r"^\s*\$ +(?P<cmd>.*)$"),
    re.compile(r"^\s*[\w.-]+@[\w.-]+(?::[^\s$#]*)?\s?[$#] +(?P<cmd>.*)$"),
    re.compile(r"^\s*\[[\w.@~/ -]+\][$#] +(?P<cmd>.*)$"),
)
_TIGHT_PROMPT = re.compile(r"^\s*\$(?P<cmd>[a-z][\w.-]*(?:\s.*)?)$")  # "$sudo lsblk"
_ROOT_PROMPT = re.compile(r"^\s*# (?P<cmd>\S.*)$")
_HEREDOC = re.compile(r"<<-?\s*(['\"]?)(?P<word>[A-Za-z_][\w.-]*)\1")


@dataclass(frozen=True, slots=True)
class Line:
    """One logical command (continuations and heredocs included) or a runbook comment."""

    kind: LineKind
    text: str
    line_start: int
    line_end: int


@dataclass(frozen=True, slots=True)
class Snippet:
    """What one code block or inline span contributes to the script.

    Attributes:
        source: ``block`` or ``inline``.
        lines: commands and comments, in order.
        left_out: ``(line, why)`` for lines that are not commands (output, logs).
        runnable: False for reference blocks (another language) and unclosed fences.
        reason: why the snippet is not runnable ("" when it is).
        lang: the block's language tag ("" when untagged or inline).
    """

    source: Literal["block", "inline"]
    line_start: int
    line_end: int
    lines: tuple[Line, ...] = ()
    left_out: tuple[tuple[int, str], ...] = ()
    runnable: bool = True
    reason: str = ""
    lang: str = ""

    @property
    def commands(self) -> tuple[Line, ...]:
        """The command lines only."""
        return tuple(line for line in self.lines if line.kind == "command")


def from_inline(span: InlineCommand) -> Snippet:
    """An inline command is one command on one line."""
    line = Line("command", span.text, span.line, span.line)
    return Snippet("inline", span.line, span.line, (line,))


def from_block(block: CodeBlock) -> Snippet:
    """Split a code block into commands, comments and left-out output lines."""
    start, end = block.line_start, max(block.line_end, block.line_start)
    if not block.closed:
        return Snippet("block", start, end, runnable=False, lang=block.lang,
                       reason="the code fence is never closed")  # fmt: skip
    if block.lang and block.lang not in SHELL_TAGS:
        return Snippet("block", start, end, runnable=False, lang=block.lang,
                       reason=f"a {block.lang} block, not shell")  # fmt: skip
    raw = block.text.splitlines()
    prompted = any(_prompt(text) is not None for text in raw)
    mode = "prompt" if prompted else ("script" if block.lang else "guess")
    splitter = _Splitter(mode, start)
    for offset, text in enumerate(raw):
        splitter.feed(text, start + offset)
    splitter.finish()
    return Snippet(
        "block",
        start,
        end,
        tuple(splitter.lines),
        tuple(splitter.left_out),
        lang=block.lang,
    )


def _prompt(text: str) -> str | None:
    for pattern in _PROMPTS:
        match = pattern.match(text)
        if match:
            return match.group("cmd")
    match = _TIGHT_PROMPT.match(text)
    if match and match.group("cmd").split()[0] in KNOWN_COMMANDS:
        return match.group("cmd")
    return None


@dataclass
class _Splitter:
    """Feeds raw lines; builds logical commands (line continuations and heredocs)."""

    mode: str  # prompt | script | guess
    first_line: int
    lines: list[Line] = field(default_factory=list)
    left_out: list[tuple[int, str]] = field(default_factory=list)
    _open: list[str] = field(default_factory=list)
    _open_start: int = 0
    _heredoc: str = ""

    def feed(self, text: str, number: int) -> None:
        if self._open and (self._heredoc or self._continues()):
            self._extend(text, number)
            return
        self._close()
        stripped = text.strip()
        if not stripped:
            return
        command = self._command(text, stripped)
        if command is not None:
            self._start(command, number)
        elif stripped.startswith("#"):
            self.lines.append(Line("comment", stripped.lstrip("#").strip(), number, number))
        else:
            why = "output shown in the runbook" if self.mode == "prompt" else "not a command"
            self.left_out.append((number, why))

    def _command(self, text: str, stripped: str) -> str | None:
        if self.mode == "prompt":
            prompted = _prompt(text)
            if prompted is not None:
                return prompted
            root = _ROOT_PROMPT.match(text)  # "# lsof -n" after "$ oc debug node/x"
            if root and root.group("cmd").split()[0] in KNOWN_COMMANDS:
                return root.group("cmd")
            return None
        if stripped.startswith("#"):
            return None
        if self.mode == "script":
            return text.rstrip()
        first = stripped.split()[0]
        if looks_like_command(stripped) or first in SHELL_KEYWORDS:
            return text.rstrip()
        return None

    def _start(self, command: str, number: int) -> None:
        if not command.strip():
            return
        self._open, self._open_start = [command], number
        self._heredoc = _heredoc_word(command)
        if not self._heredoc and not self._continues():
            self._close()

    def _extend(self, text: str, number: int) -> None:
        self._open.append(text)
        if self._heredoc and text.strip() == self._heredoc:
            self._heredoc = ""
        if not self._heredoc and not self._continues():
            self._close(number)

    def _continues(self) -> bool:
        return bool(self._open) and self._open[-1].endswith("\\")

    def _close(self, last: int | None = None) -> None:
        if not self._open:
            return
        end = last if last is not None else self._open_start + len(self._open) - 1
        self.lines.append(Line("command", "\n".join(self._open), self._open_start, end))
        self._open, self._heredoc = [], ""

    def finish(self) -> None:
        """Close a command left open at the end of the block."""
        self._close()


def _heredoc_word(command: str) -> str:
    ctx = contexts(command)
    for match in _HEREDOC.finditer(command):
        if ctx[match.start()] == "u":
            return match.group("word")
    return ""
