"""Terminal output: one sanitiser for every untrusted string, and the error renderer.

Script text, file names from the sandbox, container output and model output can carry
terminal escapes (``ESC[2J``), rich markup (``[bold red]APPROVED``) and secrets. Everything
of theirs goes through :func:`sanitize` before it reaches a console (security.md §3.13).
"""

from __future__ import annotations

import re
import sys

from rich.console import Console
from rich.markup import escape

from opsgen.errors import OpsError

__all__ = ["console", "err_console", "redact", "render_error", "safe", "sanitize"]

console = Console(highlight=False, emoji=False)
err_console = Console(stderr=True, highlight=False, emoji=False)

# C0 (newline and tab included) and C1 controls, DEL, and the bidi overrides that
# reorder what a reviewer reads.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\x1b"}

# Secrets that must never be echoed even when a scanner did not flag them.
_SECRET_PATTERNS = [
    re.compile(r"(?P<keep>://[^/\s:@]+:)[^@\s/]+(?=@)"),  # password in a URL
    re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),  # AWS access key id
    re.compile(
        r"-----BEGIN (?:[A-Z ]+ )?PRIVATE KEY-----.*?(?:-----END (?:[A-Z ]+ )?PRIVATE KEY-----|\Z)",
        re.S,
    ),
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}\b"),  # GitHub tokens
    re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b"),  # Slack tokens
    re.compile(
        r"(?P<keep>(?i:password|passwd|secret|token|api[_-]?key)\s*[=:]\s*['\"]?)[^\s'\"]{4,}"
    ),
]


def redact(text: str) -> str:
    """Replace secrets with ``***REDACTED***``, keeping the key name so context survives."""

    def _sub(match: re.Match[str]) -> str:
        keep = match.groupdict().get("keep") or ""
        return keep + "***REDACTED***"

    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(_sub, text)
    return text


def sanitize(text: str, *, keep_newlines: bool = False) -> str:
    """Make untrusted text inert for a terminal: controls shown as escapes, secrets redacted.

    Args:
        text: the untrusted string.
        keep_newlines: keep ``\\n`` and tabs as they are (multi-line script bodies);
            file names and single-line fields must keep the default, so a name cannot
            forge an extra line in a table.
    """

    def _sub(match: re.Match[str]) -> str:
        char = match.group(0)
        if keep_newlines and char in "\n\t":
            return char
        return _NAMED.get(
            char, f"\\u{ord(char):04x}" if ord(char) > 0xFF else f"\\x{ord(char):02x}"
        )

    return _CONTROL.sub(_sub, redact(text))


def safe(text: str, *, keep_newlines: bool = False) -> str:
    """:func:`sanitize` plus rich-markup escaping, for interpolation into markup strings."""
    return escape(sanitize(text, keep_newlines=keep_newlines))


def render_error(exc: OpsError, *, stream: Console | None = None) -> None:
    """Print an error as pip does: ``error[reference]: message`` then the hint, escaped."""
    out = stream or err_console
    out.print(
        f"[bold red]error[/]{escape(f'[{exc.reference}]')}: {safe(exc.message)}", soft_wrap=True
    )
    if exc.hint:
        out.print(f"  [cyan]hint:[/] {safe(exc.hint)}", soft_wrap=True)
    sys.stderr.flush()
