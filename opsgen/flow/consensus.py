"""Choosing among candidate scripts by what they *did* in the sandbox (execution consensus).

A repair can only fix what a check sees: a lint error, a failed run, a second run that
changes things again. A script that runs cleanly but does the wrong thing (prints a label
around the number asked for, lists the wrong files) passes every check. Sampling a few more
answers to the same request and dry-running each gives evidence no single answer has: right
answers tend to behave alike, wrong ones tend to be wrong in different ways. So among the
candidates that passed every check, the behaviour most of them share wins (MBR-exec,
Shi et al. 2022; CodeT). Ties go to the earliest candidate, i.e. the greedy answer or its
repair, so a second opinion must be backed by a majority to overrule it.

"Behaviour" is what the operator reviews: the first run's exit status and output lines
and the observed system diff. Output lines are compared as a sorted list (``find`` and
``ls`` orderings differ between equivalent commands); logs, caches and package databases
are compared by path only, since their contents carry timestamps.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from opsgen.sandbox.models import DryRunReport, FileChange

__all__ = ["Candidate", "Consensus", "behaviour", "choose", "settled"]

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
    """

    chosen: int
    groups: tuple[tuple[int, ...], ...]
    candidates: int

    @property
    def agreeing(self) -> int:
        """How many passing candidates behaved like the chosen one."""
        return len(self.groups[0])

    @property
    def passing(self) -> int:
        """How many candidates passed every check."""
        return sum(len(g) for g in self.groups)

    def describe(self) -> str:
        """One line for the review."""
        return (
            f"{self.agreeing} of {self.passing} passing candidates "
            f"({self.candidates} generated) behaved the same; chose attempt {self.chosen}"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "chosen": self.chosen,
            "agreeing": self.agreeing,
            "passing": self.passing,
            "candidates": self.candidates,
            "groups": [list(g) for g in self.groups],
        }


def _groups(candidates: Iterable[Candidate]) -> list[tuple[int, ...]]:
    by_behaviour: dict[str, list[int]] = {}
    for c in candidates:
        if c.passed and c.dryrun is not None:
            by_behaviour.setdefault(behaviour(c.dryrun), []).append(c.number)
    groups = [tuple(sorted(g)) for g in by_behaviour.values()]
    return sorted(groups, key=lambda g: (-len(g), g[0]))


def choose(candidates: Iterable[Candidate]) -> Consensus | None:
    """The largest group of passing, dry-run candidates with the same behaviour wins; ties go
    to the group holding the earliest attempt. None when no candidate passed with a run."""
    pool = list(candidates)
    groups = _groups(pool)
    if not groups:
        return None
    return Consensus(chosen=groups[0][0], groups=tuple(groups), candidates=len(pool))


def settled(candidates: Iterable[Candidate], remaining: int) -> bool:
    """True when ``remaining`` more candidates could not change the winner, so sampling can
    stop early (e.g. the greedy answer and the first sample agree, one sample left)."""
    sizes = [len(g) for g in _groups(candidates)]
    if not sizes:
        return False
    runner_up = sizes[1] if len(sizes) > 1 else 0
    # Settled only if the runner-up (or a new group) cannot even tie: a tie may favour it.
    return sizes[0] - runner_up > remaining
