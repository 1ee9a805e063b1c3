"""Character-level scanning of bash: words, quotes, expansions and operators.

The parser (:mod:`.parser`) drives this scanner; both share one object so that ``$(...)``
and ``<(...)`` are parsed in place and keep exact positions. It never raises on bad input:
an unterminated quote simply runs to the end of the text (``bash -n`` reports the error).
"""

from __future__ import annotations

import bisect
import re

from opsgen.validators.shell.model import Redirect, Script, Word

__all__ = ["Scanner", "Token"]

Token = tuple[str, "Word | str", int]  # kind ("WORD" | "OP" | "NL" | "EOF"), value, offset

_PLAIN = re.compile(r"[^\s|&;()<>\\'\"$`*?\[]+")
_OPERATORS = (
    ";;&", "&>>", "<<<", "<<-",
    ";;", ";&", "||", "|&", "&&", "&>", "<<", "<&", "<>", ">>", ">&", ">|",
    "|", "&", ";", "(", ")", "<", ">",
)
_OPERATOR = re.compile("|".join(re.escape(op) for op in _OPERATORS))  # longest first
_FD_REDIRECT = re.compile(r"\d+(?=[<>])")
_ASSIGN_PREFIX = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=$")
_SIMPLE_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-])")
_ANSI_C = re.compile(
    r"\\(x[0-9A-Fa-f]{1,2}|u[0-9A-Fa-f]{1,4}|U[0-9A-Fa-f]{1,8}|[0-7]{1,3}|c.|.)", re.S
)
_ANSI_SIMPLE = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b",
                "f": "\f", "v": "\v"}
_MAX_DEPTH = 40  # nested substitutions; deeper text is skipped, never recursed into


def _ansi_c(body: str) -> str:
    r"""Decode ``$'...'`` escapes, so ``$'\x63url'`` reads as ``curl`` (an obfuscation trick)."""

    def sub(m: re.Match[str]) -> str:
        esc = m.group(1)
        if esc[0] in "xuU":
            return chr(min(int(esc[1:], 16), 0x10FFFF))
        if esc[0].isdigit():
            return chr(int(esc, 8))
        if esc[0] == "c":
            return chr(ord(esc[1]) & 0x1F)
        return _ANSI_SIMPLE.get(esc, esc)

    return _ANSI_C.sub(sub, body)


