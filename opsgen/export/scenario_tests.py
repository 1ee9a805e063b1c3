"""The approved scenario as tests the ecosystem runs: bats beside a script, Molecule in a role.

A dry-run's scenario (prepare, named checks) is part of the evidence an approval covers.
An export carries it on as tests a team can run in its own CI, so "vetted" keeps meaning
"does what was asked" after the files leave opsgen:

* **bash** (``NAME.sh``): ``NAME.bats`` beside it, and ``NAME.prepare.sh`` when the scenario
  prepares state (:mod:`opsgen.export.bats_file`);
* **a playbook exported with** ``--as-role``: ``molecule/default/`` inside the role
  (:mod:`opsgen.export.molecule_scenario`);
* **a plain playbook**: no test files (a playbook is not something Molecule applies, and a
  second layout of it would be a second thing to approve); the manifest says so and names
  ``--as-role``.

The files are *derived*: the same inputs (name, scenario, image, approved playbook) always
give the same bytes, which the manifest lists with the scenario and image they came from,
so ``opsgen verify`` re-derives them (:func:`derived_test_problems`) and, with the workspace,
compares the scenario and image with the approved evidence (:func:`approved_test_problems`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from opsgen.errors import ExportError, OpsError
from opsgen.export.bats_file import render_bats
from opsgen.export.molecule_scenario import render_molecule
from opsgen.export.titles import display_name
from opsgen.scenario import MAX_CHECK_BYTES, MAX_CHECKS, MAX_PREPARE_BYTES, Scenario
from opsgen.store.canonical import sha256_hex

__all__ = ["TEST_ROLE", "ExportTests", "approved_test_problems", "derive_tests",
           "derived_test_problems", "plan_tests"]

TestsKind = Literal["bats", "molecule", "none"]
#: the ``role`` of a test file in the manifest's file list
TEST_ROLE = "test"
_NONE_NOTE = ("a playbook export carries no Molecule scenario (Molecule applies roles): "
              "export with --as-role to get one")


@dataclass(frozen=True, slots=True)
class ExportTests:
    """What tests an export writes: their kind, the approved scenario, the image to run in.

    ``image`` is the sandbox image the approved dry-run ran in: the checks held there.
    """

    kind: TestsKind
    scenario: Scenario
    image: str

    def manifest_entry(self, name: str) -> dict[str, str]:
        """The manifest's ``tests`` section: what was written and how to run it."""
        if self.kind == "bats":
            run = f"bats {name}.bats (as root, in a throwaway container of {self.image})"
            return {"kind": "bats", "image": self.image, "run": run}
        if self.kind == "molecule":
            return {"kind": "molecule", "image": self.image, "run": "molecule test (in the role)"}
        return {"kind": "none", "image": self.image, "note": _NONE_NOTE}


def plan_tests(
    dryrun: dict[str, Any] | None, change_image: str, lang: str, role: bool
) -> ExportTests | None:
    """The tests an export of this evidence writes; None when it carries no scenario.

    Raises:
        ExportError: the scenario is one the sandbox could not have run (a multi-line check,
            a NUL byte...): the files would not test what the evidence shows.
    """
    scenario = _scenario((dryrun or {}).get("scenario"))
    if scenario is None:
        return None
    image = str((dryrun or {}).get("image") or change_image)
    kind: TestsKind = "bats" if lang == "bash" else ("molecule" if role else "none")
    if kind == "molecule" and not image:
        raise ExportError("the approved dry-run names no sandbox image for the Molecule "
                          "scenario", reference="bad-scenario")
    return ExportTests(kind, scenario, image)


def derive_tests(plan: ExportTests, *, name: str, playbook: str = "") -> dict[str, str]:
    """Test files (path relative to the export folder or role -> text) of ``plan``."""
    if plan.kind == "bats":
        return render_bats(name, f"{name}.sh", plan.scenario, plan.image)
    if plan.kind == "molecule":
        return render_molecule(name, plan.scenario, plan.image, playbook)
    return {}


