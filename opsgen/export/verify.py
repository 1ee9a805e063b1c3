"""``opsgen verify``: check an exported artifact against its manifest, offline.

Works anywhere the files were copied (a git checkout, a config-management repo, a host):
every file the manifest lists must exist as a regular file with the recorded sha256; the
script (or, for a role, the approved source) must hash to the approved revision; a role's
derived files must be exactly what re-deriving the approved source gives; and the manifest
must name at least as many approvals as it says were required.
"""

from __future__ import annotations

import json
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsgen.errors import ExportError, InputError, OpsError
from opsgen.export.bundle import MANIFEST_FORMAT, manifest_name
from opsgen.export.paths import check_relpath
from opsgen.export.role import SOURCE_PATH, derive_role
from opsgen.inputs import read_text_file
from opsgen.store.canonical import sha256_hex

__all__ = ["Verification", "find_manifest", "verify_artifact"]


@dataclass(frozen=True, slots=True)
class Verification:
    """The result of checking one manifest and its files."""

    manifest_path: Path
    manifest: dict[str, Any]
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing is wrong (warnings, such as a lost exec bit, do not count)."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``verify --json``."""
        return {
            "ok": self.ok,
            "manifest": str(self.manifest_path),
            "problems": self.problems,
            "warnings": self.warnings,
            "revision_sha256": self.manifest.get("revision", {}).get("sha256"),
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


def verify_artifact(path: Path) -> Verification:
    """Verify the export that ``path`` (a script, role folder or manifest) belongs to."""
    manifest_path = find_manifest(path)
    try:
        manifest = json.loads(read_text_file(manifest_path))
    except ValueError as exc:
        raise InputError(f"{manifest_path}: not a JSON manifest ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise InputError(f"{manifest_path}: not an {MANIFEST_FORMAT} manifest")
    result = Verification(manifest_path, manifest)
    files = manifest.get("files") or []
    if not files:
        result.problems.append("the manifest lists no files")
    for entry in files:
        _check_file(manifest_path.parent, entry, result)
    _check_binding(manifest_path.parent, manifest, result)
    approvals = manifest.get("approvals") or []
    required = int(manifest.get("required_approvals", 1))
    if len({a.get("by") for a in approvals}) < required:
        result.problems.append(f"{len(approvals)} approval(s) recorded, {required} required")
    return result


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
    want_exec = int(str(entry.get("mode", "0644")), 8) & 0o111
    if want_exec and not target.stat().st_mode & stat.S_IXUSR:
        result.warnings.append(f"{rel}: not executable (the manifest says {entry.get('mode')})")


def _check_binding(root: Path, manifest: dict[str, Any], result: Verification) -> None:
    """The approved bytes must be among the files, and a role must re-derive from them."""
    approved = manifest.get("revision", {}).get("sha256")
    files = manifest.get("files") or []
    wanted = "approved-source" if manifest.get("layout") == "role" else "script"
    source = [f for f in files if f.get("role") == wanted]
    if len(source) != 1 or source[0].get("sha256") != approved:
        result.problems.append("the exported script is not the approved revision (sha256)")
        return
    if manifest.get("layout") != "role":
        return
    try:
        derived = derive_role((root / SOURCE_PATH).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, OpsError) as exc:
        result.problems.append(f"cannot re-derive the role from the approved source: {exc}")
        return
    listed = {f.get("path"): f.get("sha256") for f in files}
    for rel, text in derived.items():
        if listed.get(rel) != sha256_hex(text.encode("utf-8")):
            result.problems.append(f"{rel}: not what the approved playbook derives to")
    for rel in sorted(set(listed) - set(derived), key=str):
        result.problems.append(f"{rel}: listed but not part of the approved role")
