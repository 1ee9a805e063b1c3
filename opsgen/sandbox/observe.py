"""What a run changed, read from outside the container: the engine's diff plus tar reads.

The engine's ``container.diff()`` lists changed paths from the overlay's upper layer, which
the script cannot forge; the bytes and metadata are then read through ``get_archive`` after
the container has stopped. The "before" side comes from a never-started container of the
same image (cached on the host per image id, since images are immutable).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

from opsgen.sandbox.models import FileMeta
from opsgen.sandbox.tarstream import CONTENT_LIMIT, Observed, read_tree

__all__ = ["ApiObserver", "State", "changed_paths", "is_noise", "observe_paths", "pristine_paths"]

#: path -> what is there now (None: absent).
State = dict[str, Observed | None]

_KINDS = {0: "C", 1: "A", 2: "D"}
#: Our own bundle and records, and what the engine itself adds for --init.
_OURS = ("/.opsgen", "/var/lib/opsgen")
_ENGINE = {"/usr/sbin/docker-init", "/sbin/docker-init", "/dev", "/proc", "/sys"}
_ANSIBLE_NOISE = ("/root/.ansible",)
#: Files whose whole content the analysis needs even when large.
BIG_CONTENT = {
    "/var/lib/dpkg/status": 16 << 20,
    "/etc/passwd": 4 << 20,
    "/etc/group": 4 << 20,
    "/etc/shadow": 4 << 20,
    "/etc/gshadow": 4 << 20,
}


def _under(path: str, roots: Iterable[str]) -> bool:
    return any(path == r or path.startswith(r + "/") for r in roots)


def is_noise(path: str, lang: str) -> bool:
    """Paths that are ours (bundle, shim records) or the engine's, not the script's doing."""
    noise = _OURS + (_ANSIBLE_NOISE if lang == "ansible" else ())
    return path in _ENGINE or _under(path, noise)


def changed_paths(container: Any, lang: str) -> dict[str, str]:
    """Changed paths with their kind (``A`` added, ``C`` changed, ``D`` deleted)."""
    out: dict[str, str] = {}
    for entry in container.diff() or []:
        path = str(entry["Path"])
        if not is_noise(path, lang):
            out[path] = _KINDS.get(int(entry["Kind"]), "C")
    return out


def _plan(changes: dict[str, str]) -> list[tuple[str, bool]]:
    """(path, dir_header_only) reads that cover every added/changed path once.

    An added directory is read whole, which covers the added paths below it; a changed
    path is read alone, and only its header when it is a directory.
    """
    added = sorted(p for p, k in changes.items() if k == "A")
    tops: list[str] = []
    for p in added:
        if not tops or not p.startswith(tops[-1].rstrip("/") + "/"):
            tops.append(p)
    plan = [(p, False) for p in tops]
    plan += [(p, True) for p, k in sorted(changes.items()) if k == "C"]
    return plan


def _limit(path: str) -> int:
    return BIG_CONTENT.get(path, CONTENT_LIMIT)


def _read_all(container: Any, plan: list[tuple[str, bool]]) -> dict[str, Observed]:
    def one(item: tuple[str, bool]) -> dict[str, Observed]:
        path, dir_header_only = item
        return read_tree(
            container, path, dir_header_only=dir_header_only, content_limit=_limit(path)
        )

    found: dict[str, Observed] = {}
    with ThreadPoolExecutor(max_workers=4) as pool:
        for part in pool.map(one, plan):
            found.update(part)
    return found


def observe_paths(container: Any, changes: dict[str, str]) -> State:
    """The state after a run of every path in ``changes`` (deleted ones as None)."""
    found = _read_all(container, _plan(changes))
    return {p: (None if k == "D" else found.get(p)) for p, k in changes.items()}


def pristine_paths(client: Any, image_id: str, paths: Iterable[str], make_container: Any) -> State:
    """The image's own version of ``paths``, from the host cache or a never-started container.

    Args:
        client: docker client (unused when everything is cached).
        image_id: the immutable image id, the cache key.
        paths: absolute paths.
        make_container: callable returning a created (not started) container of the image;
            the caller removes it. Only called on a cache miss.
    """
    cache = _cache_dir(image_id)
    state: State = {}
    missing: list[str] = []
    for p in sorted(set(paths)):
        hit = _cache_get(cache, p)
        if hit is _MISS:
            missing.append(p)
        else:
            state[p] = hit  # type: ignore[assignment]
    if missing:
        container = make_container()
        try:
            found = _read_all(container, [(p, True) for p in missing])
        finally:
            container.remove(force=True)
        for p in missing:
            state[p] = found.get(p)
            _cache_put(cache, p, state[p])
    return state


_MISS = object()


class ApiObserver:
    """The reference observer: everything through the engine API, works with any engine."""

    def __init__(self, client: Any, container: Any, image_id: str, make_pristine: Any):
        self.client, self.container = client, container
        self.image_id, self.make_pristine = image_id, make_pristine

    def changes(self, lang: str) -> dict[str, str]:
        """Changed paths, from ``container.diff()``."""
        return changed_paths(self.container, lang)

    def after(self, changes: dict[str, str]) -> State:
        """The state after the run, via ``get_archive``."""
        return observe_paths(self.container, changes)

    def before(self, paths: list[str]) -> State:
        """The image's state, via a never-started container (cached per image)."""
        return pristine_paths(self.client, self.image_id, paths, self.make_pristine)

    def records(self) -> dict[str, bytes]:
        """Our shims' records from ``/var/lib/opsgen``."""
        found = read_tree(self.container, "/var/lib/opsgen", content_limit=1 << 20)
        return {p.rsplit("/", 1)[-1]: o.content for p, o in found.items() if o.content is not None}


def _cache_dir(image_id: str) -> Path | None:
    base = os.environ.get("OPSGEN_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "opsgen"
    )
    d = Path(base) / "pristine" / image_id.replace("sha256:", "")[:32]
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return d


def _key(path: str) -> str:
    return hashlib.sha256(path.encode("utf-8", "surrogateescape")).hexdigest()


def _cache_get(cache: Path | None, path: str) -> Observed | object | None:
    if cache is None:
        return _MISS
    f = cache / _key(path)
    try:
        data = json.loads(f.read_text())
    except (OSError, ValueError):
        return _MISS
    if data.get("path") != path:
        return _MISS
    if data.get("absent"):
        return None
    content = base64.b64decode(data["content"]) if data.get("content") is not None else None
    return Observed(FileMeta(**data["meta"]), content)


def _cache_put(cache: Path | None, path: str, obs: Observed | None) -> None:
    if cache is None:
        return
    if obs is None:
        data: dict[str, Any] = {"path": path, "absent": True}
    else:
        data = {
            "path": path,
            "meta": asdict(obs.meta),
            "content": base64.b64encode(obs.content).decode() if obs.content is not None else None,
        }
    tmp = cache / (_key(path) + f".{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(data))
        tmp.replace(cache / _key(path))
    except OSError:
        tmp.unlink(missing_ok=True)
