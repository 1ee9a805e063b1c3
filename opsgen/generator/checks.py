"""The real check stages for the repair loop: the validators and the Docker sandbox.

Imported inside functions so the generator package loads (and its unit tests run) without
Docker or the linters' start-up cost; the loop itself only sees two callables.
"""

from __future__ import annotations

from dataclasses import replace

from opsgen.generator.loop import DryRunFn
from opsgen.generator.problems import LintLike
from opsgen.sandbox.models import DryRunReport

__all__ = ["lint_script", "make_dryrun"]


def lint_script(script: str, lang: str) -> LintLike:
    """Lint ``script`` with every validator for ``lang`` (shellcheck/ansible-lint + OPS rules)."""
    from opsgen.validators import lint_text  # type: ignore[attr-defined, unused-ignore]

    path = "script.sh" if lang == "bash" else "playbook.yml"
    report: LintLike = lint_text(script, lang=lang, path=path)
    return report


def make_dryrun(image: str | None = None, timeout: float | None = None) -> DryRunFn:
    """A dry-run stage: run the script twice in a fresh sandbox container (idempotence)."""
    from opsgen.sandbox import DryRunOptions, dryrun

    options = DryRunOptions(twice=True, network="none")
    if image:
        options = replace(options, image=image)
    if timeout:
        options = replace(options, timeout=timeout)

    def run(script: str, lang: str) -> DryRunReport:
        return dryrun(script, lang, options)

    return run