def derived_test_problems(manifest: dict[str, Any], source: str | None) -> list[str]:
    """Self-consistency: the test files the manifest lists are exactly what its scenario
    derives to (``source``: a role's approved playbook text, None for other layouts).

    The files on disk are held to the listed hashes by verify's file check.
    """
    files = [f for f in manifest.get("files") or [] if isinstance(f, dict)]
    listed = {str(f.get("path")): f.get("sha256") for f in files if f.get("role") == TEST_ROLE}
    if manifest.get("scenario") is None:
        return [f"{p}: listed as a test, but the manifest carries no scenario" for p in listed]
    try:
        plan = _plan_from_manifest(manifest)
        derived = derive_tests(plan, name=str(manifest.get("name", "")), playbook=source or "")
    except OpsError as exc:
        return [f"cannot re-derive the tests from the manifest's scenario: {exc.message}"]
    problems = [
        f"{rel}: not what the approved scenario derives to"
        for rel, text in sorted(derived.items())
        if listed.get(rel) != sha256_hex(text.encode("utf-8"))
    ]
    problems += [f"{extra}: listed as a test but not derived from the approved scenario"
                 for extra in sorted(set(listed) - set(derived))]
    return problems


def approved_test_problems(
    manifest: dict[str, Any], dryrun: dict[str, Any] | None, change_image: str, lang: str
) -> list[str]:
    """With the workspace: the manifest's scenario and image are the approved evidence's."""
    try:
        plan = plan_tests(dryrun, change_image, lang, manifest.get("layout") == "role")
    except OpsError as exc:
        return [f"the approved evidence's scenario cannot be exported: {exc.message}"]
    problems: list[str] = []
    if manifest.get("scenario") != (plan.scenario.to_dict() if plan else None):
        problems.append("the manifest's scenario is not the approved evidence's scenario")
    tests = manifest.get("tests")
    want = plan.manifest_entry(str(manifest.get("name", ""))) if plan else None
    if tests != want:
        problems.append("the manifest's tests section is not what the approved evidence gives")
    return problems


def _plan_from_manifest(manifest: dict[str, Any]) -> ExportTests:
    # The kind follows from the language and layout, never from the manifest's own word.
    change = manifest.get("change")
    lang = change.get("lang") if isinstance(change, dict) else None
    tests = manifest.get("tests")
    image = tests.get("image") if isinstance(tests, dict) else None
    plan = plan_tests({"scenario": manifest.get("scenario"), "image": image}, "", str(lang),
                      manifest.get("layout") == "role")
    if plan is None:
        raise ExportError("the manifest's scenario is empty")
    return plan


def _scenario(data: Any) -> Scenario | None:
    """The evidence's scenario, held to what the sandbox runs (``check_input``); None when
    there is none or it is empty."""
    if data is None:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("checks", []), list) or not all(
        isinstance(c, dict) for c in data.get("checks", [])
    ):
        raise ExportError("the approved scenario is not a scenario", reference="bad-scenario")
    scenario = Scenario.from_dict(data)
    if scenario.empty:
        return None
    if "\x00" in scenario.prepare or len(scenario.prepare.encode()) > MAX_PREPARE_BYTES:
        raise ExportError("the approved scenario's prepare is not a script of at most 64 KB",
                          reference="bad-scenario")
    if len(scenario.checks) > MAX_CHECKS:
        raise ExportError(f"the approved scenario has over {MAX_CHECKS} checks",
                          reference="bad-scenario")
    for check in scenario.checks:
        run = check.run
        if not run.strip() or "\x00" in run or "\n" in run or len(run.encode()) > MAX_CHECK_BYTES:
            raise ExportError(f"the approved scenario's check {display_name(check.name)!r} is "
                              f"not one line of at most {MAX_CHECK_BYTES} bytes",
                              reference="bad-scenario")
    return scenario
