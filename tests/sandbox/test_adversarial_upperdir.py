"""ADV-31: a hostile image cannot turn the bundle copy into a write on the host.

On a local overlay2 engine the bundle is written straight into the created container's upper
directory (``opsgen.sandbox.upperdir``). The image's lower layers are untrusted: here they
make the bundle path, or a level below it, a link to ``/etc`` (absolute and relative) or to
``/etc/passwd``. The entries we create in the upper layer must shadow those links, never be
written through them; the host's ``/etc`` stays as it was, and the dry-run still works (or
fails cleanly), with the container's own ``/etc`` unchanged too.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import dry

from opsgen.errors import OpsError

pytestmark = pytest.mark.docker

REPO = "opsgen-test-hostile-bundle"
#: image tag -> lower-layer entries (name, kind, link target)
HOSTILE = {
    "top-abs": [(".opsgen", "link", "/etc")],
    "top-rel": [(".opsgen", "link", "../../../../../../../etc")],
    "bin": [(".opsgen", "dir", ""), (".opsgen/bin", "link", "/etc")],
    "run": [(".opsgen", "dir", ""), (".opsgen/run", "link", "/etc/passwd")],
}
BUNDLE_NAMES = ("run", "script", "SHA256SUMS", "bin", "systemctl", "opsgen_record.py")


def _snapshot(root: Path) -> dict[str, tuple[int, int, str]]:
    """``/etc`` at the top level plus every file our bundle names could land on."""
    out: dict[str, tuple[int, int, str]] = {}
    for entry in os.scandir(root):
        st = entry.stat(follow_symlinks=False)
        out[entry.name] = (st.st_mode, st.st_size, str(st.st_mtime_ns))
    for name in ("passwd", "group", "shadow"):
        p = root / name
        if p.is_file():
            out[f"{name}#sha"] = (0, 0, hashlib.sha256(p.read_bytes()).hexdigest())
    st = os.stat(root)
    out["."] = (st.st_mode, 0, str(st.st_mtime_ns))
    return out


def _image(client: Any, tag: str, entries: list[tuple[str, str, str]]) -> Any:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, kind, target in entries:
            info = tarfile.TarInfo(name)
            if kind == "link":
                info.type, info.linkname = tarfile.SYMTYPE, target
            else:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
    ct = client.containers.create("opsgen-sandbox:bookworm", "true", labels={"opsgen.test": "1"})
    try:
        assert ct.put_archive("/", buf.getvalue())
        return ct.commit(repository=REPO, tag=tag)
    finally:
        ct.remove(force=True)


@pytest.fixture(scope="module", params=sorted(HOSTILE))
def hostile_image(request: pytest.FixtureRequest, docker_client: Any) -> Iterator[str]:
    tag = str(request.param)
    image = _image(docker_client, tag, HOSTILE[tag])
    try:
        yield f"{REPO}:{tag}"
    finally:
        docker_client.images.remove(image.id, force=True)


@pytest.mark.parametrize("mode", ["auto", "archive"])
def test_adv31_bundle_path_links_in_the_image_never_reach_the_host(
    docker_client: Any,
    no_leaks: None,
    monkeypatch: pytest.MonkeyPatch,
    hostile_image: str,
    mode: str,
) -> None:
    monkeypatch.setenv("OPSGEN_BUNDLE_COPY", mode)
    before = _snapshot(Path("/etc"))
    script = "cd /.opsgen && sha256sum -c --quiet SHA256SUMS && test -d /.opsgen/bin && echo ok\n"
    try:
        report = dry(docker_client, script, image=hostile_image)
    except OpsError as exc:  # failing cleanly is allowed; writing through the link is not
        report = None
        assert "sandbox" in str(exc).lower() or "engine" in str(exc).lower(), exc
    assert _snapshot(Path("/etc")) == before
    for name in BUNDLE_NAMES:
        assert name in before or not (Path("/etc") / name).exists(), name
    if report is None:
        return
    if mode == "archive":
        assert report.bundle_copy == "put_archive"
    run = report.first
    assert run.status == "passed" and run.stdout.strip() == "ok", run
    assert not [f.path for f in report.diff.files if f.path.startswith("/etc")]


def test_adv31_fast_path_is_used_on_the_hostile_images(
    docker_client: Any, no_leaks: None, monkeypatch: pytest.MonkeyPatch, hostile_image: str
) -> None:
    """The links are shadowed, not a reason to fall back: the test above saw the fast path."""
    monkeypatch.delenv("OPSGEN_BUNDLE_COPY", raising=False)
    probe = dry(docker_client, "true\n")
    if probe.bundle_copy != "upperdir":
        pytest.skip("engine layers not writable here: the fast path is not in use")
    report = dry(docker_client, "readlink /.opsgen || echo plain\n", image=hostile_image)
    assert report.bundle_copy == "upperdir"
    assert report.first.stdout.strip() == "plain"  # our directory, not the image's link
