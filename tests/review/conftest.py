"""Fixtures of the review tests: a real store in a temp workspace."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from opsgen.store.repo import Store
from opsgen.store.workspace import Workspace


@pytest.fixture()
def workspace(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "ws")


@pytest.fixture()
def store(workspace: Workspace) -> Iterator[Store]:
    with Store.open(workspace, create=True) as opened:
        yield opened
