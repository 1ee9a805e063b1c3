"""Batch conversion of legacy Markdown runbooks into reviewable bash scripts and playbooks.

A runbook is *data*: its prose and snippets are transcribed, never obeyed. The pipeline is a
declared sequence of small stages over frozen values::

    read (opsgen.inputs) -> parse (Runbook of Steps) -> convert (Conversion: script + params
    + manual steps) -> lint -> dry-run -> store (one change per runbook) -> report

Modules: :mod:`~opsgen.runbook.parse` (markdown-it tokens to steps with line ranges),
:mod:`~opsgen.runbook.inline` (which inline code is a command), :mod:`~opsgen.runbook.snippets`
(code blocks to commands, output left out), :mod:`~opsgen.runbook.interactive` with
:mod:`~opsgen.runbook.calls` and :mod:`~opsgen.runbook.fixes` (ssh, sudo -i, pagers,
editors... to what they mean), :mod:`~opsgen.runbook.params` (placeholders to declared
parameters), :mod:`~opsgen.runbook.convert` and :mod:`~opsgen.runbook.plan` (the plan),
:mod:`~opsgen.runbook.render` (bash and Ansible text), :mod:`~opsgen.runbook.batch` with
:mod:`~opsgen.flow.checks`, :mod:`~opsgen.runbook.ledger` and
:mod:`~opsgen.runbook.output` (the parallel, resumable pipeline) and
:mod:`~opsgen.render.convert` (table, JSON, HTML).
"""

from __future__ import annotations

from opsgen.runbook.convert import Conversion, build_plan, convert_runbook
from opsgen.runbook.models import CodeBlock, InlineCommand, Runbook, Step
from opsgen.runbook.parse import MAX_RUNBOOK_BYTES, parse_runbook, read_runbook
from opsgen.runbook.plan import Block, Item, ManualStep, Plan

__all__ = [
    "MAX_RUNBOOK_BYTES",
    "Block",
    "CodeBlock",
    "Conversion",
    "InlineCommand",
    "Item",
    "ManualStep",
    "Plan",
    "Runbook",
    "Step",
    "build_plan",
    "convert_runbook",
    "parse_runbook",
    "read_runbook",
]
