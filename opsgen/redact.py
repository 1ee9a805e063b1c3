"""Making untrusted text inert without rich: secrets redacted, controls escaped, quoting.

Everything that comes out of the model or the sandbox is untrusted (security.md §1), and a
secret in it must not reach a terminal, an HTML page, JSON output, the stored evidence, an
export or the audit log. :func:`redact` is the one redaction function for all of them:

* a private key is redacted as a whole block, from its ``BEGIN`` line to its ``END`` line.
  When the ``END`` line is missing (output cut at its cap), every key-like line after the
  ``BEGIN`` line is redacted, which for cut output is everything to the end; the first
  line that cannot be key material (a command) stops it, so a bare ``BEGIN`` marker in a
  script cannot hide the code after it from the reviewer. The callers redact a whole text
  *before* splitting it into lines: a view that redacts line by line cannot see that a
  body line belongs to a key;
* token and credential patterns (:data:`PATTERNS`) that detect-secrets does not know, or
  knows only with quotes around the value: AWS secret keys, fine-grained GitHub tokens,
  ``mysql -pSECRET``, ``curl -u user:pw``, ``sshpass -p``, bearer headers, generic
  ``password=``/``secret=``/``token=`` assignments. The lint flags the same matches
  (:func:`find_secrets`, used by :mod:`opsgen.secretscan`), so what is hidden from
  the reviewer is also an error the reviewer sees;
* with ``scan=True``, also every secret detect-secrets itself finds (JWTs, Slack webhooks,
  Stripe keys, high-entropy strings...). That costs importing detect-secrets, so it is used
  for whole texts (scripts, run output, diffs, JSON), not for every short label.

Redaction never adds or removes a line break, so line numbers (and findings attached to
them) stay right. Values that are references, not secrets (``$VAR``, ``$(cmd)``,
`` `cmd` ``, ``{{ jinja }}``), are left alone, so the reviewer still sees where a secret is
read at run time.

What is *not* redacted: the approved script's bytes in the store and in an export. They are
hash-bound (the approval signs their sha256), so rewriting them would break the approval
and export something nobody reviewed; the secret rules make such a script fail review
instead. Every *view* of the script is redacted.

This module imports nothing heavy (no rich, no detect-secrets until ``scan=True``), so the
sandbox and the store can use it.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

__all__ = [
    "PATTERNS",
    "REDACTED",
    "SecretMatch",
    "SecretPattern",
    "escape_controls",
    "find_secrets",
    "quote",
    "redact",
    "redact_tree",
    "sanitize",
]

REDACTED = "***REDACTED***"

# -- private keys ---------------------------------------------------------------------------

_PEM_BEGIN = re.compile(
    r"-{4,5} ?BEGIN (?P<label>[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?) ?-{4,5}"
    r"|PuTTY-User-Key-File-\d+: *\S+"
)
_PEM_END = re.compile(r"-{4,5} ?END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)? ?-{4,5}|Private-MAC: *\S+")
# what may stay at the start of a body line: indentation, a diff marker, a quote
_LINE_LEAD = re.compile(r"[ \t+\-<>|\"']*")


_KEY_MATERIAL = re.compile(r"[A-Za-z0-9+/]{16,}")
_KEY_LINE = re.compile(r"(?:[A-Za-z0-9+/=]|\\[nr])*")
_KEY_HEADER = re.compile(  # PEM (RFC 1421), OpenPGP armour and PuTTY header lines
    r"(?:Proc-Type|DEK-Info|Comment|Version|Hash|Charset|Encryption|Public-Lines"
    r"|Private-Lines): "
)


def _key_like(segment: str) -> bool:
    """Whether a line can be part of a key body (base64, a header, blank)."""
    lead = _LINE_LEAD.match(segment)
    core = segment[lead.end() if lead else 0:].rstrip(" \t\"',\\")
    if not core or _KEY_HEADER.match(core):
        return True
    # a short bare word ("reboot") is a command, not key material: a key line is long or
    # is the padded last line
    return bool(_KEY_LINE.fullmatch(core)) and (len(core) >= 16 or core.endswith("="))


def _unterminated(text: str, start: int) -> tuple[int, int]:
    """The body of a key with no END line: the rest of its BEGIN line if that holds key
    material, then every following line that looks like key material. So output cut at
    its cap is hidden to the end, and a script that only names a BEGIN line (``grep -q --
    "-----BEGIN RSA PRIVATE KEY-----" f``) keeps its code visible."""
    eol = text.find("\n", start)
    if eol < 0:
        return start, len(text)
    if not _KEY_MATERIAL.search(text, start, eol):
        start = eol
    pos = eol
    while pos < len(text):
        nxt = text.find("\n", pos + 1)
        line_end = len(text) if nxt < 0 else nxt
        if not _key_like(text[pos + 1:line_end]):
            break
        pos = line_end
    return start, pos


def _key_blocks(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each private key's body: after its BEGIN marker, before its END
    marker or, without one, to the end of the key-like lines that follow. A "body" with
    no key material in it (two ``grep``s for the markers) is no key."""
    pos = 0
    while (begin := _PEM_BEGIN.search(text, pos)) is not None:
        end = _PEM_END.search(text, begin.end())
        after = _PEM_BEGIN.search(text, begin.end())
        if end is not None and after is not None and after.start() < end.start():
            end = None  # that END belongs to the next key
        if end is None:
            start, stop = _unterminated(text, begin.end())
            pos = max(stop, begin.end())
        else:  # PuTTY: the key type is public, every line up to the MAC is not
            start = begin.end()
            stop = end.end() if begin.group(0).startswith("PuTTY") else end.start()
            pos = end.end()
        if _KEY_MATERIAL.search(text, start, stop):
            yield start, stop


