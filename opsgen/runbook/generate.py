"""``--generate``: let the embedded model write commands for steps given only in prose.

Off by default, and deterministic transcription never depends on it. The model sees the
step as data framed by :func:`opsgen.generator.prompts.generation_messages` (tags in the
text are defused there), and what it writes is marked GENERATED in the script, assessed for
interactive commands, linted and dry-run like everything else. One model serves all
worker threads behind a lock: local runtimes are not re-entrant.
"""

from __future__ import annotations

import re
import threading

from opsgen.errors import GenerationError
from opsgen.generator.extract import extract_script
from opsgen.generator.llm import LLMClient
from opsgen.generator.prompts import generation_messages
from opsgen.runbook.convert import Generator
from opsgen.runbook.models import Step

__all__ = ["model_generator"]

_BOILERPLATE = re.compile(r"^(#!.*|set -[euxo]+( pipefail)?|set -o pipefail)\s*$")


def model_generator(llm: LLMClient, *, max_tokens: int = 384) -> Generator:
    """A :data:`~opsgen.runbook.convert.Generator` backed by ``llm``."""
    lock = threading.Lock()

    def generate(step: Step) -> str | None:
        request = (
            f"One step of an operations runbook, under the heading '{step.heading}': "
            f"{step.text}\nWrite only the shell commands for this one step."
        )
        with lock:
            try:
                answer = llm.complete(generation_messages(request, "bash"), max_tokens=max_tokens)
                extracted = extract_script(answer.text, "bash")
            except GenerationError:
                return None
        if not extracted.fenced:
            return None  # prose back ("I cannot..."): not a script, the step stays manual
        lines = [line for line in extracted.script.splitlines()
                 if not _BOILERPLATE.match(line.strip())]  # fmt: skip
        body = "\n".join(lines).strip()
        return body or None

    return generate
