"""The rule model: a small class with metadata, examples and one ``check``.

As in shellcheck's catalogue and ansible-lint's rules, a rule carries everything needed to
document and test it: a permanent code, a kebab-case name, a severity, a one-sentence summary
(the default message), a fix hint, a rationale, and bad and good examples that one
table-driven test runs. Shell rules implement :meth:`Rule.check_shell` and see the whole
script, or each ``shell``/``command`` task of a playbook; Ansible rules implement
:meth:`Rule.check_task`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from opsgen.findings import Finding, Location, Severity
from opsgen.validators.ansible.tasks import Task
from opsgen.validators.artifact import Artifact, Lang, Provenance
from opsgen.validators.shell.calls import Call
from opsgen.validators.shell.index import ShellIndex
from opsgen.validators.shell.model import Word

__all__ = ["DOCS_DIR", "Example", "Rule"]

#: where each code's page lives, relative to the repository root
DOCS_DIR = "docs/rules"


@dataclass(frozen=True, slots=True)
class Example:
    """A code sample for a rule's docs and tests (a plain string means the rule's language)."""

    text: str
    lang: Lang | None = None
    provenance: Provenance | None = None
    #: ``"prepare"`` or ``"check"``: the text is that part of a scenario, not a script
    part: str = ""


class Rule:
    """Base class of every built-in rule; subclasses set the metadata and one check hook."""

    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity]
    summary: ClassVar[str]
    hint: ClassVar[str]
    rationale: ClassVar[str]
    exceptions: ClassVar[str] = ""
    applies: ClassVar[str] = ""  # what the rule reads, when langs alone would mislead the docs
    tags: ClassVar[tuple[str, ...]] = ()
    langs: ClassVar[tuple[Lang, ...]] = ("bash", "ansible")
    source: ClassVar[str] = "ops"
    examples_bad: ClassVar[tuple[str | Example, ...]] = ()
    examples_good: ClassVar[tuple[str | Example, ...]] = ()
    #: the scenario part a plain-string example is (``"check"`` for the OPS6xx rules, which
    #: read only scenario text); ``""``: a script
    example_part: ClassVar[str] = ""

    def check(self, art: Artifact) -> Iterator[Finding]:
        """All findings of this rule in ``art``."""
        for index, _task in art.shells:
            yield from self.check_shell(index, art)
        for task in art.tasks:
            yield from self.check_task(task, art)

    def check_shell(self, sh: ShellIndex, art: Artifact) -> Iterator[Finding]:
        """Findings in one piece of shell code (a script, or a task's command)."""
        return iter(())

    def check_task(self, task: Task, art: Artifact) -> Iterator[Finding]:
        """Findings in one Ansible task."""
        return iter(())

    # -- helpers -----------------------------------------------------------------------
    @classmethod
    def url(cls) -> str:
        """The rule's documentation page."""
        return f"{DOCS_DIR}/{cls.code}.md"

    @classmethod
    def examples(cls, bad: bool) -> list[Example]:
        """The bad (or good) examples with their language filled in."""
        raw = cls.examples_bad if bad else cls.examples_good
        return [
            Example(e, cls.langs[0], part=cls.example_part) if isinstance(e, str) else
            Example(e.text, e.lang or cls.langs[0], e.provenance, e.part)
            for e in raw
        ]

    def finding(self, art: Artifact, line: int, col: int = 0, message: str | None = None,
                **extra: Any) -> Finding:
        """A finding of this rule at ``line``:``col`` of the artifact."""
        return Finding(
            code=self.code,
            severity=self.severity,
            message=message or self.summary,
            location=Location(art.path, max(line, 0), max(col, 0)),
            source=self.source,
            hint=self.hint,
            url=self.url(),
            extra=extra,
        )

    def at(self, art: Artifact, node: Call | Word | Task, message: str | None = None,
           **extra: Any) -> Finding:
        """A finding positioned at a call, a word or a task."""
        if isinstance(node, Task):
            mark = node.module_mark()
            return self.finding(art, mark.line, mark.col, message, **extra)
        return self.finding(art, node.line, node.col, message, **extra)