def _redact_block(body: str) -> str:
    """Each line of a key body becomes ``***REDACTED***``; the line breaks stay."""
    out = []
    for segment in body.split("\n"):
        lead = _LINE_LEAD.match(segment)
        keep = lead.group(0) if lead else ""
        rest = segment[len(keep):]
        out.append(keep + REDACTED if rest.strip() and rest != REDACTED else segment)
    return "\n".join(out)


# -- one-line patterns ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SecretPattern:
    """A regex for one kind of secret.

    The secret is the named group ``v`` (or ``q``/``w`` for its quoted forms), or the whole
    match when the regex has none; the text around it (a key name, ``mysql -p``) is kept so
    the reviewer still sees what was there.

    Attributes:
        kind: what the lint calls it; :mod:`opsgen.validators.rules.secrets` maps the kind
            to a rule code (``Command-line Password`` is OPS304, unknown kinds OPS302).
        regex: the pattern.
        lint: also a lint finding (False for patterns that only make a view safer).
    """

    kind: str
    regex: re.Pattern[str]
    lint: bool = True


@dataclass(frozen=True, slots=True)
class SecretMatch:
    """One secret found by :func:`find_secrets`: its kind and where it is in the text."""

    kind: str
    start: int
    end: int
    value: str
    lint: bool


_KEYWORD = (
    r"(?:password|passwd|passphrase|secret|token|api[_-]?key|apikey|access[_-]?key"
    r"|private[_-]?key|auth[_-]?key)(?:[_-]?(?:access[_-]?)?key)?(?:[_-]?(?:id|base))?"
)
# A value: double-quoted, single-quoted, or bare up to a shell separator.
_VALUE = r"""(?:"(?P<q>[^"\s][^"\n]*)"|'(?P<w>[^'\s][^'\n]*)'|(?P<v>[^\s'";&|()<>]+))"""
_QUOTED_OR_BARE = r"""(?:"(?P<q>[^"\n]+)"|'(?P<w>[^'\n]+)'|(?P<v>[^\s'";&|()<>]+))"""

