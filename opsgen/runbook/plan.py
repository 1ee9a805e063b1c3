"""The conversion plan: what each step of a runbook turns into, before any text is written.

Values only; :mod:`~opsgen.runbook.convert` builds them and :mod:`~opsgen.runbook.render`
writes them out as a bash script or an Ansible playbook, so both languages carry exactly
the same commands, parameters and manual steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from opsgen.runbook.params import Parameter
from opsgen.scenario import Check

__all__ = ["Block", "Item", "ItemKind", "ManualStep", "Plan"]

ItemKind = Literal["run", "comment", "context", "manual", "become", "check"]
BlockSource = Literal["block", "inline", "generated"]


@dataclass(frozen=True, slots=True)
class Item:
    """One line of a block in the output.

    Attributes:
        kind: ``run`` (a command), ``comment`` (the runbook's own comment), ``context``
            (a session command the script stands for), ``manual``, ``become`` or ``check``
            (the runbook's verification, a scenario check: not run by the script).
        text: the command to run (``run``), or the runbook's original text (others).
        note: what opsgen changed or why it stops ("" when nothing to say); for ``check``,
            the check's name.
        line: the runbook line it came from.
        user: for ``run``, the user it must run as ("" for the script's own user).
    """

    kind: ItemKind
    text: str
    note: str
    line: int
    user: str = ""


@dataclass(frozen=True, slots=True)
class Block:
    """What one code block or inline command of a step becomes.

    Attributes:
        step: the step number.
        heading: the step's heading.
        source: ``block``, ``inline`` or ``generated`` (written by the model from prose).
        line_start: first runbook line.
        line_end: last runbook line.
        items: the lines of the block in order.
        summary: the step's prose, shortened, for the trace comment.
        reason: why nothing in the block runs ("" when something does).
        left_out: runbook lines left out as output, not commands.
    """

    step: int
    heading: str
    source: BlockSource
    line_start: int
    line_end: int
    items: tuple[Item, ...]
    summary: str = ""
    reason: str = ""
    left_out: tuple[int, ...] = ()

    @property
    def runs(self) -> tuple[Item, ...]:
        """The command items."""
        return tuple(i for i in self.items if i.kind == "run")


@dataclass(frozen=True, slots=True)
class ManualStep:
    """Something a person has to do: listed in the report, a ``MANUAL`` comment in the script."""

    step: int
    line: int
    text: str
    reason: str

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {"step": self.step, "line": self.line, "text": self.text, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything needed to write the script, in runbook order.

    Attributes:
        path: the runbook's display path.
        title: its title.
        sha256: sha256 of the runbook text, recorded in the script header.
        steps_found: how many steps the parser found.
        blocks: converted blocks, in order (manual prose steps are in ``manual``).
        manual: manual steps, in order.
        parameters: declared parameters, in order of first use.
        require_root: the runbook works as root (``sudo -i``), so the script checks it.
        warnings: parser and converter warnings, one sentence each.
        checks: the runbook's own verification steps as scenario checks
            (:mod:`~opsgen.runbook.verify`); the dry-run runs them.
    """

    path: str
    title: str
    sha256: str
    steps_found: int
    blocks: tuple[Block, ...]
    manual: tuple[ManualStep, ...]
    parameters: tuple[Parameter, ...]
    require_root: bool = False
    warnings: tuple[str, ...] = ()
    checks: tuple[Check, ...] = ()

    @property
    def commands(self) -> int:
        """How many commands the script runs."""
        return sum(len(b.runs) for b in self.blocks)

    @property
    def runnable(self) -> bool:
        """True when at least one command runs: otherwise there is nothing to review."""
        return self.commands > 0

    @property
    def generated(self) -> int:
        """Blocks written by the model from prose (``--generate``)."""
        return sum(1 for b in self.blocks if b.source == "generated")
