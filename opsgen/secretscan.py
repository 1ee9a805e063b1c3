"""Find secrets with detect-secrets, fast enough to run on every lint.

detect-secrets calls each of its ~25 plugins on each line through a dependency-injection
layer; on a 300-line script that costs about 90 ms. Nearly all lines cannot match: so the
plugins' own patterns are first run once over the whole text, and only the lines they touch
(plus any line a match spans) go through detect-secrets proper, filters included. The result
is the same set of secrets in a few milliseconds.

Two deliberate departures from detect-secrets' defaults:

* ``HexHighEntropyString`` and ``IPPublicDetector`` are off: checksums (which OPS113 asks
  for) are hex by design, and ops scripts name servers by IP.
* ``# pragma: allowlist secret`` is ignored. A generated script must not be able to hide a
  secret with a comment; opsgen's own suppressions need a reason and stay visible.
* A "Secret Keyword" whose value is a shell command substitution (``PASSWORD=`cat f```,
  ``echo pwd: `pwd```) is dropped: it reads a secret at run time, which is what we ask for.

detect-secrets misses secrets that ops scripts carry on command lines or unquoted
(``mysql -pSECRET``, ``curl -u user:pw``, ``sshpass -p``, ``--password=``, an unquoted
``AWS_SECRET_ACCESS_KEY=``, ``github_pat_`` tokens, bearer headers, keys with an
``ENCRYPTED PRIVATE KEY`` header). Those come from :data:`opsgen.redact.PATTERNS`, the
patterns the views redact with, so every secret hidden from a reviewer is also flagged;
they are added only where detect-secrets found nothing at the same place.
"""

from __future__ import annotations

import bisect
import math
import re
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

from detect_secrets.core import scan as ds_scan
from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
from detect_secrets.plugins import keyword
from detect_secrets.plugins.base import RegexBasedDetector
from detect_secrets.plugins.high_entropy_strings import HighEntropyStringsPlugin
from detect_secrets.settings import get_plugins, transient_settings

from opsgen.redact import find_secrets

__all__ = ["PATTERN_PLUGIN", "SecretHit", "scan"]

PATTERN_PLUGIN = "opsgen secret pattern"  # SecretHit.plugin of a hit from opsgen.redact
_LOCK = threading.Lock()  # detect-secrets keeps its settings in a module global
_DISABLED = frozenset({"HexHighEntropyString", "IPPublicDetector"})
_KEYWORDS = re.compile("|".join(keyword.DENYLIST))
_ALLOWLIST_FILTER = "detect_secrets.filters.allowlist.is_line_allowlisted"
_PLUGIN_CLASSES: list[type] = list(get_mapping_from_secret_type_to_class().values())
_PLUGIN_NAMES: list[str] = [c.__name__ for c in _PLUGIN_CLASSES]
_CONFIG: dict[str, Any] = {
    "plugins_used": [{"name": n} for n in _PLUGIN_NAMES if n not in _DISABLED],
}


@dataclass(frozen=True, slots=True)
class SecretHit:
    """One secret: what kind, where, and the value (used to redact, never shown)."""

    kind: str  # detect-secrets' secret type, e.g. "AWS Access Key"
    plugin: str  # the detector class, e.g. "AWSKeyDetector"
    line: int
    col: int
    value: str  # what detect-secrets reports (for some detectors only a prefix: "ghp")
    token: str  # the whole match around it, so redaction removes all of it

    @property
    def source(self) -> str:
        """Who found it, for the finding's message: ``detect-secrets AWSKeyDetector``."""
        return self.plugin if self.plugin == PATTERN_PLUGIN else f"detect-secrets {self.plugin}"


def _gates(plugins: list[Any]) -> list[tuple[re.Pattern[str], Any]]:
    """Patterns that match wherever an enabled plugin could (a superset, per line).

    Each comes with the entropy plugin that must also accept the match, or None.
    """
    gates: list[tuple[re.Pattern[str], Any]] = []
    for plugin in plugins:
        if isinstance(plugin, RegexBasedDetector):
            gates.extend((re.compile(p.pattern, p.flags | re.M), None) for p in plugin.denylist)
        elif isinstance(plugin, HighEntropyStringsPlugin):
            gates.append((plugin.regex, plugin))
    return gates


