"""``--generate``: the model writes commands for prose-only steps; off by default."""

from __future__ import annotations

from opsgen.generator.llm import FakeLLM
from opsgen.runbook import convert_runbook, parse_runbook
from opsgen.runbook.generate import model_generator

RUNBOOK = """# Clean up

1. Remove the stale lock file /var/lib/app/lock.
2. Restart it: `sudo systemctl restart app`
3. Tell the team in #ops.
"""


def test_prose_steps_become_generated_blocks_marked_for_review():
    answers = [
        "```bash\n#!/usr/bin/env bash\nset -euo pipefail\nrm -f /var/lib/app/lock\n```",
        "I cannot write commands for a chat message.",
    ]
    llm = FakeLLM(responses=answers)
    conv = convert_runbook(parse_runbook(RUNBOOK, "c.md"), "bash", generate=model_generator(llm))
    generated = [b for b in conv.plan.blocks if b.source == "generated"]
    assert [i.text for b in generated for i in b.runs] == ["rm -f /var/lib/app/lock"]
    assert "# c.md:3-3 step 1 (GENERATED from prose): Clean up" in conv.script
    assert "# opsgen: written by the model from the step's prose, not by the runbook:" in (
        conv.script
    )
    # the step text reaches the model framed as data, inside the request
    assert "Remove the stale lock file /var/lib/app/lock." in llm.calls[0][-1].content
    # prose as an answer is not a script: that step stays manual
    assert [m.text for m in conv.plan.manual] == ["Tell the team in #ops."]
    assert conv.plan.generated == 1


def test_without_generate_prose_steps_stay_manual():
    conv = convert_runbook(parse_runbook(RUNBOOK, "c.md"), "bash")
    assert conv.plan.generated == 0
    assert len(conv.plan.manual) == 2
