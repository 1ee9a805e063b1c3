"""``opsgen verify``: check an exported artifact against its manifest and, when reachable,
against the workspace that approved it.

A manifest alone proves only *self-consistency*: whoever can edit the script can rewrite
the hashes beside it (issue 14). So there are two levels, and the result says which ran:

* **Always** (works anywhere the files were copied: a git checkout, a host): every file the
  manifest lists exists as a regular file with the recorded sha256 and a mode export writes
  (0755 or 0644; group- or world-writable, setuid, setgid or sticky fails, since anyone who
  can write the file can change it after this check); the script (or, for a role, the
  approved source) hashes to the manifest's revision; a role's derived files are exactly
  what re-deriving the approved source gives; the test files (bats, Molecule) are exactly
  what re-deriving the manifest's scenario gives; enough distinct approvers are named.
* **With the workspace** (``--workspace``, ``$OPSGEN_WORKSPACE`` or ``./.opsgen``): the store
  passes its full integrity check; the manifest's audit anchor is the approval entry in
  this workspace's chain; the script's bytes hash to the sha256 that approval recorded;
  the manifest is byte for byte one that an export of the change wrote (its sha256 is in
  the store's export record), so no approver, hash or path in it was edited; its scenario is
  the approved evidence's, so the tests test what the dry-run checked; every named
  approver approved that revision; and it was not rejected since.

Without a workspace the result is ``checked: self-consistency only (workspace not found)``,
never presented as vetted.
"""

from __future__ import annotations

import json
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsgen.approval import identity_key
from opsgen.errors import ExportError, InputError, OpsError
from opsgen.export.bundle import MANIFEST_FORMAT, manifest_name
from opsgen.export.paths import check_relpath
from opsgen.export.role import SOURCE_PATH, derive_role
from opsgen.export.scenario_tests import TEST_ROLE, approved_test_problems, derived_test_problems
from opsgen.inputs import read_text_file
from opsgen.store import audit
from opsgen.store.canonical import sha256_hex
from opsgen.store.integrity import integrity_summary, read_snapshot, verify_store
from opsgen.store.models import Decision
from opsgen.store.repo import Store

__all__ = ["SELF_ONLY", "WORKSPACE", "Verification", "find_manifest", "verify_artifact"]

SELF_ONLY = "self-consistency only (workspace not found)"
WORKSPACE = "workspace"
_MODES = (0o755, 0o644)  # what export writes: scripts 0755, playbooks, roles, manifests 0644


@dataclass(frozen=True, slots=True)
class Verification:
    """The result of checking one manifest and its files."""

    manifest_path: Path
    manifest: dict[str, Any]
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    checked: str = SELF_ONLY  # WORKSPACE when compared against the store
    workspace: str | None = None

    @property
    def ok(self) -> bool:
        """True when nothing is wrong (warnings, such as a lost exec bit, do not count)."""
        return not self.problems

    @property
    def vetted(self) -> bool:
        """True only when nothing is wrong *and* the approvals were checked in the store."""
        return self.ok and self.checked == WORKSPACE

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``verify --json``."""
        return {
            "ok": self.ok,
            "vetted": self.vetted,
            "checked": self.checked,
            "workspace": self.workspace,
            "manifest": str(self.manifest_path),
            "problems": self.problems,
            "warnings": self.warnings,
            "revision_sha256": _dict(self.manifest.get("revision")).get("sha256"),
            "approvals": self.manifest.get("approvals", []),
        }


def find_manifest(path: Path) -> Path:
    """The manifest for ``path``: itself, ``STEM.opsgen.json`` beside it, or inside a role."""
    if path.name.endswith(".opsgen.json"):
        return path
    candidates = [path / manifest_name(path.name)] if path.is_dir() else []
    candidates.append(path.with_name(manifest_name(path.name.rsplit(".", 1)[0])))
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise InputError(
        f"{path}: no opsgen manifest found next to it",
        reference="no-manifest",
        hint="pass the NAME.opsgen.json file",
    )


def verify_artifact(path: Path, store: Store | None = None) -> Verification:
    """Verify the export that ``path`` (a script, role folder or manifest) belongs to.

    With ``store`` (the workspace the export came from), also check it against the
    approval recorded there; without, the result says only self-consistency was checked.
    """
    manifest_path = find_manifest(path)
    text = read_text_file(manifest_path)
    try:
        manifest = json.loads(text)
    except ValueError as exc:
        raise InputError(f"{manifest_path}: not a JSON manifest ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise InputError(f"{manifest_path}: not an {MANIFEST_FORMAT} manifest")
    result = Verification(
        manifest_path,
        manifest,
        checked=WORKSPACE if store else SELF_ONLY,
        workspace=str(store.workspace.path) if store else None,
    )
    root = manifest_path.parent
    _check_mode(manifest_path.name, manifest_path.stat().st_mode, result)
    files = _entries(manifest)
    if not files:
        result.problems.append("the manifest lists no files")
    for entry in files:
        _check_file(root, entry, result)
    _check_binding(root, manifest, result)
    approvals = [a for a in manifest.get("approvals") or [] if isinstance(a, dict)]
    required = manifest.get("required_approvals", 1)
    required = required if isinstance(required, int) else 1
    if len({identity_key(str(a.get("by", ""))) for a in approvals}) < required:
        result.problems.append(f"{len(approvals)} approval(s) recorded, {required} required")
    if store is not None:
        with read_snapshot(store.conn):
            _check_store(store, root, manifest, text.encode("utf-8"), result)
    return result


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _entries(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    files = manifest.get("files")
    return [f for f in files if isinstance(f, dict)] if isinstance(files, list) else []


def _check_mode(rel: str, st_mode: int, result: Verification) -> None:
    """A file export wrote must not be changeable by others, nor run with others' rights."""
    perm = stat.S_IMODE(st_mode)
    if perm & 0o7000:
        result.problems.append(
            f"{rel}: mode {perm:04o} has the setuid, setgid or sticky bit "
            "(export writes 0755 or 0644)"
        )
    elif perm & 0o022:
        result.problems.append(
            f"{rel}: mode {perm:04o} is group- or world-writable (export writes 0755 or 0644); "
            "others could change it after this check"
        )


