"""Turn a model's answer into exactly one script, and correct its known habits in the open.

Small code models wrap the script in a fence (or not), add prose, write ``sudo`` although
the script runs as root, and forget ``-y`` on apt. We fix those few habits deterministically
and *record every fix* (``Extracted.fixes``), so the review can say what the model wrote and
what opsgen changed. Everything else is left to the linters and the repair loop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from opsgen.errors import UnparseableOutput

__all__ = ["Extracted", "extract_script"]

_BLOCK = re.compile(
    r"^[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*(?P<tag>[\w+-]*)[^\n]*\n"
    r"(?P<body>.*?)(?:^[ \t]*(?P=fence)[ \t]*$|\Z)",
    re.M | re.S,
)
_TAGS = {
    "bash": ("bash", "sh", "shell", "zsh", "console", "shellscript"),
    "ansible": ("yaml", "yml", "ansible"),
}
_SHEBANG = "#!/usr/bin/env bash"
_SUDO = re.compile(
    r"(^[ \t]*|[;&|(][ \t]*|\bthen\s+|\bdo\s+|\belse\s+)sudo(?:\s+-[A-Za-z]+)*\s+", re.M
)
# One apt command up to the end of its line or the next shell operator.
_APT = re.compile(r"\b(?P<tool>apt-get|apt)(?P<args>[ \t][^\n;&|]*)")
_APT_VERBS = re.compile(r"\s(install|remove|purge|upgrade|dist-upgrade|full-upgrade|autoremove)\b")
_APT_YES = re.compile(r"(?:^|\s)(?:--yes|--assume-yes|-[a-zA-Z]*y[a-zA-Z]*)(?=\s|$)")
_STRICT = re.compile(r"^\s*set\s+-[a-z]*e[a-z]*\b.*$", re.M)


@dataclass(frozen=True, slots=True)
class Extracted:
    """One script taken from a model answer.

    Attributes:
        script: the normalised script, ending in exactly one newline.
        fixes: human-readable descriptions of each deterministic correction made.
        fenced: whether the script came from a fenced block (False: the whole answer).
    """

    script: str
    fixes: tuple[str, ...]
    fenced: bool


def _pick_block(text: str, lang: str) -> tuple[str, bool]:
    blocks = [(m.group("tag").lower(), m.group("body")) for m in _BLOCK.finditer(text)]
    blocks = [(tag, body) for tag, body in blocks if body.strip()]
    if not blocks:
        return text, False
    for tag, body in blocks:
        if tag in _TAGS[lang]:
            return body, True
    return blocks[0][1], True


def _normalise_bash(body: str) -> tuple[str, list[str]]:
    fixes: list[str] = []
    lines = body.strip("\n").splitlines()
    if lines and lines[0].startswith("#!"):
        if lines[0].strip() != _SHEBANG:
            fixes.append(f"replaced shebang {lines[0].strip()!r} with {_SHEBANG!r}")
        lines = lines[1:]
    else:
        fixes.append(f"added shebang {_SHEBANG!r}")
    text = "\n".join(lines)
    text, n = _SUDO.subn(lambda m: m.group(1), text)
    if n:
        fixes.append(f"removed sudo ({n}x): the script runs as root")
    fixed = _APT.sub(_apt_yes, text)
    n = fixed.count(" -y") - text.count(" -y")
    text = fixed
    if n:
        fixes.append(f"added -y to apt ({n}x): there is no terminal to answer prompts")
    header = [_SHEBANG]
    if not _STRICT.search(text):
        header.append("set -euo pipefail")
        fixes.append("added 'set -euo pipefail'")
    if re.search(r"\bapt(-get)?\s", text) and "DEBIAN_FRONTEND" not in text:
        header.append("export DEBIAN_FRONTEND=noninteractive")
        fixes.append("exported DEBIAN_FRONTEND=noninteractive for apt")
    return "\n".join([*header, text.lstrip("\n")]), fixes


def _apt_yes(match: re.Match[str]) -> str:
    args = match.group("args")
    verb = _APT_VERBS.search(args)
    if verb is None or _APT_YES.search(args):
        return match.group(0)
    return f"{match.group('tool')}{args[: verb.end()]} -y{args[verb.end() :]}"


def _normalise_ansible(body: str) -> tuple[str, list[str]]:
    text = body.strip("\n")
    fixes = []
    if not text.lstrip().startswith("---"):
        text = "---\n" + text
        fixes.append("added the YAML document start '---'")
    return text, fixes


def extract_script(text: str, lang: str) -> Extracted:
    """Take the one script out of a model answer and normalise it for ``lang``.

    Prefers the first fenced block tagged for the language, then the first fenced block,
    then the whole answer; an unclosed block (token budget hit) counts up to the end.

    Raises:
        UnparseableOutput: nothing but whitespace or fences came back.
    """
    if lang not in _TAGS:
        raise ValueError(f"unknown language {lang!r}")
    body, fenced = _pick_block(text, lang)
    if not fenced and _BLOCK.search(text):
        body = ""  # it fenced only empty blocks: what is left is prose, not a script
    if not body.strip() or body.strip() in ("#!/bin/bash", _SHEBANG):
        raise UnparseableOutput(
            "the model returned no script",
            hint="rephrase the request, or try --model qwen2.5-coder-1.5b",
        )
    script, fixes = _normalise_bash(body) if lang == "bash" else _normalise_ansible(body)
    return Extracted(script=script.rstrip() + "\n", fixes=tuple(fixes), fenced=fenced)
