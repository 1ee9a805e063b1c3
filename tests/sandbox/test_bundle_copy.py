"""The bundle written straight into the upper layer must equal what ``put_archive`` leaves.

Unit tests (a temporary directory stands in for an overlay2 root) run everywhere as root;
the engine tests compare both copies on the real engine, layer entry for entry and report
for report.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
from dataclasses import asdict
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from test_diff import KNOWN

from opsgen.sandbox import DryRunOptions, DryRunReport, dryrun
from opsgen.sandbox.bundle import make_bundle
from opsgen.sandbox.upperdir import copy_mode, upper_dir, write_bundle

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="owner 0:0 needs root")
ID = "ab" * 32


def _tree(root: Path) -> dict[str, tuple[Any, ...]]:
    """Every entry below ``root``: type, mode, owner, whole-second mtime, content hash."""
    out: dict[str, tuple[Any, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in (*dirnames, *filenames):
            path = Path(dirpath) / name
            st = os.lstat(path)
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
            out[str(path.relative_to(root))] = (
                stat.S_IFMT(st.st_mode),
                stat.S_IMODE(st.st_mode),
                st.st_uid,
                st.st_gid,
                int(st.st_mtime),
                digest,
            )
    return out


def _fake(tmp_path: Path, **data: Any) -> tuple[Any, dict[str, Any], Path]:
    """A container-like object and engine info whose overlay2 root is under ``tmp_path``."""
    upper = tmp_path / "overlay2" / ID / "diff"
    upper.mkdir(parents=True)

    data = {"UpperDir": str(upper), "MergedDir": str(upper.parent / "merged")} | data
    container = SimpleNamespace(attrs={"GraphDriver": {"Name": "overlay2", "Data": data}})
    info = {"Driver": "overlay2", "DockerRootDir": str(tmp_path), "SecurityOptions": []}
    return container, info, upper


# ------------------------------------------------------------------ units, no engine


@needs_root
@pytest.mark.parametrize("lang", ["bash", "ansible"])
def test_write_bundle_equals_tar_extraction(tmp_path: Path, lang: str) -> None:
    script = "- hosts: web\n  tasks: []\n" if lang == "ansible" else "echo hi\n"
    bundle = make_bundle(script, lang, extra={"files/nginx/site.conf": b"x"})
    (tmp_path / "tar").mkdir()
    (tmp_path / "fast").mkdir()
    old = os.umask(0o022)  # missing parents 0755, as the engine's unpacker makes them
    try:
        with tarfile.open(fileobj=io.BytesIO(bundle)) as tar:
            tar.extractall(tmp_path / "tar", filter="fully_trusted")  # our own tar, as root
    finally:
        os.umask(old)
    write_bundle(tmp_path / "fast", bundle)
    tar_tree, fast_tree = _tree(tmp_path / "tar"), _tree(tmp_path / "fast")
    assert {k: v[:4] + v[5:] for k, v in fast_tree.items()} == {
        k: v[:4] + v[5:] for k, v in tar_tree.items()
    }
    members = {m.name: m for m in tarfile.open(fileobj=io.BytesIO(bundle)).getmembers()}
    for name, entry in fast_tree.items():
        assert entry[2:4] == (0, 0), name
        if name in members:
            assert entry[4] == int(members[name].mtime), name  # the tar's mtimes, dirs too


@needs_root
@pytest.mark.parametrize("target_kind", ["symlink-to-dir", "dangling-symlink", "file", "dir"])
def test_existing_bundle_path_is_never_reused_or_followed(tmp_path: Path, target_kind: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    upper = tmp_path / "upper"
    upper.mkdir()
    entry = upper / ".opsgen"
    if target_kind == "symlink-to-dir":
        entry.symlink_to(outside)
    elif target_kind == "dangling-symlink":
        entry.symlink_to(outside / "missing")
    elif target_kind == "file":
        entry.write_text("image file")
    else:
        entry.mkdir()
    with pytest.raises(FileExistsError):
        write_bundle(upper, make_bundle("echo hi\n", "bash"))
    assert list(outside.iterdir()) == []
    assert [p.name for p in upper.iterdir()] == [".opsgen"]
    if entry.is_dir() and not entry.is_symlink():
        assert list(entry.iterdir()) == []  # nothing written into what was there


@needs_root
def test_a_failure_half_way_leaves_nothing_behind(tmp_path: Path) -> None:
    bundle = make_bundle("echo hi\n", "bash")
    buf = io.BytesIO()
    with (
        tarfile.open(fileobj=io.BytesIO(bundle)) as src,
        tarfile.open(fileobj=buf, mode="w") as dst,
    ):
        for m in src.getmembers():
            dst.addfile(m, src.extractfile(m) if m.isfile() else None)
        run = src.getmember(".opsgen/run")
        dst.addfile(run, src.extractfile(run))  # a duplicate: EEXIST after a dozen entries
    with pytest.raises(FileExistsError):
        write_bundle(tmp_path, buf.getvalue())
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "member",
    [
        ("link", tarfile.SYMTYPE, 0o777, ".opsgen/bin/x"),
        ("hard", tarfile.LNKTYPE, 0o644, ".opsgen/run"),
        ("fifo", tarfile.FIFOTYPE, 0o644, ""),
        ("out", tarfile.REGTYPE, 0o644, ""),
        ("setuid", tarfile.REGTYPE, 0o4755, ""),
        ("abs", tarfile.REGTYPE, 0o644, ""),
        ("dotdot", tarfile.REGTYPE, 0o644, ""),
    ],
)
def test_only_plain_entries_under_the_bundle_dir(tmp_path: Path, member: tuple[Any, ...]) -> None:
    kind, ftype, mode, link = member
    name = {
        "out": "etc/x",
        "abs": "/.opsgen/x",
        "dotdot": ".opsgen/../etc/x",
    }.get(kind, f".opsgen/{kind}")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        d = tarfile.TarInfo(".opsgen")
        d.type, d.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(d)
        info = tarfile.TarInfo(name)
        info.type, info.mode, info.linkname = ftype, mode, link
        tar.addfile(info, io.BytesIO(b"") if ftype == tarfile.REGTYPE else None)
    with pytest.raises(ValueError):
        write_bundle(tmp_path, buf.getvalue())
    assert list(tmp_path.iterdir()) == []  # refused before anything was made


@needs_root
def test_upper_dir_accepts_a_plain_overlay2_layout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPSGEN_BUNDLE_COPY", raising=False)
    container, info, upper = _fake(tmp_path)
    assert copy_mode() == "auto"
    assert upper_dir(container, info) == upper


@needs_root
@pytest.mark.parametrize(
    "case",
    [
        "forced-archive",
        "userns",
        "rootless",
        "other-driver",
        "outside-root",
        "dotdot",
        "not-an-id",
        "relative",
        "diff-is-symlink",
        "layer-is-symlink",
        "missing",
        "mounted",
    ],
)
def test_upper_dir_refuses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    monkeypatch.delenv("OPSGEN_BUNDLE_COPY", raising=False)
    container, info, upper = _fake(tmp_path)
    data = container.attrs["GraphDriver"]["Data"]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    if case == "forced-archive":
        monkeypatch.setenv("OPSGEN_BUNDLE_COPY", "archive")
    elif case in ("userns", "rootless"):
        info["SecurityOptions"] = [f"name={case}"]
    elif case == "other-driver":
        info["Driver"] = "btrfs"
    elif case == "outside-root":
        data["UpperDir"] = str(elsewhere)
    elif case == "dotdot":
        data["UpperDir"] = f"{tmp_path}/overlay2/{ID}/diff/../../../elsewhere"
    elif case == "not-an-id":
        (tmp_path / "overlay2" / "l" / "diff").mkdir(parents=True)
        data["UpperDir"] = str(tmp_path / "overlay2" / "l" / "diff")
    elif case == "relative":
        data["UpperDir"] = f"overlay2/{ID}/diff"
    elif case == "diff-is-symlink":
        upper.rmdir()
        upper.symlink_to(elsewhere)
    elif case == "layer-is-symlink":
        other = tmp_path / "overlay2" / ("cd" * 32)
        other.mkdir()
        (other / "diff").mkdir()
        upper.rmdir()
        upper.parent.rmdir()
        upper.parent.symlink_to(other)
    elif case == "missing":
        upper.rmdir()
    elif case == "mounted":
        data["MergedDir"] = "/"
    assert upper_dir(container, info) is None


# ------------------------------------------------------------------ the real engine


def _with_copy(mode: str, monkeypatch: pytest.MonkeyPatch, *args: Any, **kw: Any) -> DryRunReport:
    monkeypatch.setenv("OPSGEN_BUNDLE_COPY", mode)
    return dryrun(*args, **kw)


def _comparable(report: DryRunReport) -> dict[str, Any]:
    data = report.to_dict()
    data.pop("bundle_copy")
    for run in data["runs"]:
        run.pop("duration_s")
    for f in data["findings"]:  # messages quote durations
        f["message"] = f["message"].split(" after ")[0]
    return data


@pytest.mark.docker
def test_same_report_through_put_archive_and_the_upper_layer(
    docker_client: Any, no_leaks: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    opts = DryRunOptions(twice=True, timeout=60)
    fast = _with_copy("auto", monkeypatch, KNOWN, "bash", opts, client=docker_client)
    ref = _with_copy("archive", monkeypatch, KNOWN, "bash", opts, client=docker_client)
    assert ref.bundle_copy == "put_archive"
    if fast.bundle_copy != "upperdir":
        pytest.skip("engine layers not writable here: only put_archive was exercised")
    assert _comparable(fast) == _comparable(ref)
    assert asdict(fast.diff) == asdict(ref.diff) and fast.diff.files


@pytest.mark.docker
def test_upper_layer_is_what_put_archive_leaves(
    docker_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPSGEN_BUNDLE_COPY", raising=False)
    bundle = make_bundle("echo hi\n", "bash")
    info = docker_client.info()
    trees = []
    for fast in (True, False):
        ct = docker_client.containers.create(
            "opsgen-sandbox:bookworm", "true", labels={"opsgen.test": "1"}
        )
        try:
            upper = upper_dir(ct, info)
            if upper is None:
                pytest.skip("engine layers not writable here")
            if fast:
                write_bundle(upper, bundle)
            else:
                assert ct.put_archive("/", bundle)
            trees.append(_tree(upper))
        finally:
            ct.remove(force=True)
    assert trees[0] == trees[1]
    assert ".opsgen/run" in trees[0] and len(trees[0]) > 10