def _check_file(root: Path, entry: dict[str, Any], result: Verification) -> None:
    try:
        rel = check_relpath(str(entry.get("path", "")), "manifest path")
    except ExportError as exc:
        result.problems.append(exc.message)
        return
    target = root / rel
    if target.is_symlink() or not target.is_file():
        result.problems.append(f"{rel}: missing or not a regular file")
        return
    digest = sha256_hex(target.read_bytes())
    if digest != entry.get("sha256"):
        result.problems.append(f"{rel}: sha256 {digest[:12]}... does not match the manifest")
    listed = str(entry.get("mode", "0644"))
    try:
        want = int(listed, 8)
    except ValueError:
        want = -1
    if want not in _MODES:
        result.problems.append(
            f"{rel}: the manifest lists mode {listed}; export writes 0755 or 0644"
        )
    st_mode = target.stat().st_mode
    _check_mode(rel, st_mode, result)
    if want in _MODES and want & 0o111 and not st_mode & stat.S_IXUSR:
        result.warnings.append(f"{rel}: not executable (the manifest says {listed})")


def _check_binding(root: Path, manifest: dict[str, Any], result: Verification) -> None:
    """The approved bytes must be among the files, and a role must re-derive from them."""
    approved = _dict(manifest.get("revision")).get("sha256")
    files = _entries(manifest)
    wanted = "approved-source" if manifest.get("layout") == "role" else "script"
    source = [f for f in files if f.get("role") == wanted]
    if len(source) != 1 or source[0].get("sha256") != approved:
        result.problems.append("the exported script is not the approved revision (sha256)")
        return
    if manifest.get("layout") != "role":
        result.problems.extend(derived_test_problems(manifest, None))
        return
    try:
        playbook = (root / SOURCE_PATH).read_text(encoding="utf-8")
        derived = derive_role(playbook)
    except (OSError, UnicodeDecodeError, OpsError) as exc:
        result.problems.append(f"cannot re-derive the role from the approved source: {exc}")
        return
    listed = {f.get("path"): f.get("sha256") for f in files if f.get("role") != TEST_ROLE}
    for rel, text in derived.items():
        if listed.get(rel) != sha256_hex(text.encode("utf-8")):
            result.problems.append(f"{rel}: not what the approved playbook derives to")
    for extra in sorted(set(listed) - set(derived), key=str):
        result.problems.append(f"{extra}: listed but not part of the approved role")
    # The Molecule scenario, re-derived from the manifest's scenario and the approved source.
    result.problems.extend(derived_test_problems(manifest, playbook))


