"""Markdown runbook -> :class:`~opsgen.runbook.models.Runbook`, with source line ranges.

markdown-it-py gives block tokens with ``map`` (0-based, end-exclusive line ranges); we turn
them into steps: each top-level list item is a step, and the prose and code under a heading
that is not in a list is one step. A code block that directly follows a list belongs to the
last item: runbooks often write "1. Bootstrap the node:" and put the fence at column 0,
which ends the list in CommonMark although the author meant it as part of the item.

Markdown cannot fail to parse, so "broken" Markdown shows up as odd structure; the one case
that matters for safety is a fence that is never closed, which turns the rest of the file
into "code". Such a block is kept but marked ``closed=False`` and never executed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

from opsgen.inputs import read_text_file
from opsgen.runbook.inline import command_spans
from opsgen.runbook.models import CodeBlock, InlineCommand, Runbook, Step, StepKind

__all__ = ["MAX_RUNBOOK_BYTES", "parse_runbook", "read_runbook"]

#: A long real runbook is ~50 KB; 2 MiB leaves 40x headroom and still refuses data dumps.
MAX_RUNBOOK_BYTES = 2 << 20
_FRONT_MATTER_MAX_LINES = 200
_TITLE = re.compile(r"""^title:\s*["']?(?P<title>.*?)["']?\s*$""")


def read_runbook(path: str | Path) -> str:
    """The runbook's text, or one :class:`~opsgen.errors.InputError` saying why not.

    Missing, empty, binary, non-UTF-8 and oversized files are refused by
    :func:`opsgen.inputs.read_text_file`, with the runbook size limit.
    """
    return read_text_file(path, max_bytes=MAX_RUNBOOK_BYTES)


def _markdown() -> MarkdownIt:
    # CommonMark plus tables; raw HTML is tokenised but never rendered or trusted.
    return MarkdownIt("commonmark").enable("table")


def parse_runbook(text: str, path: str) -> Runbook:
    """Split ``text`` into steps; ``path`` is only the name shown in traces."""
    lines = text.splitlines()
    body, fm_title = _strip_front_matter(lines)
    tokens = _markdown().parse("\n".join(body))
    walker = _Walker(lines=body)
    walker.walk(tokens)
    title = fm_title or walker.first_heading or Path(path).name.split(".", 1)[0]
    return Runbook(
        path=path,
        title=title,
        steps=tuple(walker.steps),
        warnings=tuple(walker.warnings),
        line_count=len(lines),
    )


def _strip_front_matter(lines: list[str]) -> tuple[list[str], str]:
    """Blank out a YAML front-matter block (keeping line numbers) and return its title.

    Left in, the closing ``---`` would turn the block into a setext heading.
    """
    if not lines or lines[0].strip() != "---":
        return lines, ""
    for end in range(1, min(len(lines), _FRONT_MATTER_MAX_LINES)):
        if lines[end].strip() in ("---", "..."):
            title = ""
            for line in lines[1:end]:
                match = _TITLE.match(line)
                if match:
                    title = match.group("title").strip()
            return [""] * (end + 1) + lines[end + 1 :], title
    return lines, ""


@dataclass
class _Draft:
    """A step being assembled."""

    heading: str
    kind: StepKind
    start: int
    end: int
    texts: list[str] = field(default_factory=list)
    code: list[CodeBlock] = field(default_factory=list)
    inline: list[InlineCommand] = field(default_factory=list)

    def empty(self) -> bool:
        return not (self.texts or self.code or self.inline)


@dataclass
class _Walker:
    """Walks the top-level token stream, building steps."""

    lines: list[str]
    steps: list[Step] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    heading: str = ""
    first_heading: str = ""
    section: _Draft | None = None
    list_end: int = -1  # 0-based line after the last top-level list, to attach fences

    def walk(self, tokens: list[Token]) -> None:
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            close = _matching_close(tokens, i)
            if tok.type == "heading_open":
                self._flush()
                self.heading = _plain(tokens[i + 1])
                self.first_heading = self.first_heading or self.heading
                self.list_end = -1
            elif tok.type in ("bullet_list_open", "ordered_list_open"):
                self._flush()
                self._list(tokens[i + 1 : close], "ordered" if tok.tag == "ol" else "bullet")
                self.list_end = _end(tok)
            elif tok.type in ("fence", "code_block"):
                self._code(tok)
            elif tok.type != "hr" and tok.map is not None:
                self._prose(tokens[i : close + 1])
                self.list_end = -1
            i = close + 1
        self._flush()

    # -- pieces -----------------------------------------------------------------------
    def _code(self, tok: Token) -> None:
        block = self._block(tok)
        if self.steps and 0 <= self.list_end and _start(tok) - self.list_end <= 1:
            last = self.steps[-1]
            self.steps[-1] = replace(
                last,
                code_blocks=(*last.code_blocks, block),
                line_end=max(last.line_end, _end(tok)),
            )
            self.list_end = _end(tok)
            return
        self._section(tok).code.append(block)

    def _prose(self, toks: list[Token]) -> None:
        draft = self._section(toks[0])
        quoted = toks[0].type == "blockquote_open"
        for tok in toks:
            if tok.type == "inline" and tok.map is not None:
                draft.texts.append(_plain(tok))
                if not quoted:  # a quotation is someone else's words, not an instruction
                    draft.inline.extend(command_spans(tok, _start(tok)))
            elif tok.type in ("fence", "code_block"):
                draft.code.append(self._block(tok))
        draft.end = max(draft.end, _end(toks[0]))

    def _list(self, toks: list[Token], kind: StepKind) -> None:
        i = 0
        while i < len(toks):
            if toks[i].type == "list_item_open" and toks[i].level == toks[0].level:
                close = _matching_close(toks, i)
                self._item(toks[i : close + 1], kind)
                i = close
            i += 1

    def _item(self, toks: list[Token], kind: StepKind) -> None:
        head = toks[0]
        draft = _Draft(self.heading, kind, _start(head), _end(head))
        for tok in toks:
            if tok.type == "inline" and tok.map is not None:
                draft.texts.append(_plain(tok))
                draft.inline.extend(command_spans(tok, _start(tok), in_list=True))
            elif tok.type in ("fence", "code_block"):
                draft.code.append(self._block(tok))
        self._add(draft)

    def _block(self, tok: Token) -> CodeBlock:
        start, end = _start(tok), _end(tok)
        if tok.type == "code_block":
            return CodeBlock(tok.content, "", start, end)
        closed = _fence_closed(self.lines, tok)
        if not closed:
            self.warnings.append(
                f"line {start}: a code fence is never closed, so lines {start + 1}-{end} were"
                " read as code; they are not converted"
            )
        return CodeBlock(tok.content, tok.info.strip(), start + 1, end - 1 if closed else end,
                         closed=closed)  # fmt: skip

    def _section(self, tok: Token) -> _Draft:
        if self.section is None:
            self.section = _Draft(self.heading, "section", _start(tok), _end(tok))
        self.section.end = max(self.section.end, _end(tok))
        return self.section

    def _flush(self) -> None:
        if self.section is not None and not self.section.empty():
            self._add(self.section)
        self.section = None

    def _add(self, draft: _Draft) -> None:
        if draft.empty():
            return
        self.steps.append(
            Step(
                number=len(self.steps) + 1,
                heading=draft.heading,
                text="\n".join(t for t in draft.texts if t),
                code_blocks=tuple(draft.code),
                inline_commands=tuple(draft.inline),
                line_start=draft.start,
                line_end=max(draft.end, draft.start),
                kind=draft.kind,
            )
        )


def _start(tok: Token) -> int:
    """1-based first line of a block token."""
    return _map(tok)[0] + 1


def _end(tok: Token) -> int:
    """1-based last line of a block token (inclusive)."""
    return _map(tok)[1]


def _map(tok: Token) -> list[int]:
    return tok.map if tok.map is not None else [0, 0]


def _matching_close(tokens: list[Token], i: int) -> int:
    """Index of the token closing ``tokens[i]`` (``i`` itself for self-contained tokens)."""
    if tokens[i].nesting != 1:
        return i
    depth = 0
    for j in range(i, len(tokens)):
        depth += tokens[j].nesting
        if depth == 0:
            return j
    return len(tokens) - 1


def _fence_closed(lines: list[str], tok: Token) -> bool:
    start, end = _map(tok)
    if end - 1 <= start or end > len(lines):
        return False
    closing = lines[end - 1].strip()
    char = tok.markup[:1]
    return bool(char) and closing.startswith(tok.markup) and set(closing) == {char}


def _plain(tok: Any) -> str:
    """Readable text of an inline token: code spans keep their backticks, links their text."""
    parts: list[str] = []
    for child in tok.children or ():
        if child.type == "code_inline":
            parts.append(f"`{child.content}`")
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type in ("text", "html_inline"):
            parts.append(child.content)
        elif child.type == "image":
            parts.append(child.content)
    return " ".join("".join(parts).split())
