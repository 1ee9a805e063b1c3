"""Terminal output: one sanitiser for every untrusted string, the frame, the error renderer.

Script text, file names from the sandbox, container output and model output can carry
terminal escapes (``ESC[2J``), rich markup (``[bold red]APPROVED``) and secrets. Everything
of theirs goes through :func:`sanitize` before it reaches a console (security.md §3.13).

Escaping is not enough on its own: a terminal wraps a line longer than its width to column
0, so a stdout line padded with spaces can put ``Verdict: OK`` where opsgen's own verdict
goes. Untrusted lines are therefore printed in a frame (:func:`print_framed`: each line
behind ``│ ``), and every line of ours that embeds untrusted text is folded by us
(:func:`print_folded`) with its continuations indented behind ``↳``: nothing we print is
wider than the console, so the terminal never wraps, and no untrusted character lands at
column 0.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from opsgen.errors import OpsError
from opsgen.redact import redact, sanitize

__all__ = [
    "CONTINUED",
    "FRAME",
    "console",
    "err_console",
    "fold",
    "print_folded",
    "print_framed",
    "print_source_line",
    "redact",
    "render_error",
    "safe",
    "sanitize",
]

console = Console(highlight=False, emoji=False)
err_console = Console(stderr=True, highlight=False, emoji=False)

#: what starts each line of untrusted text, and each continuation of a folded line
FRAME = "│ "
CONTINUED = "↳ "
_MIN_ROOM = 12  # the least room a folded line gets, however deep its indent


def safe(text: str, *, keep_newlines: bool = False) -> str:
    """:func:`sanitize` plus rich-markup escaping, for interpolation into markup strings."""
    return escape(sanitize(text, keep_newlines=keep_newlines))


def fold(line: Text, width: int, *, first: Text | str = "", rest: Text | str = "") -> list[Text]:
    """``first + line`` cut into pieces no wider than ``width`` cells; every piece after the
    first starts with ``rest``. Nothing is dropped and nothing is added but the prefixes."""
    head = first if isinstance(first, Text) else Text(first)
    cont = rest if isinstance(rest, Text) else Text(rest)
    line = line.copy()
    line.expand_tabs(8)
    pieces: list[Text] = []
    prefix = head
    while True:
        room = max(width - prefix.cell_len, _MIN_ROOM)
        if line.cell_len <= room:
            pieces.append(Text.assemble(prefix, line))
            return pieces
        cut, used = 0, 0
        for char in line.plain:
            used += cell_len(char)
            if used > room:
                break
            cut += 1
        cut = max(cut, 1)  # a wide character in a very narrow room still moves on
        piece, line = line.divide([cut])
        pieces.append(Text.assemble(prefix, piece))
        prefix = cont


def print_folded(out: Console, markup: str | Text, *, rest: str | None = None) -> None:
    """Print one line of ours (rich markup, its untrusted parts already :func:`safe`),
    folded at the console width with continuations behind ``rest`` (default: the line's
    own indent plus two spaces and ``↳``), so the terminal never wraps it to column 0."""
    text = Text.from_markup(markup, emoji=False) if isinstance(markup, str) else markup
    if rest is None:
        indent = len(text.plain) - len(text.plain.lstrip(" "))
        rest = " " * (indent + 2) + CONTINUED
    for piece in fold(text, out.width, rest=Text(rest, style="dim")):
        out.print(piece, soft_wrap=True, highlight=False)


def print_framed(
    out: Console,
    lines: Iterable[str | Text],
    *,
    indent: str = "    ",
    style: str = "",
) -> None:
    """Print untrusted lines (run output, diff text) each behind ``indent│ ``; a line too
    long for the console continues on rows behind ``indent↳ ``. ``str`` lines are
    sanitised here; ``Text`` lines must be sanitised already."""
    first = Text(indent + FRAME, style="dim")
    rest = Text(indent + CONTINUED, style="dim")
    for line in lines:
        text = line if isinstance(line, Text) else Text(sanitize(line), style=style)
        for piece in fold(text, out.width, first=first, rest=rest):
            out.print(piece, soft_wrap=True, highlight=False)


def print_source_line(
    out: Console, number: int, width: int, line: Text, *, marker: Text | None = None
) -> None:
    """One numbered script line (``line`` already sanitised). A line wider than the console
    continues on rows with no number and a ``↳`` in the gutter: the reviewer sees exactly
    the script's lines, and the terminal never wraps one (which would start a row with
    script text)."""
    gutter = Text.assemble(marker or Text(" "), (f"{number:>{width}} │ ", "dim"))
    rest = Text(" " * (width + 2) + CONTINUED, style="dim")
    for piece in fold(line, out.width, first=gutter, rest=rest):
        out.print(piece, soft_wrap=True, highlight=False)


def render_error(exc: OpsError, *, stream: Console | None = None) -> None:
    """Print an error as pip does: ``error[reference]: message`` then the hint, escaped."""
    out = stream or err_console
    out.print(
        f"[bold red]error[/]{escape(f'[{exc.reference}]')}: {safe(exc.message)}", soft_wrap=True
    )
    if exc.hint:
        out.print(f"  [cyan]hint:[/] {safe(exc.hint)}", soft_wrap=True)
    sys.stderr.flush()