PATTERNS: tuple[SecretPattern, ...] = (
    SecretPattern("AWS Access Key", re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b")),
    SecretPattern(
        "AWS Secret Access Key",
        re.compile(
            r"(?i:aws[_-]?secret[_-]?(?:access[_-]?)?key)[\"']?\s*[=:]\s*[\"']?"
            r"(?P<v>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
        ),
    ),
    SecretPattern("GitHub Token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}"
                                             r"|github_pat_[A-Za-z0-9_]{20,})")),
    SecretPattern("Slack Token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"
                                            r"|\bxapp-\d-[A-Za-z0-9-]{10,}")),
    SecretPattern(
        "Slack Webhook",
        re.compile(r"\bhooks\.slack\.com/(?:services|workflows|triggers)/(?P<v>[A-Za-z0-9_/]+)"),
    ),
    SecretPattern(
        "JSON Web Token",
        re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),
    ),
    SecretPattern(
        "Bearer Token",
        re.compile(r"(?i:\bauthorization\s*:\s*(?:bearer|token|basic))\s+"
                   r"(?P<v>[A-Za-z0-9._~+/=-]{8,})"),
    ),
    SecretPattern(
        "Basic Auth Credentials",  # scheme://user:password@host
        re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@'\"]+:(?P<v>[^@\s/'\"]+)@"),
    ),
    SecretPattern(
        "Command-line Password",  # mysql -pSECRET (a bare -p prompts, and is fine)
        re.compile(
            r"\b(?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlshow|mysqlcheck|mariadb"
            r"|mariadb-dump|mariadb-admin)\b[^\n;&|]*?\s-p" + _QUOTED_OR_BARE
        ),
    ),
    SecretPattern(
        "Command-line Password",  # --password=SECRET, --http-password SECRET
        re.compile(r"(?<![\w-])--(?:[a-z]+-)*(?:password|passwd)(?:=|[ \t]+)" + _VALUE),
    ),
    SecretPattern(
        "Command-line Password",  # curl -u user:password, --user user:password
        re.compile(
            r"\bcurl\b[^\n;&|]*?\s(?:-u[ \t]*|--user(?:=|[ \t]+))[\"']?[^\s:'\"]*:"
            r"(?P<v>[^\s'\"]+)"
        ),
    ),
    SecretPattern(
        "Command-line Password",  # sshpass -p SECRET, -pSECRET
        re.compile(r"\bsshpass(?:[ \t]+-(?:[fdP][ \t]*\S+|[ev]))*[ \t]+-p[ \t]*" + _QUOTED_OR_BARE),
    ),
    SecretPattern(
        "Secret Keyword",  # NAME=value, --name=value, export DB_PASSWORD="..."
        re.compile(r"(?i:(?<![\w.-])[\w.-]*?" + _KEYWORD + r")[ \t]*=[ \t]*" + _VALUE),
    ),
    SecretPattern(
        "Secret Keyword",  # YAML / JSON-ish: `  db_password: value` at the start of a line
        re.compile(
            r"(?im:^[ \t]*(?:-[ \t]+)?[\"']?[\w.-]*?" + _KEYWORD + r"[\"']?[ \t]*:)[ \t]+" + _VALUE
        ),
    ),
)

# Values that name where a secret comes from rather than being one.
_REFERENCE = re.compile(r"^(?:[$`]|\{\{|\{%|<|%\(|\*\*\*REDACTED)|^/|^~/|^\./")
_NOT_SECRETS = frozenset({"true", "false", "yes", "no", "null", "none", "on", "off", "-"})


def _secret_span(m: re.Match[str]) -> tuple[int, int, str]:
    for name in ("v", "q", "w"):
        if name in m.re.groupindex and m.group(name) is not None:
            return m.start(name), m.end(name), m.group(name)
    return m.start(), m.end(), m.group(0)


def _is_literal(value: str, kind: str) -> bool:
    if _REFERENCE.match(value) or "$(" in value or "${" in value:
        return False
    if kind == "Secret Keyword":
        return len(value) >= 4 and value.lower() not in _NOT_SECRETS
    return len(value) >= 3


def find_secrets(text: str) -> list[SecretMatch]:
    """Every secret opsgen's own patterns find in ``text`` (keys first), in text order.

    Overlapping matches are kept; :func:`redact` merges them.
    """
    found = [SecretMatch("Private Key", s, e, text[s:e], True) for s, e in _key_blocks(text)]
    for pattern in PATTERNS:
        for m in pattern.regex.finditer(text):
            span = _secret_span(m)
            if not _is_literal(span[2], pattern.kind):
                continue
            found.append(SecretMatch(pattern.kind, span[0], span[1], span[2], pattern.lint))
    return sorted(found, key=lambda s: (s.start, -s.end))


def _detect(text: str, lang: str) -> list[Any]:
    """detect-secrets' hits (:class:`opsgen.secretscan.SecretHit`) in ``text``."""
    from opsgen.secretscan import scan  # detect-secrets: ~0.2 s to import

    return scan(text, lang) if text else []


def _hit_spans(text: str, hits: list[Any]) -> list[tuple[int, int]]:
    """Spans of detect-secrets' hits: on the line it found them, and anywhere for values
    long enough not to collide with ordinary words."""
    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    lines = text.split("\n")
    spans: list[tuple[int, int]] = []
    for hit in hits:
        if hit.line > len(lines) or hit.plugin == "PrivateKeyDetector":  # blocks: above
            continue
        for needle in {hit.token, hit.value}:
            if len(needle) < 4 or needle == REDACTED:
                continue
            if len(needle) >= 8:
                spans += [(m.start(), m.end()) for m in re.finditer(re.escape(needle), text)]
            else:
                base = starts[hit.line - 1]
                spans += [(base + m.start(), base + m.end())
                          for m in re.finditer(re.escape(needle), lines[hit.line - 1])]
    return spans


