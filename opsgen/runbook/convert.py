"""Deterministic transcription of a parsed runbook into a plan, then a script or playbook.

Nothing here decides *what* the runbook should have said: commands are the runbook's own,
in its order. The converter only (1) drops what is not a command (output, logs, other
languages), (2) turns terminal-only commands into what they mean or into manual steps
(:mod:`~opsgen.runbook.interactive`), (3) turns blanks into declared parameters
(:mod:`~opsgen.runbook.params`), (4) refuses to pass on text that would break the script's
structure (a block that does not parse, a linter suppression planted in the runbook).
The same input always gives the same bytes, so ``--resume`` and reviews can trust hashes.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, replace

from opsgen.runbook import interactive, snippets, verify
from opsgen.runbook.models import CodeBlock, Runbook, Step
from opsgen.runbook.params import Parameters, defined_names, replace_words
from opsgen.runbook.plan import Block, Item, ManualStep, Plan
from opsgen.runbook.render import render
from opsgen.runbook.text import neutralise, one_line
from opsgen.scenario import Scenario

__all__ = ["Conversion", "Generator", "build_plan", "convert_runbook"]

#: Writes shell commands for a prose-only step (``--generate``); None when it cannot.
Generator = Callable[[Step], "str | None"]

_DESCRIPTIVE = re.compile(r"(?i)^(the|a|an|this|these|those|its|their)\b")  # enumerations
_USER = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$")


@dataclass(frozen=True, slots=True)
class Conversion:
    """A runbook converted to one language."""

    plan: Plan
    lang: str
    script: str

    @property
    def scenario(self) -> Scenario | None:
        """The runbook's own checks as the dry-run's scenario (None: it has none)."""
        if not self.plan.checks:
            return None
        return Scenario(checks=self.plan.checks, sources=("runbook",))


def convert_runbook(
    runbook: Runbook, lang: str, *, source_sha256: str = "", generate: Generator | None = None
) -> Conversion:
    """Convert ``runbook`` into a bash script (``lang="bash"``) or an Ansible playbook."""
    if lang not in ("bash", "ansible"):
        raise ValueError(f"unknown language {lang!r}")
    plan = build_plan(runbook, source_sha256=source_sha256, generate=generate)
    return Conversion(plan, lang, render(plan, lang))


def build_plan(
    runbook: Runbook, *, source_sha256: str = "", generate: Generator | None = None
) -> Plan:
    """The language-independent plan of a runbook."""
    drafts: list[tuple[Step, snippets.Snippet, str]] = []
    manual: list[ManualStep] = []
    for step in runbook.steps:
        found = _snippets(step)
        if not found and step.kind == "ordered" and not _DESCRIPTIVE.match(step.text):
            text = generate(step) if generate else None
            written = snippets.from_block(CodeBlock(text or "", "bash", step.line_start,
                                                    step.line_end))  # fmt: skip
            if written.commands:
                drafts.append((step, written, "generated"))
            else:
                manual.append(ManualStep(step.number, step.line_start, one_line(step.text),
                                         "a step in prose only"))  # fmt: skip
        drafts.extend((step, snippet, snippet.source) for snippet in found)
    assessed = [(step, snip, src, _assess(snip)) for step, snip, src in drafts]
    params = Parameters(defined=defined_names(
        item.text for *_, items in assessed for item in items if item.kind == "run"
    ))  # fmt: skip
    blocks = _parseable([_block(step, snip, src, items, params)
                         for step, snip, src, items in assessed])  # fmt: skip
    blocks, checks = verify.runbook_checks(runbook.steps, blocks)
    for block in blocks:
        manual.extend(_manual_items(block))
    manual.sort(key=lambda m: (m.step, m.line))
    used = params.used_in(i.text for b in blocks for i in b.runs)
    blocks = [_unused_assignments(b, {p.name for p in used}) for b in blocks]
    root = any(i.kind == "become" or (i.kind == "run" and "the script runs as root" in i.note)
               for b in blocks for i in b.items)  # fmt: skip
    return Plan(
        path=runbook.path,
        title=runbook.title,
        sha256=source_sha256 or hashlib.sha256(runbook.path.encode()).hexdigest(),
        steps_found=len(runbook.steps),
        blocks=tuple(blocks),
        manual=tuple(manual),
        parameters=used,
        require_root=root,
        warnings=runbook.warnings,
        checks=checks,
    )


def _snippets(step: Step) -> list[snippets.Snippet]:
    blocks = [snippets.from_block(b) for b in step.code_blocks]
    in_blocks = {" ".join(c.text.split()) for b in blocks for c in b.commands}
    inline = [
        snippets.from_inline(span)
        for span in step.inline_commands
        if " ".join(span.text.split()) not in in_blocks  # "run `x`, e.g.:" + a block with x
    ]
    return sorted(blocks + inline, key=lambda s: s.line_start)


def _assess(snippet: snippets.Snippet) -> list[Item]:
    """Items of a snippet with users applied: after ``sudo su - x`` commands run as x."""
    items: list[Item] = []
    user = ""
    for line in snippet.lines:
        if line.kind == "comment":
            items.append(Item("comment", one_line(line.text), "", line.line_start))
            continue
        verdict = interactive.assess(line.text)
        if verdict.kind == "become":
            user = "" if verdict.user == "root" else verdict.user
            if user and not _USER.match(user):
                verdict = interactive.Verdict("manual", note=f"switches to an odd user {user!r}")
                user = ""
        elif verdict.kind == "context" and "leaves its session" in verdict.note:
            user = ""
        text = verdict.text if verdict.kind == "run" else line.text
        items.append(Item(verdict.kind, text, verdict.note, line.line_start,
                          user if verdict.kind == "run" else ""))  # fmt: skip
    return _orphan_cd(items)


def _orphan_cd(items: list[Item]) -> list[Item]:
    """A ``cd`` followed only by manual steps exists for those steps: it is manual too."""
    if not any(i.kind == "manual" for i in items):
        return items
    out = list(items)
    for index in range(len(out) - 1, -1, -1):
        item = out[index]
        if item.kind != "run":
            continue
        if not re.match(r"^\s*cd(\s|$)", item.text):
            break
        note = "changes directory only for the manual step after it"
        out[index] = Item("manual", item.text, note, item.line)
    return out


def _block(
    step: Step, snip: snippets.Snippet, source: str, items: list[Item], params: Parameters
) -> Block:
    to_replace = replace_words(step.text)
    out: list[Item] = []
    for item in items:
        if item.kind == "run":
            item = _rewrite(item, params, to_replace)
        elif item.kind == "comment":
            item = Item("comment", neutralise(item.text), "", item.line)
        out.append(item)
    return Block(
        step=step.number,
        heading=step.heading,
        source=source,  # type: ignore[arg-type]
        line_start=snip.line_start,
        line_end=snip.line_end,
        items=tuple(out),
        summary=one_line(step.text, 110),
        reason=snip.reason,
        left_out=tuple(line for line, _ in snip.left_out),
    )


def _rewrite(item: Item, params: Parameters, replace: tuple[tuple[str, str], ...]) -> Item:
    text = neutralise(item.text)
    assigned = params.assignment(text, item.line)
    if assigned is None:
        return Item("run", params.rewrite(text, item.line, replace), item.note, item.line,
                    item.user)  # fmt: skip
    var, name = assigned
    if var == name:  # the note lets build_plan say so only if a command uses it
        return Item("comment", f"{var} is a parameter of this script (see the top)",
                    f"param:{var}", item.line)  # fmt: skip
    return Item("run", f'{var}="${{{name}}}"', item.note, item.line, item.user)


def _unused_assignments(block: Block, used: set[str]) -> Block:
    """``NODE_NAME=<x>`` whose variable no kept command reads is not demanded from anyone."""
    items = []
    for item in block.items:
        var = item.note.removeprefix("param:") if item.note.startswith("param:") else ""
        if var and var not in used:
            item = Item("comment", f"{var} (a blank in the runbook) is not needed: no converted"
                        " command uses it", "", item.line)  # fmt: skip
        items.append(item)
    return replace(block, items=tuple(items))


def _manual_items(block: Block) -> list[ManualStep]:
    found = [ManualStep(block.step, i.line, one_line(i.text), i.note)
             for i in block.items if i.kind == "manual"]  # fmt: skip
    if block.reason and not found and not block.reason.startswith("a "):
        where = f"lines {block.line_start}-{block.line_end} (a code block)"
        found.append(ManualStep(block.step, block.line_start, where, block.reason))
    return found


def _parseable(blocks: list[Block]) -> list[Block]:
    """Blocks that ``bash -n`` rejects become manual: they would break the whole script.

    One ``bash -n`` for the whole runbook in the usual case; only when it fails is each
    block checked on its own to find the culprits.
    """

    def text(block: Block) -> str:
        return "\n".join(i.text for i in block.runs)

    if not _syntax_error("\n".join(text(b) for b in blocks if b.runs)):
        return blocks
    out = []
    for block in blocks:
        error = _syntax_error(text(block)) if block.runs else ""
        if error:
            reason = f"does not parse as shell ({error}); left for a person"
            items = tuple(Item("manual", i.text, reason, i.line) if i.kind == "run" else i
                          for i in block.items)  # fmt: skip
            block = replace(block, items=items, reason=reason)
        out.append(block)
    return out


def _syntax_error(text: str) -> str:
    """First line of ``bash -n``'s complaint about ``text`` ("" when it parses).

    ``bash -n`` parses and runs nothing; it gets an environment of its own (no ``BASH_ENV``,
    no exported functions), as the lint's tools do, so nothing but bash's parser reads the
    runbook's text here."""
    bash = shutil.which("bash")
    if not text.strip() or bash is None:
        return ""
    env = {"PATH": os.defpath, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    try:
        done = subprocess.run(
            [bash, "-n"], input=text, capture_output=True, text=True, timeout=10, check=False,
            env=env,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    if done.returncode == 0:
        return ""
    first = (done.stderr.strip().splitlines() or ["syntax error"])[0]
    return one_line(first.split(": ", 1)[-1], 120)
