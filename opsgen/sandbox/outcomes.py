"""The OPS4xx catalogue: dry-run outcomes reported as findings.

Like shellcheck's codes, these numbers are permanent. They are data here (the sandbox
produces them) and are listed by ``opsgen rules`` beside the lint rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from opsgen.findings import Finding, Location, Severity

__all__ = ["OUTCOMES", "Outcome", "outcome_finding"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """Metadata of one dry-run outcome code."""

    code: str
    name: str
    severity: Severity
    summary: str
    hint: str


OUTCOMES: tuple[Outcome, ...] = (
    Outcome(
        "OPS401",
        "dryrun-timeout",
        Severity.ERROR,
        "The script ran past the dry-run deadline and was killed.",
        "Look for loops or commands that wait for input or the network; raise --timeout "
        "only if the work is really that long.",
    ),
    Outcome(
        "OPS402",
        "dryrun-oom",
        Severity.ERROR,
        "The script exceeded the sandbox memory limit and was killed.",
        "Stream data instead of loading it whole; check for runaway processes.",
    ),
    Outcome(
        "OPS403",
        "dryrun-output-flood",
        Severity.ERROR,
        "The script's output passed the cap and the run was stopped.",
        "Quiet noisy commands (-q), or send bulk output to a file.",
    ),
    Outcome(
        "OPS404",
        "not-idempotent",
        Severity.WARNING,
        "A second run of the script changed the system again.",
        "Guard each change (test before you append, create or restart) so a re-run is a no-op.",
    ),
    Outcome(
        "OPS405",
        "dryrun-disk-quota",
        Severity.ERROR,
        "The script wrote more than the sandbox disk quota allows.",
        "Check for files that grow without bound; clean up temporary files.",
    ),
    Outcome(
        "OPS406",
        "sandbox-crashed",
        Severity.ERROR,
        "The sandbox died without a result (runtime failure).",
        "Re-run; if it persists, check the Docker engine and runtime logs.",
    ),
    Outcome(
        "OPS407",
        "dryrun-pids-limit",
        Severity.ERROR,
        "The script hit the process limit (fork bomb or runaway forking) and was killed.",
        "Do not start processes in unbounded loops.",
    ),
    Outcome(
        "OPS408",
        "dryrun-failed",
        Severity.ERROR,
        "The script exited with a non-zero status in the dry-run.",
        "Read the stderr tail in the report; the sandbox has no network but the package "
        "path (--network packages), and no systemd: a stand-in runs services from their "
        "unit files.",
    ),
    Outcome(
        "OPS409",
        "dryrun-leftover-processes",
        Severity.WARNING,
        "Processes the script started were still running when it ended and were killed with "
        "the sandbox.",
        "On a real host they would keep running: run the work in the foreground and wait "
        "for it, or start a service through systemctl (which the sandbox runs, and stops "
        "itself before it ends); the list comes from inside the sandbox, so a hostile "
        "script can hide entries.",
    ),
    Outcome(
        "OPS410",
        "dryrun-diff-summarised",
        Severity.WARNING,
        "The run changed more entries than are read in detail; the rest were only counted "
        "per top-level folder.",
        "Review the counts in the report; a script that creates many files is better tested "
        "with a smaller input. Idempotence is not checked when a diff is summarised.",
    ),
    Outcome(
        "OPS411",
        "scenario-check-failed",
        Severity.ERROR,
        "A scenario check does not hold after the script ran: it runs, but does not do "
        "what was asked.",
        "Read the check and its output in the report. Fix the script if the check states "
        "the request; fix the scenario (--expect, --scenario) if the check is wrong.",
    ),
    Outcome(
        "OPS412",
        "scenario-check-vacuous",
        Severity.WARNING,
        "A scenario check already held before the script ran: it proves nothing and is not "
        "counted as passed.",
        "Make the check state what the request changes (the new home directory, not only "
        "that the user exists), or prepare the state the request starts from (--given).",
    ),
    Outcome(
        "OPS413",
        "scenario-prepare-failed",
        Severity.ERROR,
        "The scenario's prepare script failed, so the script was not run (the scenario's "
        "fault, not the script's).",
        "Read prepare's stderr in the report and fix the prepare script (--given, "
        "--scenario); it runs as root in the same sandbox, with no network.",
    ),
    Outcome(
        "OPS414",
        "apt-package-not-found",
        Severity.ERROR,
        "apt found no package of the name the script installs.",
        "The message says why: no package path in this dry-run (--network none: the name "
        "may be right), a name Debian does not have, or lists not updated first.",
    ),
    Outcome(
        "OPS415",
        "service-failed-to-start",
        Severity.ERROR,
        "A service the script starts (systemctl, service, Ansible's service/systemd) has a "
        "unit file in the sandbox, and its process failed to start there.",
        "Read what the service said (its config test, e.g. `nginx -t`, runs as on a host); "
        "fix the configuration the script writes, or test it before the restart.",
    ),
)

_BY_CODE = {o.code: o for o in OUTCOMES}


def outcome_finding(code: str, message: str | None = None, *, path: str = "<dry-run>") -> Finding:
    """Build the finding for an outcome code, with its catalogue severity and hint."""
    o = _BY_CODE[code]
    return Finding(
        code=o.code,
        severity=o.severity,
        message=message or o.summary,
        location=Location(path),
        source="sandbox",
        hint=o.hint,
    )
