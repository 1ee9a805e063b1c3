"""Turn a model's answer into exactly one script, and correct its known habits in the open.

Small code models wrap the script in a fence (or not), add prose, write ``sudo`` although
the script runs as root, and forget ``-y`` on apt. We fix those few habits deterministically
and *record every fix* (``Extracted.fixes``), so the review can say what the model wrote and
what opsgen changed. Everything else is left to the linters and the repair loop.

:func:`extract_scenario` does the same for the scenario the model writes from the request
(:mod:`opsgen.scenario`): a small model's YAML is often half right, so each check is
validated on its own and a bad one is dropped with a note, never taking the good ones down
with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from opsgen.errors import InputError, UnparseableOutput
from opsgen.scenario import MAX_CHECKS, MAX_PREPARE_BYTES, Scenario, parse_scenario
from opsgen.yamlsafe import safe_load

__all__ = ["Extracted", "ExtractedScenario", "extract_scenario", "extract_script"]

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


@dataclass(frozen=True, slots=True)
class ExtractedScenario:
    """The scenario taken from a model answer, and what was dropped from it on the way.

    Attributes:
        scenario: checks tagged ``model``; empty when nothing usable came back.
        notes: one line per thing dropped or repaired, for the review.
    """

    scenario: Scenario
    notes: tuple[str, ...] = ()


_SCENARIO_KEYS = ("prepare", "checks")
_BLOCK_SCALAR = re.compile(r"^prepare:\s*[|>][-+]?\s*$")
_KEY_LINE = re.compile(r"^(?P<key>prepare|checks):\s*(?P<value>.*)$")
_ITEM = re.compile(r"^\s*-\s+(?:(?P<key>name|run):\s*)?(?P<value>.*)$")
_FIELD = re.compile(r"^\s+(?P<key>name|run):\s*(?P<value>.*)$")


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1].replace("''", "'")
    if len(value) >= 2 and value[0] == value[-1] == '"' and "\\" not in value:
        return value[1:-1]
    return value


def _lenient(text: str) -> dict[str, Any] | None:
    """Read the scenario's simple shape line by line, for YAML a parser refuses.

    Small models write ``run: grep -q 'a: b' f`` unquoted, which YAML reads as a nested
    mapping and rejects; the shape we asked for is simple enough to read without a parser:
    a ``prepare`` block and a list of ``name``/``run`` items, each value up to its line end.
    """
    data: dict[str, Any] = {}
    checks: list[Any] = []
    lines = text.splitlines()
    index, mode = 0, ""
    while index < len(lines):
        line = lines[index]
        index += 1
        key = _KEY_LINE.match(line)
        if key and key.group("key") == "prepare":
            mode = "prepare"
            if _BLOCK_SCALAR.match(line):
                block = []
                while index < len(lines) and (not lines[index].strip() or lines[index][0] in " \t"):
                    block.append(lines[index])
                    index += 1
                indent = min((len(b) - len(b.lstrip()) for b in block if b.strip()), default=0)
                data["prepare"] = "\n".join(b[indent:] for b in block).strip("\n") + "\n"
            else:
                data["prepare"] = _unquote(key.group("value"))
            continue
        if key and key.group("key") == "checks":
            mode, data["checks"] = "checks", checks
            continue
        if mode != "checks":
            continue
        item, field_ = _ITEM.match(line), _FIELD.match(line)
        if item:
            value = _unquote(item.group("value"))
            checks.append({item.group("key"): value} if item.group("key") else value)
        elif field_ and checks and isinstance(checks[-1], dict):
            checks[-1][field_.group("key")] = _unquote(field_.group("value"))
    return data or None


def _scenario_text(text: str) -> str:
    """The YAML block of the answer: tagged yaml first, then any block, then the answer."""
    blocks = [(m.group("tag").lower(), m.group("body")) for m in _BLOCK.finditer(text)]
    for tag, body in blocks:
        if tag in _TAGS["ansible"] and body.strip():
            return body
    return blocks[0][1] if blocks else text


def _one_check(item: Any, index: int) -> tuple[Any, str | None]:
    """Validate one check with the operator's own rules (:func:`parse_scenario`)."""
    try:
        parsed = parse_scenario(yaml.safe_dump({"checks": [item]}, allow_unicode=True), "model")
    except InputError as exc:
        reason = exc.message.replace("scenario check 1", "").strip(" :")
        return None, f"dropped the model's check {index}: {reason}"
    return parsed.checks[0], None


def _nothing(notes: list[str], why: str) -> ExtractedScenario:
    return ExtractedScenario(Scenario(), (*notes, f"no usable scenario: {why}"))


def extract_scenario(text: str) -> ExtractedScenario:
    """Take the scenario out of a model answer: its YAML block, parsed with
    :func:`~opsgen.scenario.parse_scenario`'s rules, the model's source on every check.

    Never raises: an answer with no usable scenario gives an empty :class:`Scenario` and a
    note saying why, and the change is then checked without the model's checks (the review
    says so). Invalid checks are dropped one by one; extra keys are ignored.
    """
    notes: list[str] = []
    body = _scenario_text(text)
    try:
        data = safe_load(body)
    except (yaml.YAMLError, ValueError, RecursionError):  # any YAML fault: read by lines
        data = _lenient(body)
        notes.append("the model's scenario was not valid YAML; it was read line by line")
    if not isinstance(data, dict):
        return _nothing(notes, "the answer holds no mapping with 'prepare' and 'checks'")
    extra = sorted(str(k) for k in data if k not in _SCENARIO_KEYS)
    if extra:
        notes.append(f"ignored key(s) {', '.join(extra)} in the model's scenario")
    prepare = data.get("prepare") or ""
    if not isinstance(prepare, str) or len(prepare.encode()) > MAX_PREPARE_BYTES:
        return _nothing(notes, "'prepare' is not a script of at most 64 KB")
    items = data.get("checks") or []
    if not isinstance(items, list):
        return _nothing(notes, "'checks' is not a list")
    checks = []
    for index, item in enumerate(items, 1):
        check, note = _one_check(item, index)
        if note is not None:
            notes.append(note)
        else:
            checks.append(check)
    if len(checks) > MAX_CHECKS:
        notes.append(f"kept the first {MAX_CHECKS} of the model's {len(checks)} checks")
        checks = checks[:MAX_CHECKS]
    if not checks:
        return _nothing(notes, "no valid check")
    return ExtractedScenario(Scenario(prepare, tuple(checks), ("model",)), tuple(notes))
