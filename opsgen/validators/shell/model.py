"""The small syntax tree the shell rules read: words, redirects, commands, pipelines.

It keeps only what policy rules need (shellcheck does the deep analysis): each word's source
text and its unquoted value, the command substitutions inside it, redirect targets and
here-document bodies, and 1-based positions in the file being linted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["Command", "Pipeline", "Redirect", "Script", "Word"]


@dataclass(slots=True, eq=False)
class Word:
    """One shell word.

    ``value`` has quotes removed and escapes resolved, while expansions (``$X``, ``$(..)``)
    stay verbatim, so ``c"ur"l`` and ``$'\\x63url'`` both read ``curl``.
    """

    raw: str
    value: str
    line: int
    col: int
    subs: list[Script] = field(default_factory=list)
    globbed: bool = False  # an unquoted * ? or [ : the shell expands it
    quoted: bool = False
    procsub: bool = False  # the whole word is <(...) or >(...)

    @property
    def has_expansion(self) -> bool:
        """True when the value depends on run-time data ($VAR, $(cmd), `cmd`)."""
        return "$" in self.value or "`" in self.value


@dataclass(slots=True, eq=False)
class Redirect:
    """``>file``, ``2>>log``, ``<<EOF`` (with its body), ``<<<word``, ``< <(cmd)``."""

    op: str
    target: Word | None
    line: int
    heredoc: str | None = None
    heredoc_line: int = 0
    heredoc_subs: list[Script] = field(default_factory=list)

    @property
    def writes(self) -> bool:
        """True for redirects that write to a file (``>``, ``>>``, ``&>``, ``>|``, ``<>``)."""
        op = self.op.lstrip("0123456789")
        if op.endswith(">&"):  # 2>&1 duplicates a descriptor; >&file writes a file
            return self.target is not None and not self.target.value.isdigit()
        return op in {">", ">>", ">|", "&>", "&>>", "<>"}


@dataclass(slots=True, eq=False)
class Command:
    """A simple command: assignments, words and redirects, positioned at its first token."""

    line: int
    col: int
    words: list[Word] = field(default_factory=list)
    assignments: list[Word] = field(default_factory=list)
    redirects: list[Redirect] = field(default_factory=list)

    def all_words(self) -> Iterator[Word]:
        """Every word of the command, including assignment values and redirect targets."""
        yield from self.assignments
        yield from self.words
        for r in self.redirects:
            if r.target is not None:
                yield r.target


@dataclass(slots=True, eq=False)
class Pipeline:
    """Commands joined by ``|``; a lone command is a pipeline of one."""

    commands: list[Command]


@dataclass(slots=True, eq=False)
class Script:
    """A parsed script, or a nested one from ``$(..)``, ``<(..)``, ``bash -c '..'``."""

    pipelines: list[Pipeline] = field(default_factory=list)
    #: for-loop variable names: never empty inside the loop body
    loop_vars: set[str] = field(default_factory=set)
    #: names of shell functions defined in this script
    functions: set[str] = field(default_factory=set)
