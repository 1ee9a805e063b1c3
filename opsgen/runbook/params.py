"""Placeholders in runbook commands -> declared parameters, never invented values.

Runbooks leave blanks for the reader: ``<hostname>``, ``{{ service }}``, ``YOUR_TOKEN``,
``ROLE_HERE``, ``/etc/chef.{reason}``, a ``$CHUNK1`` nobody sets, ``NODE_NAME=<label from
alert>``, or prose such as "replace LATEST with the version". Each becomes a named
parameter the script refuses to run without; the command refers to it as ``${NAME}``,
quoted for the context it sits in (``'<x>'`` becomes ``'"${X}"'``), so the value is one
word whatever it contains and is never re-parsed as shell.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from opsgen.runbook.shellwords import DOUBLE, SINGLE, UNQUOTED, contexts, segments, words

__all__ = ["Parameter", "Parameters", "defined_names", "replace_words"]

_STANDARD = frozenset(
    {
        "HOME", "PATH", "USER", "LOGNAME", "SHELL", "PWD", "OLDPWD", "HOSTNAME", "HOSTTYPE",
        "OSTYPE", "MACHTYPE", "UID", "EUID", "GROUPS", "PPID", "BASHPID", "RANDOM", "SECONDS",
        "LINENO", "IFS", "TERM", "LANG", "LANGUAGE", "TZ", "TMPDIR", "EDITOR", "VISUAL",
        "PAGER", "MAIL", "DISPLAY", "SUDO_USER", "SUDO_UID", "SUDO_GID", "SUDO_COMMAND",
        "BASH", "BASH_VERSION", "BASH_SOURCE", "FUNCNAME", "PIPESTATUS", "OPTARG", "OPTIND",
        "REPLY", "COLUMNS", "LINES", "PS1", "PS2", "PS4", "SHLVL", "HISTFILE", "HOSTFILE",
        "DEBIAN_FRONTEND", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "PYTHONPATH", "JAVA_HOME",
        "KUBECONFIG", "SSH_AUTH_SOCK", "XDG_RUNTIME_DIR", "UMASK", "NF", "NR", "FS", "OFS",
    }
)  # fmt: skip
_AWK_WORDS = frozenset({"print", "printf", "next", "exit", "getline", "delete", "nextfile"})
_PATTERNS = (
    ("jinja", re.compile(r"\{\{\s*(?P<name>[A-Za-z_][\w.]*)\s*\}\}")),
    ("angle", re.compile(r"(?<![<\w])<(?P<name>[A-Za-z](?:[\w .,:/'-]{0,78}[\w.])?)>(?![>&])")),
    ("caps", re.compile(r"\b(?P<name>YOUR_[A-Z0-9_]+|[A-Z][A-Z0-9_]*_HERE)\b")),
    ("brace", re.compile(r"(?<![\w$])\{(?P<name>[A-Za-z][A-Za-z0-9_ -]{0,40})\}")),
)
_VAR = re.compile(r"\$(?:\{(?P<braced>[A-Z][A-Z0-9_]*)\}|(?P<bare>[A-Z][A-Z0-9_]*)(?![\w{]))")
_ASSIGN = re.compile(
    r"^\s*(?:export\s+)?(?P<var>[A-Za-z_]\w*)=(?P<value>'[^']*'|\"[^\"$`\\]*\"|<[^<>]+>|\S+)\s*$"
)
_REPLACE = re.compile(
    r"\breplac(?:e|ing)\s+(?:['\"`](?P<quoted>[\w.-]+)['\"`]|(?P<caps>[A-Z][A-Z0-9_]{2,}))"
    r"\s+with\b",
    re.I,
)


@dataclass(frozen=True, slots=True)
class Parameter:
    """A value the runbook leaves to the operator.

    Attributes:
        name: the shell variable (``SERVICE``); also the Ansible var, lower-cased.
        placeholder: how the runbook wrote it (``<service>``, ``$ENV``, ``{{ var }}``).
        description: words for the operator ("value of instance label from alert").
        lines: runbook lines where it is used.
    """

    name: str
    placeholder: str
    description: str
    lines: tuple[int, ...]


@dataclass
class Parameters:
    """Collects the parameters of one runbook while rewriting its commands.

    Args:
        defined: variable names the runbook's own commands set (never parameters).
    """

    defined: set[str] = field(default_factory=set)
    _found: dict[str, Parameter] = field(default_factory=dict)

    @property
    def declared(self) -> tuple[Parameter, ...]:
        """Parameters in order of first use."""
        return tuple(self._found.values())

    def used_in(self, texts: Iterable[str]) -> tuple[Parameter, ...]:
        """The declared parameters that ``texts`` refer to (unused ones are not demanded)."""
        joined = "\n".join(texts)
        return tuple(
            p for p in self._found.values() if re.search(rf"\$\{{?{p.name}(?![A-Za-z0-9_])", joined)
        )

    def rewrite(
        self, text: str, line: int, words_to_replace: Iterable[tuple[str, str]] = ()
    ) -> str:
        """``text`` with placeholders replaced by parameter references (declared on the way)."""
        ctx = contexts(text)
        spans = self._spans(text, ctx, tuple(words_to_replace))
        out: list[str] = []
        last = 0
        for start, end, name, placeholder in spans:
            param = self._declare(name, placeholder, line)
            begin, stop, ref = _reference(param.name, text, ctx, start, end)
            out.append(text[last:begin])
            out.append(ref)
            last = stop
        out.append(text[last:])
        result = "".join(out)
        self._declare_variables(result, line)
        return result

    def _spans(
        self, text: str, ctx: str, replace: tuple[tuple[str, str], ...]
    ) -> list[tuple[int, int, str, str]]:
        found: list[tuple[int, int, str, str]] = []
        patterns = [(kind, rx, "") for kind, rx in _PATTERNS]
        patterns += [("word", re.compile(rf"(?<![\w-]){re.escape(w)}(?![\w-])"), name)
                     for w, name in replace]  # fmt: skip
        for kind, rx, meaning in patterns:
            for match in rx.finditer(text):
                raw = meaning or match.groupdict().get("name") or match.group(0)
                if kind == "brace" and (raw in _AWK_WORDS or "," in raw):
                    continue
                if kind == "caps":
                    raw = raw.removeprefix("YOUR_").removesuffix("_HERE")
                found.append((match.start(), match.end(), raw, match.group(0)))
        chosen: list[tuple[int, int, str, str]] = []
        for span in sorted(found):
            start, end = span[0], span[1]
            if chosen and start < chosen[-1][1]:
                continue
            if len(set(ctx[start:end])) == 1 and ctx[start] in (UNQUOTED, SINGLE, DOUBLE):
                chosen.append(span)
        return chosen

    def assignment(self, text: str, line: int) -> tuple[str, str] | None:
        """``NODE_NAME='<label>'`` declares NODE_NAME itself: returns (variable, parameter).

        The parameter is the variable unless that is a standard name (``HOSTNAME``), which
        the environment always sets and so could never be reported missing.
        """
        match = _ASSIGN.match(text)
        if not match:
            return None
        value = match.group("value")
        if value[:1] in "'\"" and len(value) > 1:
            value = value[1:-1]
        for kind, rx in _PATTERNS:
            whole = rx.fullmatch(value)
            if whole and kind != "brace":
                var = match.group("var")
                name = _safe_name(var)
                described = whole.groupdict().get("name") or value
                self._declare(name, value, line, var_name=name, description=described)
                return var, name
        return None

    def _declare_variables(self, text: str, line: int) -> None:
        ctx = contexts(text)
        for match in _VAR.finditer(text):
            name = match.group("braced") or match.group("bare")
            if ctx[match.start()] not in (UNQUOTED, DOUBLE) or name in self.defined:
                continue
            if name in _STANDARD or name.startswith(("LC_", "BASH_", "OPSGEN_")):
                continue
            self._declare(name, match.group(0), line, var_name=name, description="")

    def _declare(
        self,
        raw: str,
        placeholder: str,
        line: int,
        *,
        var_name: str | None = None,
        description: str | None = None,
    ) -> Parameter:
        name = var_name or _safe_name(raw)
        known = self._found.get(name)
        if known is not None:
            if line not in known.lines:
                known = Parameter(known.name, known.placeholder, known.description,
                                  (*known.lines, line))  # fmt: skip
                self._found[name] = known
            return known
        words_ = " ".join(raw.replace("_", " ").split()) if description is None else description
        param = Parameter(name, placeholder, words_, (line,))
        self._found[name] = param
        return param


def _reference(name: str, text: str, ctx: str, start: int, end: int) -> tuple[int, int, str]:
    """How to write ``${NAME}`` in place of ``text[start:end]``: (start, end, replacement).

    Inside single quotes the quotes are closed around it (``'a<x>b'`` -> ``'a'"${X}"'b'``),
    and a placeholder that fills a whole quoted string takes the quotes' place.
    """
    ref = f'"${{{name}}}"'
    if ctx[start] == DOUBLE:
        return start, end, f"${{{name}}}"
    if ctx[start] != SINGLE:
        return start, end, ref
    opens = start >= 1 and text[start - 1] == "'" and (start < 2 or ctx[start - 2] != SINGLE)
    closes = (
        end < len(text) and text[end] == "'" and (end + 1 >= len(text) or ctx[end + 1] != SINGLE)
    )
    return (
        start - 1 if opens else start,
        end + 1 if closes else end,
        ("" if opens else "'") + ref + ("" if closes else "'"),
    )


def _safe_name(raw: str) -> str:
    """An upper-case shell name for a placeholder; standard variables get a ``PARAM_`` prefix."""
    name = re.sub(r"[^A-Za-z0-9]+", "_", raw).strip("_").upper()[:40].rstrip("_") or "PARAM"
    if name[0].isdigit() or name in _STANDARD or name.startswith(("OPSGEN", "BASH", "LC_")):
        name = f"PARAM_{name}"
    return name


def defined_names(commands: Iterable[str]) -> set[str]:
    """Variables the runbook's own commands set: assignments, ``for x in``, ``read x``."""
    names: set[str] = set()
    for command in commands:
        for piece in segments(command):
            argv = words(piece)
            while argv and argv[0] in ("do", "then", "else", "while", "until", "if", "!"):
                argv = argv[1:]
            if not argv:
                continue
            head = argv[0]
            if head in ("for", "select") and len(argv) > 1:
                names.add(argv[1])
            elif head in ("read", "export", "local", "readonly", "declare", "typeset"):
                names.update(a.split("=", 1)[0] for a in argv[1:] if not a.startswith("-"))
            else:
                for arg in argv:
                    if not re.match(r"^[A-Za-z_]\w*=", arg):
                        break
                    names.add(arg.split("=", 1)[0])
    return names


