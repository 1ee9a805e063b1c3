"""A scenario's phases in the dry-run container: what the bundle carries, what checks left.

The same container is started once per phase (prepare → checks before → run(s) → checks
after), each start watched by :func:`opsgen.sandbox.execute.execute` like a run (deadline,
output cap, disk quota, process limit). The container's command cannot change between
starts, so before each one the host copies the bundle in again with the phase to run in
``/.opsgen/phase`` (the runner shim reads it). A fresh copy also restores the runner and the
check list, should the script have changed them: a script is root in its container, but
what it left in ``/.opsgen`` does not decide what the next phase runs.

The checks write their exit status and their output (capped) into ``/var/lib/opsgen``, read
back from outside after the container stopped, like the shims' other records.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from opsgen.errors import InputError
from opsgen.sandbox.models import CheckResult, RunResult
from opsgen.sandbox.policy import SandboxPolicy
from opsgen.scenario import MAX_CHECK_BYTES, MAX_CHECKS, MAX_PREPARE_BYTES, Scenario

__all__ = [
    "CHECK_OUTPUT_BYTES",
    "CHECK_TIMEOUT_S",
    "FLOOD_BYTES",
    "STDOUT_PATH",
    "Phase",
    "check_input",
    "check_results",
    "checks_policy",
    "first_phase",
    "phase_files",
    "statuses",
]

Phase = Literal["prepare", "checks-before", "script", "checks-after"]
#: What one check may take and print (the runner shim enforces both: ``timeout -k 2 10``,
#: ``head -c``); a phase of checks gets their sum, bounded by the run's own deadline.
CHECK_TIMEOUT_S = 10.0
CHECK_OUTPUT_BYTES = 2048
#: What a check may write before it is stopped (``ulimit -f`` in the runner, status 153).
FLOOD_BYTES = 1 << 20
#: Where a check finds the first run's stdout (``$OPSGEN_STDOUT``).
STDOUT_PATH = "/var/lib/opsgen/stdout.1"
_CHECK_SLACK_S = 3.0  # timeout's kill grace and bash start-up, per check
_PHASE_SLACK_S = 10.0


def check_input(scenario: Scenario) -> None:
    """Refuse a scenario the runner cannot carry (the limits of :func:`parse_scenario`,
    for one built in code or read back from a store)."""
    if "\x00" in scenario.prepare or len(scenario.prepare.encode()) > MAX_PREPARE_BYTES:
        raise InputError("scenario 'prepare' must be a script of at most 64 KB, no NUL bytes",
                         reference="bad-scenario")
    if len(scenario.checks) > MAX_CHECKS:
        raise InputError(f"a scenario has at most {MAX_CHECKS} checks", reference="bad-scenario")
    for check in scenario.checks:
        if not check.run.strip() or "\x00" in check.run or "\n" in check.run or (
            len(check.run.encode()) > MAX_CHECK_BYTES
        ):
            raise InputError(f"scenario check {check.name!r}: one line of at most "
                             f"{MAX_CHECK_BYTES} bytes", reference="bad-scenario")


def first_phase(scenario: Scenario) -> Phase:
    """The phase the container's first start runs."""
    if scenario.prepare.strip():
        return "prepare"
    return "checks-before" if scenario.checks else "script"


def phase_files(scenario: Scenario, phase: Phase, stdout: str = "") -> dict[str, bytes]:
    """The bundle's scenario files for a start that runs ``phase`` (``stdout``: run 1's)."""
    files = {
        "phase": f"{phase}\n".encode(),
        "prepare": scenario.prepare.encode(),
        "checks": b"".join(c.run.encode() + b"\x00" for c in scenario.checks),
    }
    if phase == "checks-after":
        files["stdout.1"] = stdout.encode()
    return files


def checks_policy(policy: SandboxPolicy, count: int) -> SandboxPolicy:
    """``policy`` with a deadline that fits ``count`` checks (never past the run's own)."""
    budget = count * (CHECK_TIMEOUT_S + _CHECK_SLACK_S) + _PHASE_SLACK_S
    return replace(policy, timeout_s=min(policy.timeout_s, budget))


def statuses(
    records: dict[str, bytes], when: str, count: int, phase: RunResult
) -> list[tuple[int | None, str]]:
    """(exit status, output) of each check of one phase, from the runner's records.

    A check with no status did not run to an end: its phase was stopped (the output then
    says why) or could not start.
    """
    out: list[tuple[int | None, str]] = []
    for i in range(1, count + 1):
        raw = records.get(f"check.{when}.{i}.rc")
        text = records.get(f"check.{when}.{i}.out", b"").decode("utf-8", "replace")
        if len(text.encode()) > CHECK_OUTPUT_BYTES:
            text = text.encode()[:CHECK_OUTPUT_BYTES].decode("utf-8", "ignore") + "…"
        code: int | None
        try:
            code = int(raw.decode().strip()) if raw is not None else None
        except ValueError:
            code = None
        if f"check.{when}.{i}.flood" in records:
            text += f"\n(opsgen: the check wrote more than {FLOOD_BYTES >> 20} MiB and was stopped)"
        if code is None:
            why = phase.stop_reason or f"exit {phase.exit_code}"
            text = f"(the checks stopped before this one finished: {why})"
        out.append((code, text))
    return out


def check_results(
    scenario: Scenario,
    before: list[tuple[int | None, str]] | None = None,
    after: list[tuple[int | None, str]] | None = None,
) -> tuple[CheckResult, ...]:
    """One :class:`CheckResult` per check; None statuses where a phase did not run."""
    results: list[CheckResult] = []
    for i, check in enumerate(scenario.checks):
        b = before[i][0] if before else None
        a, output = after[i] if after else (None, "")
        results.append(CheckResult(check.name, check.run, check.source, b, a, output))
    return tuple(results)