def _entropy(data: str) -> float:
    """Shannon entropy in bits per character (detect-secrets' formula, without its loop)."""
    n = len(data)
    return -sum(c / n * math.log2(c / n) for c in Counter(data).values()) if n else 0.0


def _candidate_lines(text: str, gates: list[tuple[re.Pattern[str], Any]]) -> set[int]:
    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    found: set[int] = set()

    def add(start: int, end: int) -> None:
        first = bisect.bisect_right(starts, start)
        found.update(range(first, bisect.bisect_right(starts, max(end - 1, start)) + 1))

    lowered = text.lower()  # lower() + a plain pattern beats re.I five times over
    keywords = _KEYWORDS if len(lowered) == len(text) else re.compile(_KEYWORDS.pattern, re.I)
    for m in keywords.finditer(lowered if keywords is _KEYWORDS else text):
        add(m.start(), m.end())
    for gate, entropy in gates:
        for m in gate.finditer(text):
            # the entropy plugin keeps only quoted strings above its limit; so do we, with a
            # margin for rounding so that the gate stays a superset
            if entropy is None or _entropy(m.group(2)) > entropy.entropy_limit - 0.01:
                add(m.start(), m.end())
    return found


def _is_substitution(line: str, value: str) -> bool:
    return "`" in value or "$(" in value or f"`{value}`" in line or f"$({value})" in line


def _whole_match(plugin: Any, line: str, value: str) -> str:
    """The full token: detect-secrets reports only a capture group ("ghp" of a GitHub token)."""
    if isinstance(plugin, RegexBasedDetector) and value:
        spans = [m.group(0) for p in plugin.denylist for m in p.finditer(line)
                 if value in m.group(0)]
        if spans:
            return max(spans, key=len).strip(" \t\"'=:")
    return value


def scan(text: str, lang: str) -> list[SecretHit]:
    """All secrets detect-secrets finds in ``text``, one hit per (line, value, kind)."""
    filename = "script.sh" if lang == "bash" else "playbook.yml"  # picks keyword regexes
    # lines as bash (and _candidate_lines) count them: a \r or U+2028 is not a line break
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    hits: dict[tuple[int, str, str], SecretHit] = {}
    with _LOCK, transient_settings(_CONFIG) as settings:
        settings.disable_filters(_ALLOWLIST_FILTER)
        plugins = get_plugins()
        by_type = {p.secret_type: p for p in plugins}
        wanted = sorted(n for n in _candidate_lines(text, _gates(plugins)) if n <= len(lines))
        numbered = [(n, lines[n - 1]) for n in wanted]
        for secret in ds_scan._process_line_based_plugins(numbered, filename) if wanted else ():
            line = secret.line_number
            plugin = by_type.get(secret.type)
            value = secret.secret_value or ""
            if secret.type == "Secret Keyword" and _is_substitution(lines[line - 1], value):
                continue
            token = _whole_match(plugin, lines[line - 1], value)
            col = lines[line - 1].find(value) + 1 if value else 0
            hit = SecretHit(secret.type, type(plugin).__name__, line, max(col, 1), value, token)
            hits.setdefault((line, value, secret.type), hit)
    found = list(hits.values())
    return found + _pattern_hits(text, found)


def _pattern_hits(text: str, found: list[SecretHit]) -> list[SecretHit]:
    """Hits of opsgen's own patterns where detect-secrets found nothing overlapping."""
    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    extra: dict[tuple[int, int], SecretHit] = {}
    for match in find_secrets(text):
        if not match.lint or (match.start, match.end) in extra:
            continue
        line = bisect.bisect_right(starts, match.start)
        col = match.start - starts[line - 1] + 1
        value = match.value
        same_line = [h for h in found if h.line == line]
        if any(_overlaps(value, h) or (match.kind == h.kind == "Private Key") for h in same_line):
            continue
        extra[(match.start, match.end)] = SecretHit(
            match.kind, PATTERN_PLUGIN, line, col, value, value
        )
    return list(extra.values())


def _overlaps(value: str, hit: SecretHit) -> bool:
    """The same secret reported twice (one side may hold only a prefix or the whole match)."""
    return any(len(a) >= 3 and len(b) >= 3 and (a in b or b in a)
               for a in (value,) for b in (hit.value, hit.token))
