"""The parsed runbook: steps with the source lines they came from.

Line numbers are 1-based and inclusive, like every position opsgen shows (findings use the
same convention), so ``file.md:12-14`` in a script comment is what an editor opens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["CodeBlock", "InlineCommand", "Runbook", "Step", "StepKind"]

StepKind = Literal["section", "ordered", "bullet"]


@dataclass(frozen=True, slots=True)
class CodeBlock:
    """A fenced or indented code block, verbatim.

    Attributes:
        text: the block's content without the fences.
        info: the fence's info string (``bash``, ``promql``...); "" when untagged or indented.
        line_start: first content line.
        line_end: last content line (``line_start - 1`` for an empty block).
        closed: False when a fence is never closed and ran to the end of the file: its
            "code" is probably prose, so it is never executed.
    """

    text: str
    info: str
    line_start: int
    line_end: int
    closed: bool = True

    @property
    def lang(self) -> str:
        """The first word of the info string, lower-cased ("" when untagged)."""
        return self.info.split(maxsplit=1)[0].lower() if self.info.strip() else ""


@dataclass(frozen=True, slots=True)
class InlineCommand:
    """Inline code in prose that reads as a command to run (``sudo service x restart``)."""

    text: str
    line: int


@dataclass(frozen=True, slots=True)
class Step:
    """One unit of instruction: a list item, or the prose and code under a heading.

    Attributes:
        number: 1-based position in the runbook.
        heading: the innermost heading above the step ("" before the first heading).
        text: the step's prose, one paragraph per line, inline code kept in backticks.
        code_blocks: code blocks of the step, in source order.
        inline_commands: inline code spans that read as commands, in source order.
        line_start: first source line of the step.
        line_end: last source line of the step.
        kind: ``section`` (prose under a heading), ``ordered`` or ``bullet`` list item.
    """

    number: int
    heading: str
    text: str
    code_blocks: tuple[CodeBlock, ...]
    inline_commands: tuple[InlineCommand, ...]
    line_start: int
    line_end: int
    kind: StepKind = "section"

    @property
    def has_commands(self) -> bool:
        """True when the step carries code or inline commands."""
        return bool(self.code_blocks or self.inline_commands)


@dataclass(frozen=True, slots=True)
class Runbook:
    """A parsed runbook.

    Attributes:
        path: the name shown in traces and reports (relative to the input folder).
        title: front-matter ``title``, else the first heading, else the file name.
        steps: the steps in source order.
        warnings: problems found while parsing (an unclosed fence...), one sentence each.
        line_count: number of source lines.
    """

    path: str
    title: str
    steps: tuple[Step, ...]
    warnings: tuple[str, ...] = ()
    line_count: int = 0
