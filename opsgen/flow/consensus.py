"""Choosing among candidate scripts by what they *did* in the sandbox (execution consensus).

A repair can only fix what a check sees: a lint error, a failed run, a second run that
changes things again. A script that runs cleanly but does the wrong thing (prints a label
around the number asked for, lists the wrong files) passes every check. Sampling a few more
answers to the same request and dry-running each gives evidence no single answer has: right
answers tend to behave alike, wrong ones tend to be wrong in different ways. So among the
candidates that passed every check, the behaviour most of them share wins (MBR-exec,
Shi et al. 2022; CodeT). Ties go to the earliest candidate, i.e. the greedy answer or its
repair, so a second opinion must be backed by a majority to overrule it.

With a scenario the candidates also face the same checks of the request's postconditions,
written from the request alone: test evidence independent of the code, as in CodeT's dual
agreement. Candidates that ran cleanly are then ranked by the checks they pass that did not
already hold before (more first; then fewer failed), and only then by the behaviour most of
them share, so a lone answer that does what the checks ask beats a majority that does not.
A candidate that ran cleanly but failed a check still takes part: when every candidate fails
the same check while they agree on what to do, the check itself may be wrong, and it is
reported as *disputed* (shown to the reviewer, never counted as passed).

"Behaviour" is what the operator reviews: the first run's exit status and output lines,
the observed system diff, and which checks held afterwards. Output lines are compared as a
sorted list (``find`` and ``ls`` orderings differ between equivalent commands); logs,
caches and package databases are compared by path only, since their contents carry
timestamps.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from opsgen.sandbox.models import DryRunReport, FileChange

__all__ = ["Candidate", "Consensus", "behaviour", "choose", "proven", "settled"]

#: checks are failing in a group only when at least this many candidates agree on them
_AGREEING = 2

#: Paths whose content changes with every run (timestamps), compared by path and kind only.
VOLATILE = ("/var/log/", "/var/cache/", "/var/lib/apt/", "/var/lib/dpkg/", "/var/lib/systemd/")


class Candidate(Protocol):
    """What the consensus needs from an attempt (:class:`opsgen.flow.loop.Attempt`)."""

    @property
    def number(self) -> int:
        """1-based attempt number; lower means earlier (greedy first)."""
        ...

    @property
    def passed(self) -> bool:
        """The attempt passed every check."""
        ...

    @property
    def runs_clean(self) -> bool:
        """Lint clean and both runs passed; scenario checks may have failed."""
        ...

    @property
    def dryrun(self) -> DryRunReport | None:
        """Its dry-run report, when it was run."""
        ...


def _file_state(change: FileChange) -> list[Any]:
    if change.path.startswith(VOLATILE) or change.after is None:
        return [change.path, change.change]
    a = change.after
    return [change.path, change.change, a.ftype, a.mode, a.uid, a.gid, a.sha256, a.link_target]


def behaviour(report: DryRunReport) -> str:
    """A short fingerprint of what a dry-run observed: equal fingerprints, same behaviour."""
    first = report.runs[0] if report.runs else None
    lines = (first.stdout if first else "").splitlines()
    diff = report.diff
    state = {
        "exit": first.exit_code if first else None,
        "stdout": sorted(" ".join(ln.split()) for ln in lines if ln.strip()),
        "files": sorted(_file_state(f) for f in diff.files),
        "users": sorted([u.name, u.change] for u in diff.users),
        "groups": sorted([g.name, g.change] for g in diff.groups),
        "packages": sorted([p.name, p.change] for p in diff.packages),
        "cron": sorted([c.path, sorted(c.added), sorted(c.removed)] for c in diff.cron),
        "services": sorted([s.tool, s.action, s.unit] for s in diff.services),
    }
    blob = json.dumps(state, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Consensus:
    """How the passing candidates grouped, and which one was chosen.

    Attributes:
            chosen: attempt number of the chosen script (the earliest of the winning group).
        groups: attempt numbers per behaviour, the winning group first.
        candidates: how many candidates were considered (passing or not).
        passed_checks: per group, the checks its candidates passed that did not hold before.
        checks: how many scenario checks each candidate faced (0: no scenario).
        disputed: names of the checks every weighed candidate failed while at least two of
            them agreed on the chosen behaviour.
    """

    chosen: int
    groups: tuple[tuple[int, ...], ...]
    candidates: int
    passed_checks: tuple[int, ...] = ()
    checks: int = 0
    disputed: tuple[str, ...] = ()

    @property
    def agreeing(self) -> int:
        """How many weighed candidates behaved like the chosen one."""
        return len(self.groups[0])

    @property
    def passing(self) -> int:
        """How many candidates were weighed: those that passed every check, and with a
        scenario those that ran cleanly but failed some of its checks."""
        return sum(len(g) for g in self.groups)

    def describe(self) -> str:
        """One line for the review."""
        if not self.checks:
            return (
                f"{self.agreeing} of {self.passing} passing candidates "
                f"({self.candidates} generated) behaved the same; chose attempt {self.chosen}"
            )
        passed = self.passed_checks[0] if self.passed_checks else 0
        disputed = f"; disputed: {', '.join(self.disputed)}" if self.disputed else ""
        return (
            f"{self.agreeing} of {self.passing} clean-running candidates "
            f"({self.candidates} generated) behaved the same; chose attempt {self.chosen}, "
            f"which passed {passed} of {self.checks} checks{disputed}"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "chosen": self.chosen,
            "agreeing": self.agreeing,
            "passing": self.passing,
            "candidates": self.candidates,
            "groups": [list(g) for g in self.groups],
            "passed_checks": list(self.passed_checks),
            "checks": self.checks,
            "disputed": list(self.disputed),
        }


@dataclass(frozen=True, slots=True)
class _Group:
    """Candidates with the same behaviour and the same check outcomes."""

    numbers: tuple[int, ...]
    passed: int  # checks passed that did not hold before (the ones that count)
    failed: int  # checks that do not hold afterwards
    failing: frozenset[str]

    @property
    def rank(self) -> tuple[int, int, int, int]:
        """More counted checks, then fewer failed, then more agreeing, then earliest."""
        return (-self.passed, self.failed, -len(self.numbers), self.numbers[0])


def _weighed(candidates: Iterable[Candidate]) -> list[Candidate]:
    """Candidates whose behaviour counts: passed everything, or ran cleanly and failed only
    scenario checks (which the ranking then weighs)."""
    return [c for c in candidates
            if c.dryrun is not None and (c.passed or (c.runs_clean and c.dryrun.checks))]


def _groups(pool: Iterable[Candidate]) -> list[_Group]:
    found: dict[tuple[str, frozenset[str]], list[Candidate]] = {}
    for c in pool:
        assert c.dryrun is not None
        failing = frozenset(k.name for k in c.dryrun.checks if not k.passed)
        found.setdefault((behaviour(c.dryrun), failing), []).append(c)
    groups = []
    for (_, failing), members in found.items():
        report = members[0].dryrun
        assert report is not None
        groups.append(_Group(tuple(sorted(m.number for m in members)),
                             report.checks_passed, report.checks_failed, failing))
    return sorted(groups, key=lambda g: g.rank)


def choose(candidates: Iterable[Candidate]) -> Consensus | None:
    """Among the weighed candidates the group passing most checks wins, then the largest
    group with the same behaviour; ties go to the group holding the earliest attempt. None
    when no candidate ran cleanly."""
    every = list(candidates)
    pool = _weighed(every)
    groups = _groups(pool)
    if not groups:
        return None
    checks = max(len(c.dryrun.checks) for c in pool if c.dryrun is not None)
    failed_by_all = frozenset.intersection(*(g.failing for g in groups))
    disputed: tuple[str, ...] = ()
    if len(groups[0].numbers) >= _AGREEING and failed_by_all:
        order = [k.name for c in pool if c.dryrun is not None for k in c.dryrun.checks]
        disputed = tuple(dict.fromkeys(n for n in order if n in failed_by_all))
    return Consensus(
        chosen=groups[0].numbers[0],
        groups=tuple(g.numbers for g in groups),
        candidates=len(every),
        passed_checks=tuple(g.passed for g in groups),
        checks=checks,
        disputed=disputed,
    )


def settled(candidates: Iterable[Candidate], remaining: int) -> bool:
    """True when ``remaining`` more candidates could not change the winner, so sampling can
    stop early (e.g. the greedy answer and the first sample agree, one sample left).

    Never while the leading group fails a check: a further sample might pass it.
    """
    groups = _groups(_weighed(candidates))
    if not groups or groups[0].failed:
        return False
    top = groups[0]
    # Only a group with the same check results can catch up by numbers; a new one may tie.
    rivals = [len(g.numbers) for g in groups[1:] if (g.passed, g.failed) == (top.passed, 0)]
    runner_up = max(rivals, default=0)
    # Settled only if the runner-up (or a new group) cannot even tie: a tie may favour it.
    return len(top.numbers) - runner_up > remaining


def proven(candidates: Iterable[Candidate]) -> bool:
    """True when a candidate already passed every check and the request's checks proved it
    (at least one held after it and not before, none failed): samples stop there.

    No sample can rank above it: the checks are the same for every candidate and it fails
    none, so a sample can at most tie on checks. A tie could only let a majority of samples
    with another behaviour, vetted by the same checks, take the choice: the verdict would be
    the same ``vetted``, and the samples (most of a vetted request's time) would be paid for
    a different script with the same evidence. Without a counted check (``runs-clean``) the
    samples still vote: then their agreement is the only evidence of what was asked.
    """
    return any(c.passed and c.dryrun is not None and c.dryrun.vetted for c in candidates)

