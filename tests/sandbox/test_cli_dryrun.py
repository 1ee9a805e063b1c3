"""`opsgen dryrun` from the outside: exit codes and one-line errors for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest


def opsgen(
    *args: str, env: dict[str, str] | None = None, timeout: int = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "opsgen.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def assert_one_line_error(proc: subprocess.CompletedProcess[str], code: int, needle: str) -> None:
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    first = proc.stderr.strip().splitlines()[0]
    assert first.startswith("error[") and needle in first, proc.stderr


def test_missing_file(tmp_path: Path) -> None:
    assert_one_line_error(opsgen("dryrun", str(tmp_path / "nope.sh")), 3, "no such file")


def test_empty_file(tmp_path: Path) -> None:
    p = tmp_path / "empty.sh"
    p.write_text("  \n")
    assert_one_line_error(opsgen("dryrun", str(p)), 3, "empty")


def test_binary_file(tmp_path: Path) -> None:
    p = tmp_path / "bin.sh"
    p.write_bytes(b"#!/bin/bash\n\x00\x01\x02")
    assert_one_line_error(opsgen("dryrun", str(p)), 3, "binary")


def test_fifty_megabyte_script_is_refused_without_reading_it(tmp_path: Path) -> None:
    p = tmp_path / "huge.sh"
    with p.open("wb") as f:
        f.write(b"echo hi\n" * (50 * 1024 * 1024 // 8))
    proc = opsgen("dryrun", str(p))
    assert_one_line_error(proc, 3, "limit")


def test_non_utf8(tmp_path: Path) -> None:
    p = tmp_path / "latin1.sh"
    p.write_bytes("echo caf\xe9\n".encode("latin-1"))
    assert_one_line_error(opsgen("dryrun", str(p)), 3, "UTF-8")


def test_dead_engine(tmp_path: Path) -> None:
    p = tmp_path / "ok.sh"
    p.write_text("echo hi\n")
    proc = opsgen("dryrun", str(p), env={"DOCKER_HOST": f"unix://{tmp_path}/no-such.sock"})
    assert_one_line_error(proc, 4, "no Docker engine answers")
    assert "hint:" in proc.stderr


def test_missing_image(tmp_path: Path, docker_client: object) -> None:
    p = tmp_path / "ok.sh"
    p.write_text("echo hi\n")
    proc = opsgen("dryrun", "--image", "opsgen-no-such-image:never", str(p))
    assert_one_line_error(proc, 4, "not on this Docker engine")


@pytest.mark.docker
def test_stale_default_image_is_refused(
    docker_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An image built from other sandbox files (another opsgen version) is not used quietly."""
    import io

    from opsgen.errors import ImageMissing
    from opsgen.sandbox import engine
    from opsgen.sandbox.imagecontent import CONTENT_LABEL

    stale = "opsgen-sandbox:stale-test"
    dockerfile = f"FROM {engine.DEFAULT_IMAGE}\nLABEL {CONTENT_LABEL}=0000000000000000\n"
    docker_client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=stale, rm=True,
                               labels={"opsgen.test": "1"})
    try:
        assert engine.resolve_image(docker_client, engine.DEFAULT_IMAGE)  # control: current
        monkeypatch.setattr(engine, "DEFAULT_IMAGE", stale)
        with pytest.raises(ImageMissing, match="another version of opsgen"):
            engine.resolve_image(docker_client, stale)
    finally:
        docker_client.images.remove(stale, force=True)


def test_help_documents_exit_codes() -> None:
    proc = opsgen("dryrun", "--help")
    assert proc.returncode == 0
    for needle in ("Exit 0", "1 when a run failed", "3 for a bad file", "4 when the sandbox"):
        assert needle in " ".join(proc.stdout.split())
    top = opsgen("--help")
    assert "Exit codes:" in top.stdout


@pytest.mark.docker
def test_json_report_and_exit_status(tmp_path: Path, docker_client: object, no_leaks: None) -> None:
    ok = tmp_path / "ok.sh"
    ok.write_text("#!/bin/bash\necho hi > /etc/hi\n")
    proc = opsgen("dryrun", "--json", "--twice", str(ok))
    assert proc.returncode == 0, proc.stderr  # overwriting a file is idempotent
    data = json.loads(proc.stdout)
    assert data["lang"] == "bash" and data["runs"][0]["status"] == "passed"
    assert [f["path"] for f in data["diff"]["files"]] == ["/etc/hi"]
    assert data["idempotent"] is True and data["ok"] is True
    bad = tmp_path / "bad.sh"
    bad.write_text("#!/bin/bash\nexit 3\n")
    proc = opsgen("dryrun", "--json", str(bad))
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["runs"][0]["exit_code"] == 3
