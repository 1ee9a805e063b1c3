"""OPS001 to OPS005: suppressions, syntax, and the linters themselves.

These codes say whether the file could be checked at all. A script bash cannot parse or
YAML that does not load is an error before any policy question arises, and a linter that
could not run is reported rather than silently skipped.
"""

from __future__ import annotations

from collections.abc import Iterator

from opsgen.findings import Finding, Severity
from opsgen.validators.adapters.ansible import is_missing_file, syntax_errors, unknown_modules
from opsgen.validators.adapters.bash import bash_syntax_errors
from opsgen.validators.ansible.tasks import PLAY
from opsgen.validators.artifact import Artifact
from opsgen.validators.rule import Example, Rule

__all__ = ["AnsibleSyntax", "BadSuppression", "BashSyntax", "LinterUnavailable", "YamlSyntax"]



class BadSuppression(Rule):
    """Name the codes and give a reason in every suppression."""

    code = "OPS001"
    name = "bad-suppression"
    severity = Severity.WARNING
    summary = "Name the codes and give a reason in every suppression."
    hint = 'Write: # opsgen: disable=OPS103 reason="why this is safe here"'
    rationale = (
        "A suppression is a decision someone must be able to review. Without a reason, or "
        "with an unknown code or 'all', it hides findings nobody can judge, so it is ignored "
        "(the findings stay active) and reported."
    )
    tags = ("meta",)
    applies = "every file (its comments)"
    examples_bad = (
        "chmod 777 /srv/x  # opsgen: disable=OPS103",
        "# opsgen: disable=all reason=trust me\nchmod 777 /srv/x",
        "# opsgen: disable=OPS999 reason=typo\nls",
        Example(PLAY + "    - name: x  # opsgen: disable=OPS201\n      shell: apt-get -y "
                "install nginx\n", "ansible"),
    )
    examples_good = (
        'chmod 777 /srv/x  # opsgen: disable=OPS103 reason="scratch dir, removed at the end"',
        "# opsgen: disable=SC2086,OPS107 reason=checked above\nrm -rf $D/x",
        "ls  # a normal comment",
    )

    def check(self, art: Artifact) -> Iterator[Finding]:
        for p in art.directives[1]:
            yield self.finding(art, p.line, p.col, p.message)


class BashSyntax(Rule):
    """Scripts must parse: ``bash -n`` reports no syntax error."""

    code = "OPS002"
    name = "bash-syntax"
    severity = Severity.ERROR
    summary = "The script does not parse (bash -n)."
    hint = "Fix the syntax error; generated scripts are often cut off mid-line or mid-block."
    rationale = (
        "A script with a syntax error runs the lines before the error and then stops, leaving "
        "the host half changed. `bash -n` parses without running anything."
    )
    tags = ("syntax",)
    langs = ("bash",)
    examples_bad = ("if true; then\n  echo hi\n", "echo 'unterminated", "cat <<EOF\nbody\n",
                    "for x in a b; do echo $x; dne")
    examples_good = ("if true; then echo hi; fi", "cat <<EOF\nbody\nEOF")

    def check(self, art: Artifact) -> Iterator[Finding]:
        if art.lang == "bash":
            for line, message in bash_syntax_errors(art):
                yield self.finding(art, line, 0, f"bash -n: {message}")


class YamlSyntax(Rule):
    """Playbooks must be valid YAML holding a list of plays or tasks."""

    code = "OPS003"
    name = "yaml-syntax"
    severity = Severity.ERROR
    summary = "The playbook is not valid YAML (or not a list of plays or tasks)."
    hint = "Fix the YAML at the position shown; check indentation and quoting."
    rationale = (
        "Ansible cannot load the file at all, so no other check of its content is possible; "
        "the syntax check and ansible-lint are skipped for it."
    )
    tags = ("syntax",)
    langs = ("ansible",)
    examples_bad = (
        Example("- hosts: all\n  tasks:\n    - name: a\n      shell: echo [1, 2\n   bad: x\n"),
        Example("hosts: all\ntasks: []\n"),
        Example("- name: x\n  debug: msg='a'\n - name: y\n"),
    )
    examples_good = (Example(PLAY + "    - ansible.builtin.debug:\n        msg: hi\n"),)

    def check(self, art: Artifact) -> Iterator[Finding]:
        if art.lang != "ansible":
            return
        err = art.yaml_error
        if err is not None:
            yield self.finding(art, err.line, err.column, f"YAML: {err}")
        elif art.yaml_docs and not art.loadable:
            yield self.finding(art, 1, 1, "Ansible content must be a list of plays or tasks.")


class AnsibleSyntax(Rule):
    """Playbooks must pass ``ansible-playbook --syntax-check``."""

    code = "OPS004"
    name = "ansible-syntax"
    severity = Severity.ERROR
    summary = "ansible-playbook --syntax-check rejects the playbook."
    hint = "Fix the error at the position shown (unknown keyword, bad module arguments, ...)."
    rationale = (
        "The syntax check loads the playbook exactly as a real run would, without contacting "
        "any host: unknown keywords, conflicting actions and malformed blocks fail here "
        "instead of halfway through a rollout. Unknown modules are reported as OPS204; roles "
        "and imported files that are not part of the lint input are reported as OPS005."
    )
    tags = ("syntax",)
    langs = ("ansible",)
    examples_bad = (
        Example(PLAY + "    - name: two actions\n      ansible.builtin.debug: msg=a\n"
                "      ansible.builtin.ping:\n"),
        Example(PLAY + "    - name: bad keyword\n      ansible.builtin.debug: msg=a\n"
                "      colour: red\n"),
    )
    examples_good = (Example(PLAY + "    - name: ok\n      ansible.builtin.debug:\n"
                             "        msg: hi\n"),)

    def check(self, art: Artifact) -> Iterator[Finding]:
        if art.lang != "ansible" or not art.loadable:
            return
        unknown = unknown_modules(art)
        for line, col, message in syntax_errors(art):
            if any(f"'{m}'" in message for m in unknown):
                continue  # the same fault, reported with every unknown module by OPS204
            if is_missing_file(message):  # a role or file we were not given: not an error
                yield LinterUnavailable().finding(art, line, col, "The syntax check stopped at a "
                                                  f"file outside the lint input ({message}); "
                                                  "later content was not syntax-checked.")
                continue
            yield self.finding(art, line, col, f"syntax check: {message}")


class LinterUnavailable(Rule):
    """Report a linter that could not run instead of skipping it silently."""

    code = "OPS005"
    name = "linter-unavailable"
    severity = Severity.WARNING
    summary = "A linter could not run, so its checks are missing from this report."
    hint = ("Reinstall the tool (scripts/setup.sh) or, for a role or file that was not linted, "
            "review that part separately: this report is incomplete.")
    rationale = (
        "A clean report must mean 'checked and clean', never 'not checked'. When shellcheck, "
        "ansible-playbook or ansible-lint is missing, times out or crashes, or the syntax "
        "check stops at a role or imported file that was not part of the lint input, this "
        "finding says which checks are absent."
    )
    tags = ("meta",)
    applies = "every lint run (the wrapped tools' exit status)"
    # Produced by the lint driver from the tools' run records, not from file content, so it
    # has no text examples; tests/validators/test_api.py removes a tool to check it.
