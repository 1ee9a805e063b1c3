"""Shared fixtures. Docker tests talk to a real engine; in CI a missing engine fails them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

IN_CI = bool(os.environ.get("CI"))
REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

# `opsgen dryrun`/`lint` started as processes would otherwise start (and then use) a warm
# worker in the user's runtime dir: tests run in-process unless they test the worker
# (tests/worker drops this variable and gives each test its own runtime dir).
os.environ.setdefault("OPSGEN_NO_WORKER", "1")


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI needs this, but: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    """A client of a live engine that has the sandbox image; fails (CI) or skips (locally)."""
    from opsgen.errors import OpsError
    from opsgen.sandbox.engine import DEFAULT_IMAGE, connect, resolve_image

    try:
        client = connect(timeout=60)
        resolve_image(client, DEFAULT_IMAGE)
    except OpsError as exc:
        _unavailable(f"sandbox not available: {exc.message}")
    yield client
    client.close()


@pytest.fixture()
def passing_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lint and dry-run replaced at their seam by clean, passing evidence of the exact text."""
    from opsgen.flow import checks
    from opsgen.flow.testing import passing_evaluate

    monkeypatch.setattr(checks, "evaluate", passing_evaluate)
    monkeypatch.setattr(checks, "dryrun_options", lambda image=None, twice=True: None)


@pytest.fixture(scope="session")
def tools_sandbox(docker_client: Any) -> Any:
    """Where lint runs the Ansible tools: containers of the tools image (never this host)."""
    from opsgen.sandbox.toolbox import ContainerTools

    tools = ContainerTools(client=docker_client)
    if not tools.identity():
        _unavailable(tools.problem)
    return tools


@pytest.fixture()
def no_leaks(docker_client: Any) -> Iterator[None]:
    """Assert that a test leaves no sandbox container of this process behind."""
    yield
    # One list call (no per-container inspect): a container of another process that is
    # removed while we look cannot turn into a NotFound here.
    rows = docker_client.api.containers(all=True, filters={"label": "opsgen.sandbox=1"})
    mine = [
        r["Id"][:12]
        for r in rows
        if (r.get("Labels") or {}).get("opsgen.sandbox.owner_pid") == str(os.getpid())
    ]
    assert mine == [], f"leaked containers: {mine}"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` beside the repository (read-only public data)."""
    if not SHARED.is_dir():
        _unavailable(f"{SHARED} is missing")
    return SHARED
