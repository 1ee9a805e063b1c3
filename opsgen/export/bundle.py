"""What an export writes: the approved bytes, a manifest, and (for git) a commit message.

The bundle is built once from a verified :class:`~opsgen.approval.SignOff` and then written
unchanged by the directory or the git writer, so both carry the same bytes and manifest.
When the approved evidence carries a scenario, the bundle also holds the tests derived from
it (:mod:`opsgen.export.scenario_tests`) and the manifest the scenario they came from.
The manifest is deterministic (no export time in it): exporting the same approved state
twice yields identical files and, in git, no new commit.

Redaction: the script's bytes are exported exactly as approved (their sha256 is what the
approvals sign; the secret rules make a script with a secret fail review instead). Every
text *about* it that the manifest and the commit message carry (request, comments,
override reasons) is redacted, detect-secrets included.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from opsgen import __version__
from opsgen.approval import SignOff
from opsgen.errors import SignOffMissing
from opsgen.export.paths import check_name, check_relpath
from opsgen.export.role import SOURCE_PATH, derive_role
from opsgen.export.scenario_tests import TEST_ROLE, ExportTests, derive_tests, plan_tests
from opsgen.redact import redact, sanitize
from opsgen.store import audit
from opsgen.store.canonical import sha256_hex
from opsgen.store.repo import Store

__all__ = ["MANIFEST_FORMAT", "Artifact", "Bundle", "build_bundle", "manifest_name"]

MANIFEST_FORMAT = "opsgen-manifest/1"
_EXT = {"bash": ".sh", "ansible": ".yml"}


@dataclass(frozen=True, slots=True)
class Artifact:
    """One file of an export: a POSIX path relative to the export root, bytes and mode."""

    path: str
    data: bytes
    mode: int


@dataclass(frozen=True, slots=True)
class Bundle:
    """Everything one export writes."""

    name: str
    files: tuple[Artifact, ...]
    manifest: dict[str, Any]
    message: str

    @property
    def manifest_file(self) -> Artifact:
        """The manifest artifact (always the last file)."""
        return self.files[-1]


def manifest_name(name: str) -> str:
    """``NAME.opsgen.json``."""
    return f"{name}.opsgen.json"


def build_bundle(
    store: Store, state: SignOff, *, name: str, base: str, as_role: bool = False
) -> Bundle:
    """Build the files of an export under ``base`` (a relative folder, "" for the root)."""
    check_name(name)
    base = check_relpath(base)
    data = state.revision.script.encode("utf-8")
    if sha256_hex(data) != state.revision.sha256 or any(
        a.revision_sha256 != sha256_hex(data) for a in state.approvals
    ):
        raise SignOffMissing("the bytes to export do not match the approved sha256")
    lang = state.change.lang
    record = state.evidence
    plan = plan_tests(record.evidence.dryrun if record else None, state.change.image, lang,
                      as_role)
    if as_role:
        if lang != "ansible":
            raise SignOffMissing("--as-role is for Ansible playbooks only")
        folder = _join(base, name)
        role = derive_role(state.revision.script)
        entries = [(p, t.encode("utf-8"), 0o644) for p, t in sorted(role.items())]
    else:
        folder = base
        mode = 0o755 if lang == "bash" else 0o644
        entries = [(name + _EXT[lang], data, mode)]
    tests = derive_tests(plan, name=name, playbook=state.revision.script) if plan else {}
    entries += [(p, t.encode("utf-8"), 0o644) for p, t in sorted(tests.items())]
    manifest = _manifest(store, state, name, entries, as_role, set(tests))
    if plan is not None:
        manifest.update(_scenario_part(plan, name))
    body = (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=True) + "\n").encode()
    files = [Artifact(_join(folder, p), d, m) for p, d, m in entries]
    files.append(Artifact(_join(folder, manifest_name(name)), body, 0o644))
    return Bundle(name, tuple(files), manifest, _message(state, name, manifest))


def _manifest(
    store: Store,
    state: SignOff,
    name: str,
    entries: list[tuple[str, bytes, int]],
    role: bool,
    tests: set[str],
) -> dict[str, Any]:
    change, rev, record = state.change, state.revision, state.evidence
    assert record is not None
    evidence = record.evidence
    return {
        "format": MANIFEST_FORMAT,
        "name": name,
        "layout": "role" if role else "file",
        "change": {
            "id": change.id,
            "request": redact(change.request, scan=True),
            "lang": change.lang,
            "image": change.image,
            "created_at": change.created_at,
            "created_by": change.created_by,
        },
        "revision": {
            "number": rev.number,
            "sha256": rev.sha256,
            "created_at": rev.created_at,
            "author": rev.author,
        },
        "evidence": {
            "sha256": record.sha256,
            "image_id": evidence.image_id,
            "dryrun": {None: "not run", True: "passed", False: "failed"}[evidence.dryrun_ok],
            "error_findings": len(evidence.errors),
            "findings": len(evidence.all_findings),
        },
        "approvals": [
            {
                "by": a.by,
                "at": a.created_at,
                "comment": redact(a.comment, scan=True),
                "override": redact(a.override, scan=True),
            }
            for a in state.approvals
        ],
        "required_approvals": state.policy.require,
        "files": [
            {
                "path": p,
                "sha256": sha256_hex(d),
                "mode": f"{m:04o}",
                "role": TEST_ROLE if p in tests else _role_of(p, role),
            }
            for p, d, m in entries
        ],
        "audit_anchor": _anchor(store, state),
        "opsgen_version": __version__,
    }


def _scenario_part(plan: ExportTests, name: str) -> dict[str, Any]:
    """The approved scenario and the tests made of it: what ``verify`` re-derives them from.
    Only with a scenario, so a manifest without one is unchanged."""
    return {"scenario": plan.scenario.to_dict(), "tests": plan.manifest_entry(name)}


def _role_of(path: str, role: bool) -> str:
    if not role:
        return "script"
    return "approved-source" if path == SOURCE_PATH else "derived"


def _anchor(store: Store, state: SignOff) -> dict[str, Any]:
    # The audit entry of the approval that completed sign-off: stable across re-exports.
    last = state.approvals[-1].id
    for entry in audit.entries(store.conn, change_id=state.change.id):
        if entry.action == "approve" and entry.payload.get("decision_id") == last:
            return {"seq": entry.seq, "hash": entry.hash}
    raise SignOffMissing("the approval has no audit entry", reference="store-tampered")


def _message(state: SignOff, name: str, manifest: dict[str, Any]) -> str:
    # Commit messages are printed by `git log` in terminals: sanitise the request.
    whole = redact(state.change.request, scan=True)  # whole: a key spans lines
    request = sanitize(whole, keep_newlines=True).strip().split("\n")[:40]
    lines = [
        f"opsgen: {name} (change {state.change.id}, revision {state.revision.number})",
        "",
        "Request:",
        *[("    " + line).rstrip() for line in request],
        "",
    ]
    for a in state.approvals:
        override = f" (override: {sanitize(redact(a.override, scan=True))})" if a.override else ""
        lines.append(f"Approved-by: {a.by} at {a.created_at}{override}")
    anchor = manifest["audit_anchor"]
    lines += [
        f"Script-SHA256: {state.revision.sha256}",
        f"Evidence-SHA256: {manifest['evidence']['sha256']}",
        f"Audit-Anchor: {anchor['seq']}:{anchor['hash']}",
        f"Opsgen-Change: {state.change.id}",
    ]
    return "\n".join(lines) + "\n"


def _join(base: str, path: str) -> str:
    return f"{base}/{path}" if base else path
