"""opsgen.validators: lint bash scripts and Ansible playbooks before anyone runs them.

Three layers of checks, all returning :class:`opsgen.findings.Finding` values:

* the languages' own parsers: ``bash -n``, YAML, ``ansible-playbook --syntax-check``, and
  module-name resolution (OPS0xx, OPS204);
* the standard linters, whose findings keep their own codes: shellcheck (``SC2086``) and
  ansible-lint in its production profile (``no-changed-when``);
* opsgen's policy rules: remote code execution, destructive commands, persistence, weakened
  defences (OPS1xx, OPS2xx), secrets via detect-secrets (OPS3xx, always redacted), and
  provenance (OPS5xx).

Typical use::

    from opsgen.validators import lint_text
    report = lint_text(script)            # language detected
    if not report.ok:
        for f in report.errors: ...

Nothing is ever executed; the wrapped tools run as parsers in a temporary directory.
"""

from __future__ import annotations

from opsgen.validators.api import lint_file, lint_text
from opsgen.validators.artifact import Artifact, Lang, Provenance
from opsgen.validators.detect import detect_lang
from opsgen.validators.report import LintReport
from opsgen.validators.rule import Example, Rule
from opsgen.validators.rules import RULES, get_rule
from opsgen.validators.tools import ToolRun

__all__ = [
    "RULES",
    "Artifact",
    "Example",
    "Lang",
    "LintReport",
    "Provenance",
    "Rule",
    "ToolRun",
    "detect_lang",
    "get_rule",
    "lint_file",
    "lint_text",
]
