"""The real check stages for the repair loop: the validators and the Docker sandbox.

Imported inside functions so the generator package loads (and its unit tests run) without
Docker or the linters' start-up cost; the loop itself only sees two callables.
"""

from __future__ import annotations

from dataclasses import replace

from opsgen.generator.loop import DryRunFn, LintFn
from opsgen.generator.problems import LintLike
from opsgen.sandbox.models import DryRunReport

__all__ = ["make_dryrun", "make_lint"]


def make_lint(request: str = "") -> LintFn:
    """A lint stage with every validator for the language (shellcheck or ansible-lint plus
    the OPS rules), given the request so the provenance rules (OPS5xx) can check that the
    script only reaches for what the operator asked for."""
    from opsgen.sandbox.toolbox import ContainerTools
    from opsgen.validators import Provenance, lint_text

    provenance = Provenance(request=request) if request else None
    tools = ContainerTools()  # the Ansible tools run in a container, never on this host

    def lint(script: str, lang: str) -> LintLike:
        path = "script.sh" if lang == "bash" else "playbook.yml"
        report: LintLike = lint_text(script, lang, path, provenance=provenance,  # type: ignore[arg-type]
                                     sandbox=tools)
        return report

    return lint


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
