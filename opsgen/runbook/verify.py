"""A runbook's own verification steps as scenario checks.

Runbooks end a procedure with a check a person runs: "Check that the service has now
started, by running: ``sudo service x status``", "Can you see the process in
``ps aux | grep gitaly``?" under "Ensure that the Gitaly server process is running". Those
are the runbook author's own postconditions: the best independent evidence that the
converted script does what the runbook does. Here they become
:class:`~opsgen.scenario.Check` values (source ``runbook``) that the dry-run runs before and
after the script.

What counts, deliberately narrow (a wrong check is worse than none):

- the step's prose or heading says it verifies (:data:`VERIFY`: "check that", "verify",
  "confirm", "ensure", "make sure", "should now show"...), and the step comes after a
  command that changes something (a postcondition follows a change);
- the command has a one-line assertion form that exits non-zero when the condition does
  not hold (:func:`assertion`): a status query (``systemctl is-active``, ``service x
  status``), a lookup (``getent``, ``id``, ``test``, ``stat``, ``grep`` in a file), a
  config test (``nginx -t``), a process search (``ps aux | grep x``) or an HTTP probe of
  this host (``curl localhost``);
- not one that needs the network (another host), a person (``lsblk``, ``ps faux``: output
  to read, "returns the expected hostname"), a blank the runbook leaves to the operator (the
  sandbox has no value for a parameter) or the shell's state (a ``cd`` before it).

The command is then not run by the script: under ``set -euo pipefail`` a failing status
query would stop the procedure (often just before the step that fixes it), and a passing
one only prints. The script keeps a comment naming the check. This does change one thing:
on a real host the script no longer exits non-zero when the final check fails; the check's
verdict is in the dry-run evidence instead (OPS411 when it does not hold).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from opsgen.runbook.calls import peel
from opsgen.runbook.effects import is_read_only
from opsgen.runbook.models import Step
from opsgen.runbook.plan import Block, Item
from opsgen.runbook.shellwords import UNQUOTED, contexts, quote, segments, words
from opsgen.runbook.text import one_line
from opsgen.scenario import MAX_CHECKS, Check

__all__ = ["VERIFY", "assertion", "runbook_checks", "verification_name"]

#: Prose that says a step verifies what came before it.
VERIFY = re.compile(
    r"(?i)\b(?:check that|check whether|verify(?: that)?|confirm(?: that)?|ensure(?: that)?"
    r"|make sure(?: that)?|should now (?:show|return|list|print|report|be)"
    r"|you should see)\b\s*(?P<what>[^.:;?!`(]*)"
)
#: Names of hosts that are this machine: an HTTP probe of them needs no network.
_LOCAL = re.compile(r"^(?:https?://)?(?:localhost|127\.0\.0\.1|\[::1\])(?::\d+)?(?:/\S*)?$")
_PLAIN = re.compile(r"^[A-Za-z0-9_./:@=+,-]+$")
_AS_IS = {
    "systemctl": {"is-active", "is-enabled", "is-failed", "status"},
    "service": {"status"},
}
_QUERIES = frozenset({"getent", "id", "test", "[", "pgrep", "stat"})
_CONFIG_TESTS = {"nginx": ("-t",), "apachectl": ("configtest", "-t"), "sshd": ("-t",),
                 "visudo": ("-c",), "named-checkconf": ()}  # fmt: skip
_CURL_OK = frozenset({"-s", "-S", "-f", "-sS", "-fsS", "-sSf", "-fs", "-sf", "--silent", "--fail",
                      "--show-error", "-k", "--insecure", "-L", "--location"})  # fmt: skip


def verification_name(step: Step, block: Block, command: str) -> str:
    """The name of the check ``command`` makes, in the runbook's words ("" when the runbook
    does not use it to verify): the words after "check that", "ensure"... in the paragraph
    that introduces it (ending in ":" before a code block, or naming it inline), else, for
    a list item naming it inline, in the step's heading."""
    wanted = _plain(command)
    for paragraph in step.text.splitlines():
        found = VERIFY.search(paragraph)
        if found is None:
            continue
        inline = block.source == "inline" and wanted and wanted in _plain(paragraph)
        if inline or (block.source == "block" and paragraph.rstrip().endswith(":")):
            return _name(found)
    found = VERIFY.search(step.heading)
    if found is not None and step.kind != "section" and block.source == "inline":
        return _name(found)
    return ""


def _plain(text: str) -> str:
    """Text compared without quotes, backticks, ``sudo`` and extra spaces."""
    return " ".join(w for w in re.sub(r"[`'\"]", " ", text).split() if w != "sudo")


