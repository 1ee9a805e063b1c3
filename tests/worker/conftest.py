"""Fixtures for the worker tests: real processes, each test with its own runtime dir."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest
from worker_helpers import opsgen


@pytest.fixture()
def env() -> Iterator[dict[str, str]]:
    """An environment with a private OPSGEN_RUNTIME_DIR; stops any worker left there."""
    # Not tmp_path: a Unix socket path must stay under 108 bytes.
    rundir = tempfile.mkdtemp(prefix="opsgen-w-")
    environ = {k: v for k, v in os.environ.items() if k != "OPSGEN_NO_WORKER"}
    environ["OPSGEN_RUNTIME_DIR"] = os.path.join(rundir, "run")
    # Loading the model takes a second and a gigabyte: only the test about it asks for it.
    environ["OPSGEN_WORKER_MODEL"] = "0"
    try:
        yield environ
    finally:
        opsgen("worker", "stop", env=environ, timeout=60)
        shutil.rmtree(rundir, ignore_errors=True)


@pytest.fixture()
def worker(env: dict[str, str]) -> dict[str, str]:
    """A started worker (stopped by ``env``'s teardown)."""
    proc = opsgen("worker", "start", "--idle", "300", env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "worker started" in proc.stdout
    return env
