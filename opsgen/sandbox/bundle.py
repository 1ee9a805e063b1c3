"""The bundle copied into a container before it starts: the script, the runner, the shims.

Names are checked before any container exists (ADV-21): only plain relative names, no
``..``, no absolute paths, no control characters. Everything lands under ``/.opsgen``.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import io
import marshal
import re
import sys
import tarfile
import time
from importlib import resources

import yaml

from opsgen.errors import PolicyViolation
from opsgen.yamlsafe import safe_load

__all__ = [
    "BUNDLE_DIR",
    "SERVICE_MANAGER",
    "check_member_name",
    "inventory_for",
    "make_bundle",
    "service_manager",
]

BUNDLE_DIR = "/.opsgen"
_SHIM_NAMES = {
    "systemctl": "systemctl",
    "service": "service",
    "journalctl": "journalctl",
    "opsgen_record.py": "opsgen_record.py",
    **{t: "power" for t in ("reboot", "shutdown", "poweroff", "halt")},
    **{t: "ctl" for t in ("hostnamectl", "timedatectl", "localectl", "loginctl")},
}
#: docker-systemctl-replacement's ``systemctl3.py`` (PyPI ``docker-systemctl-replacement``,
#: EUPL-1.2), carried in the bundle beside our wrapper so that services really start in any
#: image with python3, the sandbox image unchanged (issue 13).
SERVICE_MANAGER = ("systemctl2", "systemctl3.py")
_BAD_CHARS = re.compile(r"[\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069\\]")


def check_member_name(name: str) -> str:
    """Return ``name`` if it is a safe relative bundle path, else raise PolicyViolation."""
    if not name or name.startswith("/") or _BAD_CHARS.search(name):
        raise PolicyViolation(f"refusing bundle path {name!r}: must be a plain relative path")
    parts = name.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise PolicyViolation(f"refusing bundle path {name!r}: no '..', '.' or empty parts")
    return name


def inventory_for(playbook: str) -> str:
    """An inventory that maps every group a playbook names to the local container.

    Plays target groups (``hosts: webservers``) that do not exist here; each is mapped to
    localhost with the local connection, so the play runs instead of matching no host.
    """
    groups: set[str] = set()
    try:
        plays = safe_load(playbook)
    except yaml.YAMLError:
        plays = None
    for play in plays if isinstance(plays, list) else []:
        hosts = play.get("hosts") if isinstance(play, dict) else None
        for pattern in hosts if isinstance(hosts, list) else [hosts]:
            for name in re.split(r"[:,&!\s]+", str(pattern or "")):
                if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", name) and name not in (
                    "all",
                    "localhost",
                ):
                    groups.add(name)
    local = {"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3"}
    inventory = {
        "all": {
            "hosts": {"localhost": local},
            "children": {g: {"hosts": {"localhost": None}} for g in sorted(groups)},
        }
    }
    return yaml.safe_dump(inventory, sort_keys=True)


@functools.cache
def service_manager() -> bytes | None:
    """The replacement's source, read once per process; None when it is not installed here
    (services are then only recorded, as before issue 13)."""
    package, name = SERVICE_MANAGER
    try:
        return (resources.files(package) / name).read_bytes()
    except (ModuleNotFoundError, OSError):
        return None


@functools.cache
def service_manager_pyc() -> tuple[str, bytes] | None:
    """The replacement compiled once here, as ``lib/__pycache__/systemctl3.<tag>.pyc``.

    Every call of the service wrapper in the container (a start, the is-active and stop
    before each exit, the resume before checks) otherwise compiles its 7,000 lines again:
    about 90 ms a call against 36 ms with this file. It is an unchecked hash-based pyc
    (PEP 552), so the bundle's file times do not matter; a container whose Python has
    another cache tag or magic number ignores it and compiles the source as before.
    """
    source = service_manager()
    tag = sys.implementation.cache_tag
    if source is None or tag is None:
        return None
    code = compile(source, f"{BUNDLE_DIR}/lib/{SERVICE_MANAGER[1]}", "exec", dont_inherit=True)
    data = (importlib.util.MAGIC_NUMBER + (0b01).to_bytes(4, "little")
            + importlib.util.source_hash(source) + marshal.dumps(code))
    return f"lib/__pycache__/{SERVICE_MANAGER[1].removesuffix('.py')}.{tag}.pyc", data


def make_bundle(script: str, lang: str, extra: dict[str, bytes] | None = None) -> bytes:
    """A tar (bytes) to ``put_archive`` at ``/``: script, runner, shims and their checksums."""
    files: dict[str, tuple[bytes, int]] = {}
    if lang == "ansible":
        files["playbook.yml"] = (script.encode(), 0o644)
        files["inventory.yml"] = (inventory_for(script).encode(), 0o644)
    else:
        files["script"] = (script.encode(), 0o755)
    shims = resources.files("opsgen.sandbox") / "shims"
    files["run"] = ((shims / "run").read_bytes(), 0o755)
    for name, source in _SHIM_NAMES.items():
        files[f"bin/{name}"] = ((shims / source).read_bytes(), 0o755)
    manager = service_manager()
    if manager is not None:
        files["lib/systemctl3.py"] = (manager, 0o644)
        files["lib/svc.py"] = ((shims / "svc.py").read_bytes(), 0o644)
        compiled = service_manager_pyc()
        if compiled is not None:
            files[compiled[0]] = (compiled[1], 0o644)
    for name, data in (extra or {}).items():
        files[check_member_name(name)] = (data, 0o644)
    sums = "".join(
        f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, (data, _) in sorted(files.items())
    )
    files["SHA256SUMS"] = (sums.encode(), 0o644)

    buf = io.BytesIO()
    now = time.time()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for d in (".opsgen", ".opsgen/bin", ".opsgen/lib", ".opsgen/lib/__pycache__"):
            info = tarfile.TarInfo(d)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, now
            tar.addfile(info)
        for name, (data, mode) in sorted(files.items()):
            info = tarfile.TarInfo(f".opsgen/{check_member_name(name)}")
            info.size, info.mode, info.mtime = len(data), mode, now
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()
