"""Helpers for the worker tests: run the console script, read the worker's log."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

OPSGEN = str(Path(sys.executable).parent / "opsgen")


def opsgen(
    *args: str, env: dict[str, str], timeout: int = 180, **kw: Any
) -> subprocess.CompletedProcess[str]:
    """Run the console script (the launcher) with ``env``."""
    return subprocess.run(
        [OPSGEN, *args], capture_output=True, text=True, timeout=timeout, env=env, **kw
    )


def log_text(env: dict[str, str]) -> str:
    """The worker's log."""
    path = Path(env["OPSGEN_RUNTIME_DIR"]) / "worker.log"
    return path.read_text() if path.exists() else ""


def child_pids(env: dict[str, str]) -> set[str]:
    """Pids of the children the worker forked, from its log."""
    return set(re.findall(r"child (\d+): (?:dryrun|lint|new|version)$", log_text(env), re.M))


def served(env: dict[str, str]) -> int:
    """How many requests the worker has served (-1 when none runs).

    Skips the test when the worker went stale because someone edited one of its loaded
    modules meanwhile (the checkout is shared): falling back is then the right behaviour,
    but not what the test is about.
    """
    out = opsgen("worker", "status", env=env, timeout=60).stdout
    found = re.search(r"(\d+) request\(s\) served", out)
    if "the installed opsgen changed" in log_text(env):
        pytest.skip("opsgen's files changed during the test: the worker went stale")
    return int(found.group(1)) if found else -1


def containers_of(client: Any, pids: set[str]) -> list[dict[str, Any]]:
    """Sandbox containers (as listed by the engine) created by one of ``pids``."""
    # The low-level list: the high-level one inspects each container and can race with
    # other people's runs removing theirs.
    listed = client.api.containers(all=True, filters={"label": "opsgen.sandbox=1"})
    return [c for c in listed if (c.get("Labels") or {}).get("opsgen.sandbox.owner_pid") in pids]


def wait_for(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Poll ``check`` until it returns something truthy; that value, or the last falsy one."""
    deadline = time.monotonic() + timeout
    value = check()
    while not value and time.monotonic() < deadline:
        time.sleep(0.1)
        value = check()
    return value
