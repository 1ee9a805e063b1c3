"""apt's "Unable to locate package": which of three causes, said as a finding (OPS414).

The same message means different things: in a dry-run with no package path
(``--network none``) apt has no lists, so every package is "unknown" and the name may well be
right; where a package path exists, the name is either not in Debian (``apt-cache policy``
after ``apt-get update`` shows no candidate) or the script did not update the lists first.
The repair loop's hint (``flow/hints.py``) keys on these words, so a model is not told to
rename a package that exists (issue 13).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from opsgen.findings import Finding
from opsgen.redact import quote
from opsgen.sandbox.models import DryRunReport
from opsgen.sandbox.outcomes import outcome_finding

__all__ = ["NAME", "installs_packages", "missing_packages", "package_findings"]

#: A Debian package name (Policy §5.6.1), lower case; anything else apt printed is not one.
NAME = re.compile(r"[a-z0-9][a-z0-9+.-]{0,99}")
_MISSING = re.compile(
    r"Unable to locate package ([^\s]+)|Package '?([^'\s]+)'? has no installation candidate"
)
_KEPT = 5
#: apt's front ends as commands of a shell script (a word of their own, not ``apt.conf``).
_SHELL_APT = re.compile(r"(?<![\w.-])(?:apt-get|apt|aptitude)(?![\w./-])")
#: Ansible's package modules as task keys (``apt:``, ``ansible.builtin.package:``...).
_ANSIBLE_APT = re.compile(
    r"^\s*-?\s*(?:ansible\.builtin\.|ansible\.legacy\.)?(?:apt|package)\s*:", re.M
)


def installs_packages(text: str, lang: str) -> bool:
    """Whether ``text`` may install Debian packages: the choice of ``--network auto``.

    Deliberately broad (any apt front end named as a command, any package-module task, in
    a playbook also a ``shell``/``command`` line that names one): a false "yes" costs a
    run on the internal network (about 0.15 s), a false "no" a dry-run in which the
    package cannot be installed.
    """
    if lang == "ansible" and _ANSIBLE_APT.search(text):
        return True
    return bool(_SHELL_APT.search(text))


def missing_packages(stderr: str) -> tuple[str, ...]:
    """The package names apt said it could not find, in order, each once (at most 5)."""
    names: list[str] = []
    for match in _MISSING.finditer(stderr):
        name = match.group(1) or match.group(2) or ""
        if NAME.fullmatch(name) and name not in names:
            names.append(name)
    return tuple(names[:_KEPT])


def package_findings(
    report: DryRunReport, probe: Mapping[str, bool] | None = None
) -> list[Finding]:
    """OPS414 for each failed run in which apt found no package, saying why.

    Args:
        report: the dry-run's report (its runs and network).
        probe: name -> whether ``apt-cache policy`` showed a candidate after
            ``apt-get update`` through the package path; None where nothing was probed.
    """
    findings: list[Finding] = []
    for i, run in enumerate(report.runs, 1):
        names = missing_packages(run.stderr) if run.status == "failed" else ()
        if not names:
            continue
        label = "first run" if i == 1 else "second run"
        shown = ", ".join(quote(n, 60) for n in names)
        if report.network == "none":
            message = (
                f"{label}: apt found no package {shown}: this dry-run has no package path "
                "(--network none), so no package can be installed and whether the name is "
                "in Debian is not known here"
            )
        elif probe is not None and all(n in probe for n in names):
            absent = [n for n in names if not probe[n]]
            present = [n for n in names if probe[n]]
            parts = []
            if absent:
                parts.append(
                    f"{', '.join(quote(n, 60) for n in absent)} is not in Debian: "
                    "`apt-cache policy` after `apt-get update` shows no candidate"
                )
            if present:
                parts.append(
                    f"{', '.join(quote(n, 60) for n in present)} is in Debian "
                    "(`apt-cache policy` shows a candidate): the script did not run "
                    "`apt-get update` before installing"
                )
            message = f"{label}: apt found no package: " + "; ".join(parts)
        else:
            message = (
                f"{label}: apt found no package {shown} in its lists: run `apt-get update` "
                "first; a name still not found then is not a Debian package"
            )
        findings.append(outcome_finding("OPS414", message))
    return findings
