"""A scenario: the state a request presupposes, and checks of what it asks for.

"Vetted" must mean "does what was asked", not only "runs". Like Molecule's prepare →
converge → idempotence → verify, each change can carry a :class:`Scenario`:

- ``prepare``: a bash script that makes the state the request presupposes (old files under
  a folder to prune, a config to edit, a user that exists): only what the request implies,
  never what it asks to create;
- ``checks``: named one-line shell assertions of the request's postconditions
  (``home is /srv/metrics: getent passwd metrics | cut -d: -f6 | grep -qx /srv/metrics``).
  A query request's checks read the first run's output from ``$OPSGEN_STDOUT``.

A scenario comes from the model (from the request alone, never from a candidate script),
from the operator (``--given FILE``, ``--expect CMD``, ``--scenario FILE.yml``), or both.
It is data: it runs only inside the sandbox, and nothing in it can switch a check off.

The YAML form (``--scenario FILE.yml``)::

    prepare: |
      mkdir -p /var/log/app && touch -d '10 days ago' /var/log/app/old.log
    checks:
      - name: old logs are gone
        run: test ! -e /var/log/app/old.log
      - test -d /var/log/app          # a bare string: its own name
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from opsgen.errors import InputError
from opsgen.yamlsafe import safe_load

__all__ = ["LOCATION_PREFIX", "MAX_CHECKS", "MAX_CHECK_BYTES", "Check", "Scenario",
           "ScenarioSource", "check_location", "merge_scenarios", "parse_scenario",
           "prepare_location", "scenario_from_parts"]

ScenarioSource = Literal["model", "operator", "runbook", "request"]
#: bounds on what a scenario may hold (it runs in the sandbox, but it is shown to people)
MAX_CHECKS = 20
MAX_CHECK_BYTES = 2_000
MAX_PREPARE_BYTES = 64_000
#: every finding about a scenario's text points at a path starting with this, so the
#: repair loop can tell "the scenario is wrong" from "the script is wrong"
LOCATION_PREFIX = "scenario:"


def prepare_location() -> str:
    """Where a finding in the prepare script points (its line is the prepare's line)."""
    return f"{LOCATION_PREFIX}prepare"


def check_location(name: str) -> str:
    """Where a finding in a check points: ``scenario:check 'home is /srv/x'`` (``repr``
    quotes the name and spells control characters out)."""
    return f"{LOCATION_PREFIX}check {name!r}"


@dataclass(frozen=True, slots=True)
class Check:
    """One named postcondition: ``run`` is a shell command that exits 0 when it holds."""

    name: str
    run: str
    source: ScenarioSource = "operator"

    def to_dict(self) -> dict[str, str]:
        """JSON form."""
        return {"name": self.name, "run": self.run, "source": self.source}


@dataclass(frozen=True, slots=True)
class Scenario:
    """What to prepare before the script runs, and what must hold after it."""

    prepare: str = ""
    checks: tuple[Check, ...] = ()
    sources: tuple[ScenarioSource, ...] = field(default=())

    @property
    def empty(self) -> bool:
        """Nothing to prepare and nothing to check."""
        return not self.prepare.strip() and not self.checks

    def same_as(self, other: Scenario | None) -> bool:
        """The same prepare and the same checks (names and commands), whoever wrote them;
        None is the empty scenario. Used to tell a real replacement from a repeat."""
        other = other or Scenario()
        return (self.prepare.strip() == other.prepare.strip()
                and [(c.name, c.run) for c in self.checks]
                == [(c.name, c.run) for c in other.checks])

    def to_dict(self) -> dict[str, Any]:
        """JSON form (part of the evidence an approval is bound to)."""
        return {"prepare": self.prepare, "checks": [c.to_dict() for c in self.checks],
                "sources": list(self.sources)}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Scenario:
        """Inverse of :meth:`to_dict` (stored evidence)."""
        if not data:
            return cls()
        checks = tuple(Check(str(c.get("name", "")), str(c.get("run", "")),
                             c.get("source", "operator")) for c in data.get("checks", ()))
        return cls(str(data.get("prepare", "")), checks, tuple(data.get("sources", ())))


def _check(item: Any, index: int, source: ScenarioSource) -> Check:
    if isinstance(item, str):
        name, run = item.strip(), item.strip()
    elif isinstance(item, dict) and isinstance(item.get("run"), str):
        run = item["run"].strip()
        name = str(item.get("name") or run).strip()
    else:
        raise InputError(f"scenario check {index}: give a command string or {{name, run}}",
                         reference="bad-scenario")
    if not run:
        raise InputError(f"scenario check {index} is empty", reference="bad-scenario")
    if "\x00" in run or len(run.encode()) > MAX_CHECK_BYTES or "\n" in run:
        raise InputError(f"scenario check {index}: one line of at most {MAX_CHECK_BYTES} "
                         "bytes", reference="bad-scenario")
    return Check(" ".join(name.split())[:200], run, source)


def parse_scenario(text: str, source: ScenarioSource = "operator") -> Scenario:
    """A scenario from its YAML form; raises :class:`InputError` with the reason."""
    try:
        data = safe_load(text)
    except Exception as exc:  # any YAML fault is the user's input
        raise InputError(f"the scenario is not valid YAML: {str(exc).splitlines()[0]}",
                         reference="bad-scenario") from None
    if data is None:
        data = {}
    if not isinstance(data, dict) or set(data) - {"prepare", "checks"}:
        raise InputError("a scenario is a mapping with 'prepare' and/or 'checks'",
                         reference="bad-scenario")
    prepare = data.get("prepare") or ""
    if not isinstance(prepare, str) or len(prepare.encode()) > MAX_PREPARE_BYTES:
        raise InputError("scenario 'prepare' must be a script of at most 64 KB",
                         reference="bad-scenario")
    items = data.get("checks") or []
    if not isinstance(items, list) or len(items) > MAX_CHECKS:
        raise InputError(f"scenario 'checks' must be a list of at most {MAX_CHECKS}",
                         reference="bad-scenario")
    checks = tuple(_check(item, i, source) for i, item in enumerate(items, 1))
    return Scenario(prepare, checks, (source,))


def scenario_from_parts(
    prepare: str = "", commands: Iterable[str] = (), source: ScenarioSource = "operator"
) -> Scenario:
    """A scenario from a prepare script and check commands (``--given FILE``, ``--expect
    CMD``: each command its own name), held to the limits of the YAML form; raises
    :class:`InputError` naming the ``--expect`` at fault."""
    if "\x00" in prepare or len(prepare.encode()) > MAX_PREPARE_BYTES:
        raise InputError("the prepare script (--given) must be at most 64 KB of text",
                         reference="bad-scenario")
    checks: list[Check] = []
    for index, command in enumerate(commands, 1):
        try:
            checks.append(_check(command, index, source))
        except InputError as exc:
            why = exc.message.split(": ", 1)[-1] if ": " in exc.message else "it is empty"
            raise InputError(f"--expect {index} ({command[:60]!r}): {why}",
                             reference="bad-scenario") from None
    if len(checks) > MAX_CHECKS:
        raise InputError(f"at most {MAX_CHECKS} checks (--expect)", reference="bad-scenario")
    return Scenario(prepare, tuple(checks), (source,))


def merge_scenarios(parts: Iterable[Scenario]) -> Scenario:
    """Several scenarios as one: prepares in order, checks in order (same name: the later
    one wins, so an operator's check replaces the model's of that name)."""
    prepares: list[str] = []
    checks: dict[str, Check] = {}
    sources: list[ScenarioSource] = []
    for part in parts:
        if part.prepare.strip():
            prepares.append(part.prepare.rstrip("\n"))
        for check in part.checks:
            checks.pop(check.name, None)
            checks[check.name] = check
        sources += [s for s in part.sources if s not in sources]
    prepare = "\n".join(prepares) + ("\n" if prepares else "")
    return Scenario(prepare, tuple(checks.values())[:MAX_CHECKS], tuple(sources))