def replace_words(prose: str) -> tuple[tuple[str, str], ...]:
    """(word, name) pairs the prose tells the reader to replace.

    "replace LATEST with the version" -> ``("LATEST", "version")``; "replace `8080` with
    the port from the alert" -> ``("8080", "port")``: the name comes from what the word
    stands for, so the parameter reads ``PORT=...``, not ``8080=...``.
    """
    found: list[tuple[str, str]] = []
    for match in _REPLACE.finditer(prose):
        word = match.group("quoted") or match.group("caps")
        if word and word not in (w for w, _ in found):
            found.append((word, _meaning(prose[match.end() :]) or word))
    return tuple(found)


def _meaning(after: str) -> str:
    """The noun after "with": skips fillers, stops at the first linking word."""
    picked: list[str] = []
    for token in re.findall(r"[A-Za-z][\w-]*", after[:80]):
        low = token.lower()
        if low in _FILLERS and not picked:
            continue
        if low in _STOPS or len(picked) == 2:
            break
        picked.append(low)
    return "_".join(picked)


_FILLERS = frozenset({"the", "a", "an", "your", "whatever", "whichever", "appropriate",
                      "correct", "actual", "right", "real", "new", "its", "their"})  # fmt: skip
_STOPS = frozenset({"from", "of", "in", "on", "for", "that", "which", "the", "say", "eg",
                    "e", "and", "or", "to", "is", "as", "you", "it"})  # fmt: skip
