"""Every call in a script, nested code included, computed once and shared by all rules."""

from __future__ import annotations

from collections.abc import Iterator

from opsgen.validators.shell.calls import SHELLS, Call, effective
from opsgen.validators.shell.model import Command, Pipeline, Script, Word
from opsgen.validators.shell.parser import parse
from opsgen.validators.shell.sources import is_source

__all__ = ["ShellIndex"]

_EXEC_ACTIONS = frozenset({"-exec", "-execdir", "-ok", "-okdir"})
#: commands whose here-document or here-string is itself a script (run by a shell)
_STDIN_RUNNERS = SHELLS | {"ssh", "su", "sudo"}


class ShellIndex:
    """All :class:`Call` objects of a script, with their pipelines and nested scripts.

    Nested scripts are command substitutions, process substitutions, ``bash -c`` strings,
    here-documents fed to a shell and ``find -exec`` bodies. Parsing them once here keeps
    the rules simple and the lint fast.
    """

    def __init__(self, root: Script, source: str = "", line_base: int = 1):
        self.root = root
        self.source = source  # the text that was parsed, for the few text-level checks
        self.line_base = line_base
        self._own: dict[int, list[list[Call]]] = {}
        self._remote: dict[int, bool] = {}
        self.aliases = _literal_assignments(root)  # c=curl; $c ... resolves to curl
        self.scripts: list[Script] = []
        self._collect(root)
        self.calls: list[Call] = [c for s in self.scripts for g in self.groups(s) for c in g]

    def _collect(self, script: Script) -> None:
        self.scripts.append(script)
        for group in self.groups(script):
            for call in group:
                for child in call.children:
                    self._collect(child)

    def groups(self, script: Script) -> list[list[Call]]:
        """The pipelines of ``script`` itself (not of nested scripts), as lists of calls."""
        key = id(script)
        if key not in self._own:
            self._own[key] = [self._pipeline(p) for p in script.pipelines]
        return self._own[key]

    def pipelines(self) -> Iterator[list[Call]]:
        """Every pipeline of the script and of all nested scripts."""
        for script in self.scripts:
            yield from self.groups(script)

    def walk(self, script: Script) -> Iterator[Call]:
        """Every call inside ``script``, its nested scripts included."""
        for group in self.groups(script):
            for call in group:
                yield call
                for child in call.children:
                    yield from self.walk(child)

    def is_remote(self, script: Script) -> bool:
        """True when ``script`` fetches or decodes data: its output is unreviewed code."""
        key = id(script)
        if key not in self._remote:
            self._remote[key] = any(is_source(c) for c in self.walk(script))
        return self._remote[key]

    def remote_word(self, word: Word) -> bool:
        """True when a substitution inside ``word`` produces fetched or decoded data."""
        return any(self.is_remote(s) for s in word.subs)

    @property
    def loop_vars(self) -> set[str]:
        """Names of all for-loop variables (never empty inside their loop)."""
        return {v for s in self.scripts for v in s.loop_vars}

    # -- building ----------------------------------------------------------------------
    def _pipeline(self, pipeline: Pipeline) -> list[Call]:
        group: list[Call] = []
        for cmd in pipeline.commands:
            call = _make_call(cmd, self.aliases)
            call.pipeline = group
            group.append(call)
        return group


def _literal_assignments(root: Script) -> dict[str, str]:
    """``NAME=value`` with a literal value, anywhere in the script (first one wins)."""
    out: dict[str, str] = {}
    stack = [root]
    while stack:
        for pipeline in stack.pop().pipelines:
            for cmd in pipeline.commands:
                for w in cmd.all_words():
                    stack.extend(w.subs)
                for w in cmd.assignments:
                    name, _, value = w.value.partition("=")
                    if value and "$" not in value and "`" not in value:
                        out.setdefault(name, value)
    return out


def _make_call(cmd: Command, aliases: dict[str, str]) -> Call:
    name, name_word, args, wrappers = effective(cmd.words, aliases)
    call = Call(cmd, name, args, name_word, wrappers)
    for word in cmd.all_words():
        call.children.extend(word.subs)
    for r in cmd.redirects:
        call.children.extend(r.heredoc_subs)
    code = call.inline_code()
    if code is not None and name in _STDIN_RUNNERS:  # python -c code is not shell code
        call.children.append(parse(code.value, code.line, code.col + int(code.quoted), 1))
    if name in _STDIN_RUNNERS and code is None:
        for r in cmd.redirects:
            if r.heredoc is not None:
                call.children.append(parse(r.heredoc, r.heredoc_line, 1, 1))
            elif r.op == "<<<" and r.target is not None:
                t = r.target
                call.children.append(parse(t.value, t.line, t.col + int(t.quoted), 1))
    if name == "find":
        call.children.extend(_find_exec_bodies(cmd, args))
    return call


def _find_exec_bodies(cmd: Command, args: list[Word]) -> Iterator[Script]:
    """``find -exec CMD ARGS {} ;`` runs CMD: give it to the rules as a nested script."""
    i = 0
    while i < len(args):
        if args[i].value in _EXEC_ACTIONS:
            j = i + 1
            while j < len(args) and args[j].value not in (";", "+"):
                j += 1
            body = args[i + 1 : j]
            if body:
                yield Script([Pipeline([Command(body[0].line, body[0].col, list(body))])])
            i = j
        i += 1
