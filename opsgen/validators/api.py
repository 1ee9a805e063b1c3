"""``lint_text`` and ``lint_file``: run every check on one script or playbook.

The external tools are started first, each in the background, so that shellcheck (or
ansible-playbook and ansible-lint) parse while the Python rules run. Nothing is executed:
shellcheck and ``bash -n`` only parse, inside a private temporary directory; the Ansible
tools, whose loading can evaluate Jinja, run only in the ``sandbox`` the caller passes
(:mod:`opsgen.validators.isolation`), and without one they do not run at all (OPS005).
A tool that already answered for the same input (and the same tool version) is answered
from the result cache (:mod:`opsgen.validators.cache`); its run then says
``detail="cached"``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from opsgen.findings import Finding, sort_findings
from opsgen.inputs import DEFAULT_MAX_BYTES, read_text_file
from opsgen.redact import redact
from opsgen.validators.adapters.ansible import module_docs_job, probe_job, syntax_check_job
from opsgen.validators.adapters.ansible_lint import ansible_lint_findings, ansible_lint_job
from opsgen.validators.adapters.bash import bash_syntax_job
from opsgen.validators.adapters.shellcheck import shellcheck_findings, shellcheck_job
from opsgen.validators.artifact import Artifact, Lang, Provenance
from opsgen.validators.cache import default_cache
from opsgen.validators.detect import detect_lang
from opsgen.validators.isolation import ToolSandbox
from opsgen.validators.report import LintReport
from opsgen.validators.rules import RULES
from opsgen.validators.rules.meta import LinterUnavailable
from opsgen.validators.suppress import apply_suppressions

__all__ = ["lint_file", "lint_text"]

_RULES = [cls() for cls in RULES]
_UNAVAILABLE = LinterUnavailable()
_REDACTED = "***REDACTED***"


def lint_text(
    text: str,
    lang: Lang | None = None,
    path: str = "<script>",
    *,
    ansible_lint: bool = True,
    provenance: Provenance | None = None,
    cache: bool = True,
    sandbox: ToolSandbox | None = None,
    part: str = "",
) -> LintReport:
    """Lint ``text`` as bash or Ansible and return the sorted findings.

    Args:
        text: the script or playbook.
        lang: ``"bash"`` or ``"ansible"``; detected from ``text`` and ``path`` when None.
        path: the name findings refer to.
        ansible_lint: also run ansible-lint (slow: seconds, not milliseconds).
        provenance: the request and source texts, to enable the OPS5xx rules.
        cache: reuse the external tools' results for identical input (``OPSGEN_NO_CACHE=1``
            turns the cache off everywhere); opsgen's own rules always run.
        sandbox: where the Ansible tools run (e.g. :class:`opsgen.sandbox.toolbox.
            ContainerTools`); None: they are reported as not run (OPS005), never run here.
        part: ``"prepare"`` or ``"check"`` when ``text`` is part of a scenario (see
            :func:`opsgen.validators.scenario.lint_scenario`): the OPS6xx rules then apply.
    """
    lang = lang or detect_lang(text, path)
    if lang not in ("bash", "ansible"):
        raise ValueError(f"lang must be 'bash' or 'ansible', not {lang!r}")
    store = default_cache() if cache else None
    with Artifact(text, lang, path, provenance, cache=store, sandbox=sandbox,
                  part=part) as art:
        _start_tools(art, ansible_lint)
        findings = [f for rule in _RULES if lang in rule.langs for f in rule.check(art)]
        if lang == "bash":
            findings += shellcheck_findings(art)
        elif ansible_lint and art.loadable:
            findings += ansible_lint_findings(art)
        runs = art.tool_runs
        for run in runs:
            if run.status in ("missing", "timeout", "failed"):
                findings.append(_UNAVAILABLE.finding(
                    art, 0, 0, f"{run.name} could not run ({run.status}"
                    f"{': ' + run.detail if run.detail else ''}); its checks are missing.",
                    tool=run.name))
        findings = apply_suppressions(findings, art.directives[0])
        secrets = {s for hit in art.secrets for s in (hit.value, hit.token) if len(s) >= 4}
        findings = [_scrub(f, secrets) for f in findings]
        return LintReport(path, lang, tuple(sort_findings(findings)), tuple(runs))


def lint_file(
    path: str | Path,
    lang: Lang | None = None,
    *,
    ansible_lint: bool = True,
    max_bytes: int = DEFAULT_MAX_BYTES,
    cache: bool = True,
    sandbox: ToolSandbox | None = None,
) -> LintReport:
    """Read ``path`` (refusing binary, non-UTF-8, empty or oversized files) and lint it.

    The keyword arguments are :func:`lint_text`'s.

    Raises:
        opsgen.errors.InputError: the file cannot be used; the message says why.
    """
    text = read_text_file(path, max_bytes=max_bytes)
    return lint_text(text, lang, str(path), ansible_lint=ansible_lint, cache=cache,
                     sandbox=sandbox)


def _start_tools(art: Artifact, ansible_lint: bool) -> None:
    if art.lang == "bash":
        art.job(shellcheck_job)
        art.job(bash_syntax_job)
    elif art.loadable:
        art.job(syntax_check_job)
        if art.tasks:
            art.job(probe_job)
            art.job(module_docs_job)
        if ansible_lint:
            art.job(ansible_lint_job)
        art.launch_contained()  # one sandbox run for all of them


def _scrub(finding: Finding, secrets: set[str]) -> Finding:
    """Remove secret values from every text field of a finding (JSON and SARIF included)."""

    def clean(text: str) -> str:
        for s in sorted(secrets, key=len, reverse=True):
            text = text.replace(s, _REDACTED)
        return redact(text)

    extra = {k: clean(v) if isinstance(v, str) else v for k, v in finding.extra.items()}
    return dataclasses.replace(
        finding, message=clean(finding.message), hint=clean(finding.hint), extra=extra,
        suppression_reason=clean(finding.suppression_reason),
    )