def _name(found: re.Match[str]) -> str:
    what = " ".join(found["what"].replace("*", "").split()).strip(" ,-")
    # "...answers with `curl ...`": the words that only lead to the command are dropped
    what = re.sub(r"(?i)[\s,]*\b(?:by running|by using|by|with|via)$", "", what)
    return one_line(what or found.group(0), 80)


def assertion(command: str) -> str:
    """The one-line assertion form of ``command`` ("" when it has none): exits 0 when the
    condition holds, non-zero when not. Needs no network, no person, no parameter."""
    if "$" in command or "`" in command or "\n" in command:
        return ""
    parts = segments(command)
    if len(parts) == 2 and _only_pipe(command) and is_read_only(command):
        return _process_search(parts)
    if len(parts) != 1:
        return ""
    call = peel(words(command))
    if call is None or call.sudo_user not in (None, "root"):
        return ""
    name, args = call.name, call.args
    plain = " ".join(quote(a) for a in (name, *args))
    if name == "curl":
        return _probe(args)
    if name in _CONFIG_TESTS and set(args) <= set(_CONFIG_TESTS[name]):
        return plain
    if not is_read_only(command):
        return ""
    if name in _AS_IS and args and set(args) & _AS_IS[name]:
        return plain
    if name in _QUERIES and args:
        return plain
    if name == "grep" and len([a for a in args if not a.startswith("-")]) >= 2:
        return " ".join(quote(a) for a in ("grep", "-q", *args))
    return ""


def _only_pipe(command: str) -> bool:
    """True when the command's only operator is one plain pipe."""
    ctx = contexts(command)
    operators = [c for c, w in zip(command, ctx, strict=True) if w == UNQUOTED and c in "|&;"]
    return operators == ["|"]


def _process_search(parts: list[str]) -> str:
    """``ps aux | grep NAME`` -> ``ps -eo args= | grep -q -- '[N]AME'``: the bracket keeps
    the check's own command line (which contains NAME) from matching itself."""
    lister, search = words(parts[0]), words(parts[1])
    if not lister or lister[0] != "ps" or len(search) != 2 or search[0] != "grep":
        return ""
    target = search[1]
    if not re.match(r"^[A-Za-z0-9_][A-Za-z0-9_.@-]*$", target):
        return ""
    return f"ps -eo args= | grep -q -- {quote(f'[{target[0]}]{target[1:]}')}"


def _probe(args: tuple[str, ...]) -> str:
    """``curl [-sSfk] URL`` of this host -> ``curl -fsS -o /dev/null --max-time 5 URL``."""
    urls = [a for a in args if not a.startswith("-")]
    if len(urls) != 1 or not _LOCAL.match(urls[0]) or not _PLAIN.match(urls[0]):
        return ""
    options = [a for a in args if a.startswith("-")]
    if not set(options) <= _CURL_OK:
        return ""
    insecure = [o for o in options if o in ("-k", "--insecure")][:1]
    return " ".join(["curl", "-fsS", "-o", "/dev/null", "--max-time", "5", *insecure,
                     quote(urls[0])])  # fmt: skip


def runbook_checks(
    steps: Iterable[Step], blocks: list[Block]
) -> tuple[list[Block], tuple[Check, ...]]:
    """Blocks with the runbook's verification commands turned into ``check`` items, and the
    checks themselves (at most :data:`~opsgen.scenario.MAX_CHECKS`, names made unique)."""
    by_number = {s.number: s for s in steps}
    changed = False
    checks: list[Check] = []
    out: list[Block] = []
    for block in blocks:
        step = by_number.get(block.step)
        if step is not None and changed and not _changes_shell(block):
            block = _as_checks(step, block, checks)
        changed = changed or any(not is_read_only(i.text) for i in block.runs)
        out.append(block)
    return out, tuple(checks)


def _changes_shell(block: Block) -> bool:
    return any(words(i.text)[:1] in (["cd"], ["pushd"], ["export"], ["source"])
               for i in block.runs)  # fmt: skip


def _as_checks(step: Step, block: Block, checks: list[Check]) -> Block:
    items: list[Item] = []
    for item in block.items:
        run = assertion(item.text) if item.kind == "run" and not item.user else ""
        name = verification_name(step, block, item.text) if run else ""
        if not name or len(checks) >= MAX_CHECKS:
            items.append(item)
            continue
        taken = {c.name for c in checks}
        unique = name if name not in taken else f"{name} ({one_line(item.text, 50)})"
        checks.append(Check(unique, run, "runbook"))
        items.append(Item("check", item.text, unique, item.line))
    return replace(block, items=tuple(items))