def _check_store(
    store: Store, root: Path, manifest: dict[str, Any], raw: bytes, result: Verification
) -> None:
    """Compare the export with the approval the workspace recorded (see the module doc)."""
    problems = verify_store(store.conn)
    if problems:
        result.problems.append(integrity_summary(problems) + "; see `opsgen audit verify`")
        return
    change_id = _dict(manifest.get("change")).get("id")
    decision = _anchored_approval(store, change_id, _dict(manifest.get("audit_anchor")), result)
    if decision is None:
        return
    assert isinstance(change_id, int)  # _anchored_approval checked it
    approved, number = decision.revision_sha256, _revision_number(store, decision)
    where = f"change {change_id} revision {number}"
    # The bytes themselves, against the hash the approval recorded (not the manifest's).
    sources = (
        [SOURCE_PATH]
        if manifest.get("layout") == "role"
        else [str(f.get("path", "")) for f in _entries(manifest) if f.get("role") == "script"]
    )
    for rel in sources or ["(script)"]:
        target = root / rel
        if not sources or target.is_symlink() or not target.is_file():
            result.problems.append(f"{rel}: the approved script of {where} is missing")
            continue
        digest = sha256_hex(target.read_bytes())
        if digest != approved:
            result.problems.append(
                f"{rel}: sha256 {digest} is not the approved sha256 {approved} ({where})"
            )
    revision = _dict(manifest.get("revision"))
    if revision.get("sha256") != approved:
        result.problems.append(
            f"the manifest's revision sha256 {revision.get('sha256')} is not the approved "
            f"sha256 {approved} ({where})"
        )
    if _dict(manifest.get("evidence")).get("sha256") != decision.evidence_sha256:
        result.problems.append(
            f"the manifest's evidence sha256 is not the one approved ({where}): "
            f"{decision.evidence_sha256}"
        )
    _check_approved_tests(store, decision, manifest, where, result)
    digest = sha256_hex(raw)
    if digest not in {e.manifest_sha256 for e in store.exports(change_id)}:
        result.problems.append(
            f"{result.manifest_path.name}: this manifest was not written by an export of "
            f"change {change_id} (its sha256 {digest[:12]}... is not recorded in the workspace)"
        )
    _check_approvers(store, decision, manifest, where, result)


def _check_approved_tests(
    store: Store, decision: Decision, manifest: dict[str, Any], where: str, result: Verification
) -> None:
    """The manifest's scenario (what the tests are re-derived from) is the approved one.

    Read from the revision's newest evidence when that is the approved evidence; after a
    later re-run, the manifest being one an export wrote (checked next) vouches for it.
    """
    record = store.latest_evidence(decision.revision_id)
    if record is None or record.sha256 != decision.evidence_sha256:
        return
    change = store.change(decision.change_id)
    for problem in approved_test_problems(manifest, record.evidence.dryrun, change.image,
                                          change.lang):
        result.problems.append(f"{problem} ({where})")


def _anchored_approval(
    store: Store, change_id: Any, anchor: dict[str, Any], result: Verification
) -> Decision | None:
    """The approval the manifest's audit anchor points at, if it is in this workspace."""
    seq, digest = anchor.get("seq"), str(anchor.get("hash", ""))
    entry = None
    if isinstance(change_id, int) and isinstance(seq, int):
        entry = next(
            (e for e in audit.entries(store.conn, change_id=change_id) if e.seq == seq), None
        )
    if entry is None or entry.hash != digest or entry.action != "approve":
        result.problems.append(
            f"the manifest's audit anchor {seq}:{digest[:12]} is not an approval of change "
            f"{change_id} in the workspace {store.workspace.path}: the export comes from "
            "another workspace, or the manifest was edited"
        )
        return None
    decision_id = entry.payload.get("decision_id")
    return next((d for d in store.decisions(change_id) if d.id == decision_id), None)


def _revision_number(store: Store, decision: Decision) -> int:
    revision = next(r for r in store.revisions(decision.change_id) if r.id == decision.revision_id)
    return revision.number


def _check_approvers(
    store: Store, decision: Decision, manifest: dict[str, Any], where: str, result: Verification
) -> None:
    decisions = [
        d for d in store.decisions(decision.change_id) if d.revision_id == decision.revision_id
    ]
    approvers = {
        identity_key(d.by)
        for d in decisions
        if d.kind == "approve"
        and d.id <= decision.id
        and d.revision_sha256 == decision.revision_sha256
        and d.evidence_sha256 == decision.evidence_sha256
    }
    for approval in manifest.get("approvals") or []:
        name = str(_dict(approval).get("by", ""))
        if identity_key(name) not in approvers:
            result.problems.append(
                f"the manifest names {name} as an approver, but {name} did not approve {where}"
            )
    for rejection in (d for d in decisions if d.kind == "reject"):
        result.problems.append(f"{where} was rejected by {rejection.by}")
    current = store.revision(decision.change_id)
    if current.id != decision.revision_id:
        result.warnings.append(
            f"change {decision.change_id} is now at revision {current.number}; this export is of "
            f"an earlier revision"
        )
