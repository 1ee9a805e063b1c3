"""Group tokens into commands and pipelines, stepping over bash's compound syntax.

Compound commands (``if``, ``while``, ``for``, ``case``, ``{ }``, subshells, functions) are
not modelled as trees: their keywords are skipped and the simple commands inside them are
kept, which is all the policy rules look at. ``bash -n`` and shellcheck judge the syntax.
"""

from __future__ import annotations

import re

from opsgen.validators.shell.lexer import Scanner
from opsgen.validators.shell.model import Command, Pipeline, Redirect, Script, Word

__all__ = ["Parser", "parse"]

_SKIP_AT_START = frozenset(
    {"if", "then", "elif", "else", "fi", "do", "done", "while", "until", "!", "{", "}", "time",
     "coproc"}
)
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=")
_END_CMD = frozenset({";", "&", "&&", "||", ";;", ";&", ";;&"})


def parse(
    text: str, line_base: int = 1, col_base: int = 1, depth: int = 0, indent: int = 0
) -> Script:
    """Parse shell ``text`` whose first character sits at ``line_base``:``col_base``.

    ``indent`` is added to the column of every later line (code inside a YAML block).
    """
    return Parser(Scanner(text, line_base, col_base, depth, indent)).parse_list(None)


class Parser:
    """Builds a :class:`Script` from a :class:`Scanner`, tolerating any input."""

    def __init__(self, scanner: Scanner):
        self.sc = scanner
        self.script = Script()
        self.cmds: list[Command] = []
        self.cmd: Command | None = None
        self.case_stack: list[str] = []  # "header" | "pattern" | "body"
        self.for_header = False
        self.open_pipe = False  # after | or && or ||: a newline does not end the command

    def parse_list(self, terminator: str | None) -> Script:
        """Parse until end of text, or until the ``terminator`` that closes ``$(``/``<(``."""
        depth = 0  # subshell parentheses opened inside this list
        while True:
            state = self.case_stack[-1] if self.case_stack else ""
            kind, val, _ = self.sc.next_token(cmd_start=self._at_start() and state != "pattern")
            if kind == "EOF":
                break
            if state in ("header", "pattern"):
                self._case_token(kind, val, state)
                continue
            if kind == "NL" and self.open_pipe:
                continue
            self.open_pipe = val in ("|", "|&", "&&", "||")
            if kind == "WORD":
                assert isinstance(val, Word)
                self._word(val)
                continue
            if val == ")":
                if depth == 0 and terminator == ")":
                    break
                depth = max(depth - 1, 0)
                self._end_pipeline()
            elif val == "(":
                if self._function_parens():
                    continue
                depth += 1
                self._end_pipeline()
            elif val in ("|", "|&"):
                self._end_command()
            elif kind == "NL" or val in _END_CMD:
                self._end_pipeline()
                self.for_header = False
                if val in (";;", ";&", ";;&") and self.case_stack:
                    self.case_stack[-1] = "pattern"
            else:
                self._redirect(str(val))
        self._end_pipeline()
        return self.script

    # -- helpers -----------------------------------------------------------------------
    def _at_start(self) -> bool:
        c = self.cmd
        return c is None or not (c.words or c.assignments or c.redirects)

    def _current(self, line: int, col: int) -> Command:
        if self.cmd is None:
            self.cmd = Command(line, col)
        return self.cmd

    def _end_command(self) -> None:
        c = self.cmd
        if c is not None and (c.words or c.assignments or c.redirects):
            self.cmds.append(c)
        self.cmd = None

    def _end_pipeline(self) -> None:
        self._end_command()
        if self.cmds:
            self.script.pipelines.append(Pipeline(self.cmds))
        self.cmds = []

    def _word(self, word: Word) -> None:
        if self.for_header:
            if word.value == "do" and not word.quoted:
                self.for_header = False
            return
        if self._at_start() and not word.quoted:
            v = word.value
            if v in _SKIP_AT_START or (v == "esac" and self.case_stack):
                if v == "esac":
                    self.case_stack.pop()
                return
            if v == "case":
                self.case_stack.append("header")
                return
            if v in ("for", "select"):
                self.for_header = True
                name = self.sc.next_token(cmd_start=True)[1]
                if isinstance(name, Word):
                    self.script.loop_vars.add(name.value)
                return
            if v == "function":
                name = self.sc.next_token(cmd_start=False)[1]
                if isinstance(name, Word):
                    self.script.functions.add(name.value)
                return
            if v == "[[":
                self.sc.test_mode = True
        cmd = self._current(word.line, word.col)
        if not cmd.words and _ASSIGNMENT.match(word.raw):
            cmd.assignments.append(word)
        else:
            cmd.words.append(word)

    def _case_token(self, kind: str, val: Word | str, state: str) -> None:
        word = val.value if isinstance(val, Word) else ""
        if word == "esac":
            self.case_stack.pop()
        elif state == "header" and word == "in":
            self.case_stack[-1] = "pattern"
        elif state == "pattern" and val == ")":
            self.case_stack[-1] = "body"

    def _function_parens(self) -> bool:
        """``name ( )`` defines a function: drop the name, keep parsing the body."""
        c = self.cmd
        if c is None or len(c.words) != 1 or c.assignments or c.redirects:
            return False
        save = self.sc.i
        if self.sc.next_token(cmd_start=False)[1] != ")":
            self.sc.i = save
            return False
        self.script.functions.add(c.words[0].value)
        self.cmd = None
        return True

    def _redirect(self, op: str) -> None:
        kind, target, offset = self.sc.next_token(cmd_start=False)
        line, col = self.sc.pos(offset)
        cmd = self._current(line, col)
        if kind != "WORD" or not isinstance(target, Word):
            cmd.redirects.append(Redirect(op, None, line))
            return
        redirect = Redirect(op, target, line)
        cmd.redirects.append(redirect)
        if op in ("<<", "<<-"):
            literal = target.quoted
            self.sc.pending.append((redirect, target.value, op == "<<-", literal))