def redact(text: str, *, scan: bool = False, lang: str = "bash") -> str:
    """``text`` with every secret replaced by ``***REDACTED***`` (see the module docstring).

    Args:
        text: a whole text: redact before splitting it into lines.
        scan: also remove what detect-secrets finds (imports it; use for whole texts).
        lang: the detect-secrets keyword rules to use (``bash`` or ``ansible``).
    """
    return _apply(text, _detect(text, lang) if scan else [])


def _apply(text: str, hits: list[Any]) -> str:
    if not text:
        return text
    blocks = list(_key_blocks(text))
    spans = [(s.start, s.end) for s in find_secrets(text) if (s.start, s.end) not in blocks]
    spans += _hit_spans(text, hits)
    if not spans and not blocks:
        return text
    marks = [(s, e, False) for s, e in spans] + [(s, e, True) for s, e in blocks]
    out: list[str] = []
    pos = 0
    for start, end, block in sorted(marks, key=lambda m: (m[0], -m[1])):
        if end <= pos:
            continue  # inside a span already redacted
        start = max(start, pos)
        out.append(text[pos:start])
        piece = text[start:end]
        if block:
            out.append(_redact_block(piece))
        else:  # never swallow a line break: line numbers must stay right
            out.append("\n".join(REDACTED if p else p for p in piece.split("\n")))
        pos = end
    out.append(text[pos:])
    return "".join(out)


def redact_tree(value: Any, *, scan: bool = False) -> Any:
    """:func:`redact` applied to every string inside a JSON-like value (dicts keep keys).

    With ``scan``, detect-secrets runs once over all the strings (one per line group), not
    once per string: a review's JSON holds hundreds of short strings.
    """
    strings: list[str] = []
    _walk(value, strings.append)
    hits_of: dict[int, list[Any]] = defaultdict(list)
    if scan and strings:
        first_line: list[int] = []
        line = 1
        for s in strings:
            first_line.append(line)
            line += s.count("\n") + 1
        for hit in _detect("\n".join(strings), "bash"):
            owner = bisect.bisect_right(first_line, hit.line) - 1
            hits_of[owner].append(replace(hit, line=hit.line - first_line[owner] + 1))
    index = iter(range(len(strings)))
    return _walk(value, lambda s: _apply(s, hits_of.get(next(index), [])))


def _walk(value: Any, fn: Callable[[str], Any]) -> Any:
    """``value`` with ``fn`` applied to each string, depth first in a stable order."""
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        return {k: _walk(v, fn) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_walk(v, fn) for v in value]
    return value


# -- controls and quoting -------------------------------------------------------------------

# C0 (newline and tab included) and C1 controls (NEL U+0085 among them), DEL, the Unicode
# line and paragraph separators, the bidi marks, embeddings, overrides and isolates that
# reorder what a reviewer reads, zero-width characters that hide text, and the tag block.
_CONTROL = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff"
    "\U000e0000-\U000e007f]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\x1b"}


def escape_controls(text: str, *, keep_newlines: bool = False) -> str:
    """Controls and invisible/reordering characters shown as escapes (``\\x1b``,
    ``\\u2028``); with ``keep_newlines``, ``\\n`` and tabs stay as they are."""

    def _sub(match: re.Match[str]) -> str:
        char = match.group(0)
        if keep_newlines and char in "\n\t":
            return char
        if char in _NAMED:
            return _NAMED[char]
        code = ord(char)
        if code > 0xFFFF:
            return f"\\U{code:08x}"
        return f"\\u{code:04x}" if code > 0xFF else f"\\x{code:02x}"

    return _CONTROL.sub(_sub, text)


def quote(text: str, limit: int = 200) -> str:
    """``text`` as a one-line, double-quoted, redacted string for a message of ours.

    A finding that embeds output ("exit status 1: <last stderr line>") must not read as a
    line of opsgen's report: the quotes mark where the untrusted part starts and ends, and
    a quote or backslash inside it is escaped so it cannot close the quotes early.
    """
    cut = text[:limit] + ("..." if len(text) > limit else "")
    body = escape_controls(redact(cut).replace("\\", "\\\\").replace('"', '\\"'))
    return f'"{body}"'


def sanitize(text: str, *, keep_newlines: bool = False) -> str:
    """Make untrusted text inert for a terminal: controls shown as escapes, secrets redacted.

    Args:
        text: the untrusted string.
        keep_newlines: keep ``\\n`` and tabs as they are (multi-line script bodies);
            file names and single-line fields must keep the default, so a name cannot
            forge an extra line in a table. Line and paragraph separators (U+2028...),
            vertical tabs, form feeds and bidi controls are escaped either way.
    """
    return escape_controls(redact(text), keep_newlines=keep_newlines)
