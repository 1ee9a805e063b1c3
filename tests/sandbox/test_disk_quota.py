"""Disk quota by allocated blocks and inodes, and bounded host work on big diffs (issue 14).

The engine's ``SizeRw`` sums apparent sizes, so space reserved with ``fallocate -n`` (blocks,
size 0) and the blocks of many tiny files went uncounted, and a 1 GiB ``fallocate -n`` passed
the 64 MiB per-file cap (RLIMIT_FSIZE does not apply to KEEP_SIZE). On a local overlay2
engine the sandbox now walks the container's upper directory from the host and counts
allocated blocks and inodes; a burst between two polls is caught by a last measurement
after the container stopped. Reading the diff on the host is bounded: past a fixed number of
entries the rest is counted per top-level folder and the report says so.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from opsgen.sandbox.models import DryRunReport
from opsgen.sandbox.policy import OPS

sys.path.insert(0, str(Path(__file__).parent))
from helpers import dry, render

MiB = 1 << 20


def codes(report: DryRunReport) -> set[str]:
    return {f.code for f in report.findings}


def assert_over_disk_quota(report: DryRunReport) -> None:
    """The run is reported as over the disk quota: never passed, OPS405, verdict not OK."""
    run = report.first
    assert run.status in ("killed", "failed"), run
    assert "disk" in run.limits_hit, run
    assert "OPS405" in codes(report)
    assert not report.ok
    assert run.disk_accounting == "blocks"
    assert "NOT OK" in render(report)


def _local_overlay(client: Any) -> bool:
    info = client.info()
    return info.get("Driver") == "overlay2" and os.geteuid() == 0


@pytest.fixture()
def blocks(docker_client: Any) -> None:
    if not _local_overlay(docker_client):
        pytest.skip("block accounting needs a local overlay2 engine and root")


@pytest.mark.docker
def test_fallocate_keep_size_files_count_their_blocks(
    docker_client: Any, no_leaks: None, blocks: None
) -> None:
    # 20 x 60 MiB reserved with KEEP_SIZE: apparent size 0, 1.2 GB of real blocks. (With -n
    # fallocate does not create the file, so each is made empty first.)
    script = (
        "for i in $(seq 1 20); do : > /var/tmp/f$i; fallocate -n -l 60M /var/tmp/f$i; done\n"
        "echo done\n"
    )
    report = dry(docker_client, script, timeout=30)
    assert_over_disk_quota(report)
    assert report.first.disk_bytes is not None
    assert report.first.disk_bytes >= 20 * 60 * MiB  # counted in full after the run


@pytest.mark.docker
def test_fallocate_past_the_file_size_cap_is_over_quota(
    docker_client: Any, no_leaks: None, blocks: None
) -> None:
    # One instant 1 GiB reservation past the 64 MiB fsize cap; the script exits at once, so
    # only the measurement after the container stopped can see it.
    script = ": > /var/tmp/big\nfallocate -n -l 1G /var/tmp/big\necho rc=$?\n"
    report = dry(docker_client, script, timeout=30)
    assert report.first.stdout == "rc=0\n"  # fsize does not stop fallocate -n
    assert_over_disk_quota(report)
    assert report.first.disk_bytes is not None and report.first.disk_bytes >= 1 << 30


@pytest.mark.docker
def test_many_one_byte_files_count_blocks_and_inodes(
    docker_client: Any, no_leaks: None, blocks: None
) -> None:
    # 150k one-byte files: 150 kB apparent, about 600 MB of blocks and 150k inodes.
    script = "mkdir /var/tiny && cd /var/tiny\nfor i in $(seq 1 150000); do echo > f$i; done\n"
    t0 = time.monotonic()
    report = dry(docker_client, script, timeout=90)
    assert_over_disk_quota(report)
    run = report.first
    assert run.disk_inodes is not None
    assert run.disk_inodes > OPS.inode_quota or (run.disk_bytes or 0) > OPS.disk_quota_bytes
    assert time.monotonic() - t0 < 120  # coarse: killed near the quota, diff bounded


@pytest.mark.docker
def test_small_write_passes_and_reports_its_usage(docker_client: Any, no_leaks: None) -> None:
    report = dry(docker_client, "head -c 100000 /dev/urandom > /var/tmp/small\necho ok\n")
    run = report.first
    assert run.status == "passed" and "disk" not in run.limits_hit, run
    assert "OPS405" not in codes(report) and report.ok
    assert run.disk_bytes is not None and 100_000 <= run.disk_bytes < 8 * MiB
    if _local_overlay(docker_client):
        assert run.disk_accounting == "blocks"
        assert run.disk_inodes is not None and 1 <= run.disk_inodes < 200
    text = render(report)
    assert "disk:" in text and run.disk_accounting in text


@pytest.mark.docker
def test_without_a_readable_upper_dir_falls_back_to_apparent_size(
    docker_client: Any, no_leaks: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import opsgen.sandbox.stage as stage

    monkeypatch.setattr(stage, "layer_dir", lambda container, info: None)
    report = dry(docker_client, "head -c 100000 /dev/urandom > /var/tmp/small\n")
    run = report.first
    assert run.status == "passed" and run.disk_accounting == "apparent"
    assert run.disk_bytes is not None and run.disk_bytes >= 100_000
    assert run.disk_inodes is None
    assert any("fallocate" in w for w in report.engine_warnings)  # the gap is said
    assert "apparent" in render(report)


# ---------------------------------------------------------------- bounded host work (5)


@pytest.mark.docker
@pytest.mark.parametrize("observer", ["auto", "api"])
def test_150k_empty_files_are_summarised_not_listed(
    docker_client: Any, no_leaks: None, monkeypatch: pytest.MonkeyPatch, observer: str
) -> None:
    from opsgen.sandbox.observe import DETAIL_LIMIT

    monkeypatch.setenv("OPSGEN_OBSERVE", observer)
    # A higher inode quota lets all 150k files be made: this is about the host's work on the
    # diff, not the quota. A user and a cron file hide in the flood and must still be seen.
    policy = replace(OPS, inode_quota=1_000_000)
    script = (
        "mkdir /var/many && cd /var/many\n"
        "for i in $(seq 1 150000); do : > f$i; done\n"
        "useradd -M evil\n"
        "echo '* * * * * root true' > /etc/cron.d/evil\n"
    )
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.monotonic()
    report = dry(docker_client, script, timeout=120, policy=policy)
    elapsed = time.monotonic() - t0
    text = render(report)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
    assert report.first.status == "passed", report.first
    assert len(report.diff.files) <= DETAIL_LIMIT
    summarised = dict(report.diff.summarised)
    assert summarised.get("/var", 0) >= 150_000 - DETAIL_LIMIT
    assert sum(summarised.values()) + len(report.diff.files) >= 150_000
    assert "OPS410" in codes(report)
    assert "not listed" in text and len(text.splitlines()) < DETAIL_LIMIT + 200
    assert [u.name for u in report.diff.users] == ["evil"]
    assert "/etc/cron.d/evil" in report.diff.paths()
    assert report.diff.cron and report.diff.cron[0].path == "/etc/cron.d/evil"
    assert elapsed < 90, elapsed  # was 63 s of host work after a 4 s run
    assert grown_mib < 250, grown_mib  # was 405 MB