class Scanner:
    """Turns shell text into tokens; positions are reported in the enclosing file's terms.

    Args:
        text: the shell code.
        line_base: the file line on which ``text`` starts.
        col_base: the file column of the first character of ``text``.
        depth: nesting depth of this text (a backtick body parsed on its own).
        indent: columns to add on every line after the first (a YAML block scalar).
    """

    def __init__(
        self, text: str, line_base: int = 1, col_base: int = 1, depth: int = 0, indent: int = 0
    ):
        self.text = text
        self.i = 0
        self.n = len(text)
        self.line_base = line_base
        self.col_base = col_base
        self.depth = depth
        self.indent = indent
        self.test_mode = False  # inside [[ ... ]]: && || < > ( ) are plain words
        self.pending: list[tuple[Redirect, str, bool, bool]] = []
        self._starts = [0] + [m.end() for m in re.finditer("\n", text)]

    # -- positions ---------------------------------------------------------------------
    def pos(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of ``offset`` in the enclosing file."""
        idx = bisect.bisect_right(self._starts, offset) - 1
        col = offset - self._starts[idx] + 1
        return self.line_base + idx, col + (self.col_base - 1 if idx == 0 else self.indent)

    # -- tokens ------------------------------------------------------------------------
    def next_token(self, cmd_start: bool) -> Token:
        """The next token; ``cmd_start`` enables ``((`` arithmetic commands."""
        text, n = self.text, self.n
        while self.i < n:
            c = text[self.i]
            if c in " \t\r":
                self.i += 1
            elif c == "\\" and text.startswith("\n", self.i + 1):
                self.i += 2
            elif c == "#":
                end = text.find("\n", self.i)
                self.i = n if end < 0 else end
            elif c == "\n" and self.test_mode:
                self.i += 1
            else:
                break
        start = self.i
        if start >= n:
            return ("EOF", "", start)
        c = text[start]
        if c == "\n":
            self.i += 1
            self.read_heredocs()
            return ("NL", "\n", start)
        if cmd_start and text.startswith("((", start):
            return ("WORD", self._arith_command(start), start)
        if c in "<>" and text.startswith("(", start + 1):
            return ("WORD", self._procsub(start), start)
        if self.test_mode and c in "&|()<>!":
            for word in ("&&", "||", "(", ")", "<", ">", "!"):
                if text.startswith(word, start):
                    self.i += len(word)
                    line, col = self.pos(start)
                    return ("WORD", Word(word, word, line, col), start)
        fd = _FD_REDIRECT.match(text, start) if c.isdigit() else None
        op = _OPERATOR.match(text, fd.end() if fd else start)
        if op:
            self.i = op.end()
            return ("OP", text[start : self.i], start)
        return ("WORD", self.word(), start)

    # -- words -------------------------------------------------------------------------
    def word(self) -> Word:
        """Scan one word starting at the current offset."""
        text, n = self.text, self.n
        start = self.i
        value: list[str] = []
        subs: list[Script] = []
        globbed = quoted = False
        while self.i < n:
            c = text[self.i]
            m = _PLAIN.match(text, self.i)
            if m:
                value.append(m.group())
                self.i = m.end()
                continue
            if c in " \t\r\n|&;<>)":
                break
            if c == "(":
                if _ASSIGN_PREFIX.fullmatch(text[start : self.i]):  # arr=(a b c)
                    value.append(self._balanced(self.i))
                    continue
                break
            if c == "\\":
                nxt = text[self.i + 1 : self.i + 2]
                if nxt != "\n":
                    value.append(nxt)
                    quoted = True
                self.i += 2
            elif c == "'":
                end = text.find("'", self.i + 1)
                end = n if end < 0 else end
                value.append(text[self.i + 1 : end])
                self.i = end + 1
                quoted = True
            elif c == '"':
                self.i += 1
                value.append(self._dquoted(subs, terminator='"'))
                quoted = True
            elif c == "$":
                if text.startswith("$'", self.i):
                    end = self._ansi_end(self.i + 2)
                    value.append(_ansi_c(text[self.i + 2 : end]))
                    self.i = end + 1
                    quoted = True
                elif text.startswith('$"', self.i):
                    self.i += 2
                    value.append(self._dquoted(subs, terminator='"'))
                    quoted = True
                else:
                    value.append(self._dollar(subs))
            elif c == "`":
                value.append(self._backtick(subs))
            else:  # * ? [
                globbed = True
                value.append(c)
                self.i += 1
        line, col = self.pos(start)
        raw = text[start : self.i]
        word = Word(raw, "".join(value), line, col, subs, globbed, quoted)
        if self.test_mode and raw == "]]":
            self.test_mode = False
        return word

    def _ansi_end(self, i: int) -> int:
        text = self.text
        while i < self.n and text[i] != "'":
            i += 2 if text[i] == "\\" else 1
        return min(i, self.n)

    def _dquoted(self, subs: list[Script], terminator: str | None) -> str:
        """Scan double-quoted text (or an unquoted here-document body if no terminator)."""
        text, n = self.text, self.n
        out: list[str] = []
        while self.i < n:
            c = text[self.i]
            if terminator is not None and c == terminator:
                self.i += 1
                return "".join(out)
            if c == "\\":
                nxt = text[self.i + 1 : self.i + 2]
                if nxt in ('$', "`", '"', "\\"):
                    out.append(nxt)
                elif nxt != "\n":
                    out.append(c + nxt)
                self.i += 2
            elif c == "$":
                out.append(self._dollar(subs))
            elif c == "`":
                out.append(self._backtick(subs))
            else:
                out.append(c)
                self.i += 1
        return "".join(out)

    def _dollar(self, subs: list[Script]) -> str:
        """Scan one ``$`` expansion; command substitutions are parsed into ``subs``."""
        text, start = self.text, self.i
        if text.startswith("$((", start):
            return self._balanced(start + 1, prefix="$")
        if text.startswith("$(", start):
            self.i += 2
            subs.append(self.parse_nested(")"))
            return text[start : self.i]
        if text.startswith("${", start):
            self.i += 2
            depth = 1
            while self.i < self.n and depth:
                c = text[self.i]
                if c == "\\":
                    self.i += 2
                    continue
                if c == "$" and text.startswith("$(", self.i):
                    self._dollar(subs)
                    continue
                if c == "'":  # quotes inside ${x:-'a}b'} hide braces
                    end = text.find("'", self.i + 1)
                    self.i = self.n if end < 0 else end + 1
                    continue
                depth += {"{": 1, "}": -1}.get(c, 0)
                self.i += 1
            return text[start : self.i]
        m = _SIMPLE_PARAM.match(text, start)
        self.i = m.end() if m else start + 1
        return text[start : self.i]

    def _backtick(self, subs: list[Script]) -> str:
        text, start = self.text, self.i
        i = start + 1
        body: list[str] = []
        while i < self.n and text[i] != "`":
            if text[i] == "\\" and text[i + 1 : i + 2] in ("`", "\\", "$"):
                body.append(text[i + 1])
                i += 2
            else:
                body.append(text[i])
                i += 1
        self.i = min(i + 1, self.n)
        if self.depth < _MAX_DEPTH:
            from opsgen.validators.shell.parser import parse  # the parser imports us

            line, col = self.pos(start + 1)
            subs.append(parse("".join(body), line, col, depth=self.depth + 1))
        return text[start : self.i]

    def _procsub(self, start: int) -> Word:
        self.i = start + 2
        sub = self.parse_nested(")")
        line, col = self.pos(start)
        raw = self.text[start : self.i]
        return Word(raw, raw, line, col, [sub], procsub=True)

    def _arith_command(self, start: int) -> Word:
        raw = self._balanced(start)
        line, col = self.pos(start)
        return Word(raw, raw, line, col)

    def _balanced(self, start: int, prefix: str = "") -> str:
        """Skip a parenthesised group (arithmetic, array literal) without parsing it."""
        text, depth, i = self.text, 0, start
        while i < self.n:
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
            if depth == 0:
                break
        self.i = i
        return prefix + text[start:i]

    def parse_nested(self, terminator: str) -> Script:
        """Parse ``$(...)``/``<(...)`` in place; past the depth limit, skip it unparsed."""
        if self.depth >= _MAX_DEPTH:
            self._balanced(self.i - 1)
            return Script()
        from opsgen.validators.shell.parser import Parser  # the parser imports us

        self.depth += 1
        try:
            return Parser(self).parse_list(terminator)
        finally:
            self.depth -= 1

    # -- here-documents ----------------------------------------------------------------
    def read_heredocs(self) -> None:
        """Consume the bodies of here-documents opened on the line that just ended."""
        pending, self.pending = self.pending, []
        for redirect, delim, strip_tabs, literal in pending:
            body_start = self.i
            lines: list[str] = []
            while self.i < self.n:
                end = self.text.find("\n", self.i)
                end = self.n if end < 0 else end
                line = self.text[self.i : end]
                self.i = min(end + 1, self.n)
                if (line.lstrip("\t") if strip_tabs else line) == delim:
                    break
                lines.append(line)
            redirect.heredoc = "\n".join(lines)
            redirect.heredoc_line = self.pos(body_start)[0]
            if not literal and self.depth < _MAX_DEPTH:
                inner = Scanner(redirect.heredoc, redirect.heredoc_line, 1, self.depth + 1)
                inner._dquoted(redirect.heredoc_subs, terminator=None)
