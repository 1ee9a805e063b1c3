"""The layer walk and the diff budget, on plain directories: no engine needed.

:func:`opsgen.sandbox.usage.measure` counts what a writable layer really holds (blocks,
inodes), never follows a link and stops at the quota; :class:`opsgen.sandbox.observe.Budget`
decides which changed entries are read in detail, and what the analysis needs comes first.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from opsgen.sandbox.observe import WALK_STOPPED, Budget
from opsgen.sandbox.usage import MAX_DEPTH, layer_dir, measure

MiB = 1 << 20
BIG = 1 << 40


def test_counts_allocated_blocks_of_reserved_space(tmp_path: Path) -> None:
    # fallocate(FALLOC_FL_KEEP_SIZE): 8 MiB of blocks, size 0 (what `fallocate -n` does).
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    f = tmp_path / "reserved"
    with open(f, "wb") as fh:
        if libc.fallocate(fh.fileno(), 1, ctypes.c_long(0), ctypes.c_long(8 * MiB)) != 0:
            pytest.skip("no fallocate on this file system")
    st = os.stat(f)
    assert st.st_size == 0 and st.st_blocks * 512 >= 8 * MiB
    usage = measure(tmp_path, max_bytes=BIG, max_inodes=BIG, time_limit_s=10)
    assert usage is not None and usage.stopped == ""
    assert usage.nbytes >= 8 * MiB and usage.inodes == 2  # the root and the file


def test_sparse_file_counts_its_size_and_hard_links_count_once(tmp_path: Path) -> None:
    sparse = tmp_path / "sparse"
    with open(sparse, "wb") as fh:
        fh.truncate(64 * MiB)  # no blocks, 64 MiB apparent
    data = tmp_path / "data"
    data.write_bytes(b"x" * MiB)
    for i in range(50):
        os.link(data, tmp_path / f"link{i}")
    usage = measure(tmp_path, max_bytes=BIG, max_inodes=BIG, time_limit_s=10)
    assert usage is not None
    assert 65 * MiB <= usage.nbytes < 66 * MiB  # 64 (sparse) + 1 (data once) + dirs
    assert usage.inodes == 3


def test_stops_as_soon_as_over_the_inode_quota(tmp_path: Path) -> None:
    for i in range(300):
        (tmp_path / f"f{i}").touch()
    usage = measure(tmp_path, max_bytes=BIG, max_inodes=100, time_limit_s=10)
    assert usage is not None and usage.stopped == "quota" and usage.inodes == 101


def test_never_follows_links(tmp_path: Path) -> None:
    # A link to a big host tree (here: a sibling dir standing in for the host's /).
    host = tmp_path / "host"
    host.mkdir()
    (host / "big").write_bytes(b"y" * (4 * MiB))
    layer = tmp_path / "layer"
    layer.mkdir()
    (layer / "escape").symlink_to(host)
    (layer / "abs").symlink_to("/")
    usage = measure(layer, max_bytes=BIG, max_inodes=BIG, time_limit_s=10)
    assert usage is not None and usage.inodes == 3 and usage.nbytes < MiB


def test_a_tree_deeper_than_the_bound_is_reported_not_walked(tmp_path: Path) -> None:
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        for _ in range(MAX_DEPTH + 5):
            os.mkdir("d", dir_fd=fd)
            child = os.open("d", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = child
    finally:
        os.close(fd)
    usage = measure(tmp_path, max_bytes=BIG, max_inodes=BIG, time_limit_s=10)
    assert usage is not None and usage.stopped == "depth"
    # Leave nothing pytest's tmp cleanup cannot remove by name.
    import shutil

    shutil.rmtree(tmp_path / "d", ignore_errors=True)


def test_missing_root_is_none(tmp_path: Path) -> None:
    assert measure(tmp_path / "nope", max_bytes=1, max_inodes=1, time_limit_s=1) is None


def test_layer_dir_accepts_only_the_engine_layout(tmp_path: Path) -> None:
    layer_id = "a" * 64
    upper = tmp_path / "overlay2" / layer_id / "diff"
    (upper / ".opsgen").mkdir(parents=True)
    info = {"Driver": "overlay2", "DockerRootDir": str(tmp_path)}

    def container(path: str, name: str = "overlay2") -> SimpleNamespace:
        return SimpleNamespace(attrs={"GraphDriver": {"Name": name, "Data": {"UpperDir": path}}})

    assert layer_dir(container(str(upper)), info) == upper
    assert layer_dir(container(str(upper)), {**info, "Driver": "btrfs"}) is None
    assert layer_dir(container(str(upper), "vfs"), info) is None
    assert layer_dir(container(str(upper) + "/../diff"), info) is None
    assert layer_dir(container(str(tmp_path / "overlay2" / "x" / "diff")), info) is None
    assert layer_dir(container("/etc"), info) is None
    # A remote engine's path: the layout fits, but it is not here (no bundle in it).
    other = tmp_path / "overlay2" / ("b" * 64) / "diff"
    other.mkdir(parents=True)
    assert layer_dir(container(str(other)), info) is None
    # A level that is a link is refused.
    linked = tmp_path / "overlay2" / ("c" * 64)
    linked.symlink_to(upper.parent)
    assert layer_dir(container(str(linked / "diff")), info) is None


# ----------------------------------------------------------------------- Budget


def test_budget_caps_entries_and_counts_the_rest_per_top_folder() -> None:
    entries = [(f"/var/many/f{i}", i) for i in range(20_000)]
    entries += [("/etc/passwd", -1), ("/etc/cron.d/evil", -2), ("/srv/app.conf", -3)]
    budget = Budget(entries=500, per_dir=100)
    kept = dict(budget.select(iter(entries)))
    assert len(kept) <= 500
    assert {"/etc/passwd", "/etc/cron.d/evil", "/srv/app.conf"} <= set(kept)
    assert budget.summarised() == (("/var", 20_000 - 100),)


def test_budget_lists_what_the_analysis_needs_first_when_over_the_limit() -> None:
    # A flood spread over many directories (each under the per-directory limit).
    entries = [(f"/a/d{i}/f{j}", 0) for i in range(100) for j in range(20)]
    entries.append(("/var/lib/dpkg/status", 0))
    entries.append(("/root/.ssh/authorized_keys", 0))
    budget = Budget(entries=50, per_dir=1000)
    kept = [p for p, _ in budget.select(entries)]
    assert kept[0] == "/var/lib/dpkg/status" and kept[1] == "/root/.ssh/authorized_keys"
    assert len(kept) == 50 and budget.summarised() == (("/a", 2000 - 48),)


def test_budget_read_bytes_and_scan_bounds() -> None:
    budget = Budget(read_bytes=10 * MiB)
    assert budget.take_read("/var/a", 8 * MiB)
    assert not budget.take_read("/var/b", 8 * MiB)  # over: left out, counted
    assert budget.take_read("/etc/passwd", 1 * MiB)  # the analysis' files are always read
    assert "/var/b" in budget.refused and budget.summarised() == (("/var", 1),)
    walk = Budget(scan=1000)
    kept = walk.select((f"/x/{i}", i) for i in range(5000))
    assert len(kept) == 1000 and walk.walk_stopped
    assert walk.summarised()[-1] == (WALK_STOPPED, 0)
