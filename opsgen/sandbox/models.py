"""Values the sandbox produces: what a dry-run observed, as plain frozen dataclasses.

Outcomes are values, not exceptions (style.md §8): a script that times out, is OOM-killed
or floods its output comes back as a :class:`RunResult` with ``status="killed"`` and a
``stop_reason``; :mod:`opsgen.errors` is only for "the sandbox could not run it at all".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from opsgen.findings import Finding, Severity
from opsgen.lang import Lang

__all__ = [
    "AccountChange",
    "CheckResult",
    "CronChange",
    "DryRunReport",
    "FileChange",
    "FileMeta",
    "PackageChange",
    "RunResult",
    "ServiceIntent",
    "StopReason",
    "SystemDiff",
]

FileType = Literal["file", "dir", "symlink", "hardlink", "fifo", "device", "other"]
ChangeKind = Literal["added", "modified", "deleted"]
StopReason = Literal["timeout", "oom", "pids", "disk", "output", "sandbox-crashed"]
RunStatus = Literal["passed", "failed", "killed"]


@dataclass(frozen=True, slots=True)
class FileMeta:
    """A file's identity as read from the container's tar stream (never from the host)."""

    ftype: FileType
    mode: int
    uid: int
    gid: int
    size: int = 0
    sha256: str = ""
    link_target: str = ""
    #: Compared with dpkg's md5sums only (never for identity); empty in old reports.
    md5: str = ""

    def same_content(self, other: FileMeta) -> bool:
        """Equal for idempotence: type, mode, owner, content and link; mtime ignored."""
        return (self.ftype, self.mode, self.uid, self.gid, self.sha256, self.link_target) == (
            other.ftype,
            other.mode,
            other.uid,
            other.gid,
            other.sha256,
            other.link_target,
        )


@dataclass(frozen=True, slots=True)
class FileChange:
    """One path the script added, modified or deleted."""

    path: str
    change: ChangeKind
    before: FileMeta | None = None
    after: FileMeta | None = None
    diff: str = ""  # unified diff for text files, "" otherwise
    binary: bool = False
    notes: tuple[str, ...] = ()  # e.g. "mode 0644 -> 0755", "owner 0:0 -> 1000:1000"
    #: The package installed, upgraded or removed by this run that ships this path, from
    #: dpkg's lists (:mod:`opsgen.sandbox.dpkgfiles`); "" for any other path.
    owner_package: str = ""
    #: As that package shipped it (not changed by the script afterwards): the default view
    #: counts it under its package instead of listing it; ``--full`` and JSON list it.
    packaged: bool = False


@dataclass(frozen=True, slots=True)
class AccountChange:
    """A user or group added, removed or changed (from /etc/passwd and /etc/group)."""

    kind: Literal["user", "group"]
    name: str
    change: Literal["added", "removed", "changed"]
    details: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PackageChange:
    """A Debian package installed, removed or changed version (from dpkg's status file)."""

    name: str
    change: Literal["installed", "removed", "upgraded"]
    before: str = ""
    after: str = ""
    #: Changed paths of this diff that are this package's, as it shipped them.
    files: int = 0
    #: Its conffiles (dpkg's ``Conffiles:``): configuration a later upgrade keeps.
    conffiles: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # A report read back from JSON has lists here; keep equality with the original.
        object.__setattr__(self, "conffiles", tuple(self.conffiles))


@dataclass(frozen=True, slots=True)
class CronChange:
    """Cron lines added or removed in one crontab file."""

    path: str
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ServiceIntent:
    """What a service-manager shim was asked to do ("would enable nginx.service")."""

    tool: str  # systemctl, service, reboot...
    action: str  # enable, start, restart, reboot...
    unit: str = ""
    argv: tuple[str, ...] = ()

    def describe(self) -> str:
        """Human wording for the review: ``would restart ssh.service``."""
        return f"would {self.action} {self.unit}".rstrip()


@dataclass(frozen=True, slots=True)
class SystemDiff:
    """Everything one run changed in the container, grouped the way an operator reads it."""

    files: tuple[FileChange, ...] = ()
    users: tuple[AccountChange, ...] = ()
    groups: tuple[AccountChange, ...] = ()
    packages: tuple[PackageChange, ...] = ()
    cron: tuple[CronChange, ...] = ()
    services: tuple[ServiceIntent, ...] = ()
    #: Changed entries that were counted but not read or listed, because reading every one
    #: would cost the host without bound (a run that made 150k files): ``(top-level folder,
    #: count)``, sorted by folder. A folder ``"…"`` with count 0 says the walk itself stopped
    #: at its bound, so more entries may exist than are counted. Empty when all are listed.
    summarised: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        # A report read back from JSON has lists here; keep equality with the original.
        object.__setattr__(self, "summarised", tuple((str(d), int(n)) for d, n in self.summarised))

    @property
    def empty(self) -> bool:
        """True when the run changed nothing we observe (nothing summarised either)."""
        return not (
            self.files
            or self.users
            or self.groups
            or self.packages
            or self.cron
            or self.services
            or self.summarised
        )

    @property
    def summarised_count(self) -> int:
        """How many changed entries were counted but not listed."""
        return sum(n for _, n in self.summarised)

    def paths(self) -> list[str]:
        """Changed file paths, for messages such as "not idempotent: /etc/f"."""
        return [f.path for f in self.files]


@dataclass(frozen=True, slots=True)
class RunResult:
    """One execution of the script inside the container."""

    exit_code: int
    status: RunStatus
    duration_s: float
    stdout: str
    stderr: str
    stop_reason: StopReason | None = None
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    limits_hit: tuple[str, ...] = ()
    ansible_tasks: tuple[dict[str, Any], ...] = ()
    #: The container's writable layer when the run ended, as the disk quota counts it; None
    #: when it could not be measured (and inodes: when the engine only gives a byte size).
    disk_bytes: int | None = None
    disk_inodes: int | None = None
    #: How ``disk_bytes`` was counted: ``blocks`` (allocated blocks, or the size when a sparse
    #: file is larger, and inodes, walked on the host in the overlay2 upper directory) or
    #: ``apparent`` (the engine's ``SizeRw``: sizes only, blind to ``fallocate`` and to the
    #: blocks of small files); empty in old reports.
    disk_accounting: str = ""
    #: Processes still running when the script ended (``pid command``), as the run shim
    #: listed them; they were killed with the container. A hostile script can hide them.
    leftover_processes: tuple[str, ...] = ()
    #: Services that did not start (``unit: what it said``), as the systemctl shim recorded
    #: them: the script asked, the unit file is here, and its process failed (OPS415).
    failed_services: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # A report read back from JSON has lists here; keep equality with the original.
        object.__setattr__(self, "limits_hit", tuple(self.limits_hit))
        object.__setattr__(self, "leftover_processes", tuple(self.leftover_processes))
        object.__setattr__(self, "failed_services", tuple(self.failed_services))

    @property
    def ansible_changed(self) -> int:
        """How many Ansible task results reported ``changed``."""
        return sum(1 for t in self.ansible_tasks if t.get("status") == "changed")


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One scenario check, run on the prepared state (``before``) and after the script.

    Exit statuses; None when the check did not run or did not finish (its phase was
    stopped, or prepare failed). A check that already held before the script (``vacuous``)
    proves nothing about a change request, so it is never counted as passed. All text here
    (name, command, output) is untrusted: it came from a model, an operator's file or the
    sandbox.
    """

    name: str
    run: str
    source: str = "operator"
    before: int | None = None
    after: int | None = None
    #: the check's output (stdout and stderr) after the script, at most 2 KB
    output: str = ""

    @property
    def passed(self) -> bool:
        """The postcondition holds after the script."""
        return self.after == 0

    @property
    def vacuous(self) -> bool:
        """It held before the script too: it cannot tell a script that did the work."""
        return self.before == 0

    @property
    def counted_pass(self) -> bool:
        """A pass that counts: it holds after, and did not before."""
        return self.passed and not self.vacuous

    def to_dict(self) -> dict[str, Any]:
        """JSON form, the derived verdicts included for consumers without our code."""
        return {"name": self.name, "run": self.run, "source": self.source,
                "before": self.before, "after": self.after, "output": self.output,
                "passed": self.passed, "vacuous": self.vacuous}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        """Inverse of :meth:`to_dict` (derived keys ignored)."""
        return cls(str(data["name"]), str(data["run"]), str(data.get("source", "operator")),
                   _status(data.get("before")), _status(data.get("after")),
                   str(data.get("output", "")))


def _status(value: Any) -> int | None:
    return None if value is None else int(value)


@dataclass(frozen=True, slots=True)
class DryRunReport:
    """The evidence of a dry-run: what ran, where, and what it changed."""

    lang: Lang
    image: str
    image_id: str
    script_sha256: str
    runs: tuple[RunResult, ...]
    diff: SystemDiff
    second_diff: SystemDiff | None = None
    findings: tuple[Finding, ...] = ()
    network: str = "none"
    policy: dict[str, Any] = field(default_factory=dict)
    engine_warnings: tuple[str, ...] = ()
    dropped: tuple[tuple[str, str], ...] = ()  # (path, why) of entries we refused to read
    #: How the script bundle got into the container: ``upperdir`` (written into its overlay2
    #: upper layer before start) or ``put_archive`` (through the engine); empty in old reports.
    bundle_copy: str = ""
    #: The scenario that ran with the script (``Scenario.to_dict()``), None without one.
    scenario: dict[str, Any] | None = None
    #: The scenario's prepare run; when it did not pass, the script was not run (``runs``
    #: is empty) and the checks carry no statuses.
    prepare: RunResult | None = None
    checks: tuple[CheckResult, ...] = ()

    def __post_init__(self) -> None:
        # A report read back from JSON has lists here; keep equality with the original.
        object.__setattr__(self, "checks", tuple(self.checks))

    @property
    def first(self) -> RunResult:
        """The first run, the one whose diff is :attr:`diff`."""
        return self.runs[0]

    @property
    def idempotent(self) -> bool | None:
        """True when a second run changed nothing, False when it changed something.

        None (unknown) unless there were two runs and both passed: a run that failed or was
        killed stopped early, so "it changed nothing" proves nothing. Also None when either
        diff was summarised, since the entries not read were not compared.
        """
        if self.second_diff is None or len(self.runs) < 2:
            return None
        if any(r.status != "passed" for r in self.runs[:2]):
            return None
        if self.diff.summarised or self.second_diff.summarised:
            return None
        return self.second_diff.empty and (self.runs[1].ansible_changed == 0)

    @property
    def ok(self) -> bool:
        """Every run passed, no unsuppressed error finding, and not shown non-idempotent.

        An error finding (a limit hit, OPS405, even by a run that exited 0) always makes the
        verdict NOT OK: the verdict must never contradict the findings printed above it.
        """
        return (
            all(r.status == "passed" for r in self.runs)
            and self.idempotent is not False
            and not any(f.severity is Severity.ERROR and not f.suppressed for f in self.findings)
        )

    @property
    def checks_passed(self) -> int:
        """Checks that hold after the script and did not before (the ones that count)."""
        return sum(1 for c in self.checks if c.counted_pass)

    @property
    def checks_failed(self) -> int:
        """Checks that do not hold after the script, or never ran to an answer."""
        return sum(1 for c in self.checks if not c.passed)

    @property
    def checks_vacuous(self) -> int:
        """Checks that held before and after: shown, never counted."""
        return sum(1 for c in self.checks if c.passed and c.vacuous)

    @property
    def vetted(self) -> bool:
        """OK, and at least one check proved the script did what was asked (none failed).

        "Runs" is :attr:`ok`; "does what was asked" needs a check that did not hold before
        the script and holds after it.
        """
        return self.ok and self.checks_passed > 0 and self.checks_failed == 0

    @property
    def verdict(self) -> str:
        """The verdict in words: ``runs-clean, 1 of 4 checks failed``,
        ``runs-clean, 3 of 3 checks passed (1 vacuous, not counted)``,
        ``prepare failed: the script was not run``."""
        if self.prepare is not None and self.prepare.status != "passed":
            return "prepare failed: the script was not run"
        words = "runs-clean"
        for label, run in zip(("first run", "second run"), self.runs, strict=False):
            if run.status != "passed":
                why = run.stop_reason or f"exit {run.exit_code}"
                words = f"{label} {run.status} ({why})"
                break
        if not self.checks:
            return words
        vacuous = self.checks_vacuous
        counted = len(self.checks) - vacuous
        note = f" ({vacuous} vacuous, not counted)" if vacuous else ""
        if counted == 0:
            return f"{words}, no check counted ({vacuous} vacuous)"
        if self.checks_failed:
            return f"{words}, {self.checks_failed} of {counted} checks failed{note}"
        return f"{words}, {self.checks_passed} of {counted} checks passed{note}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (derived properties included, for consumers without our code)."""
        data = asdict(self)
        data["checks"] = [c.to_dict() for c in self.checks]
        data["idempotent"] = self.idempotent
        data["ok"] = self.ok
        data["vetted"] = self.vetted
        data["verdict"] = self.verdict
        for f in data["findings"]:
            f["severity"] = str(f["severity"])
        return data
