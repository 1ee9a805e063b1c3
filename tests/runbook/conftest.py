"""Fixtures of the runbook tests: the public corpus (read in place), our own fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opsgen.runbook import Runbook, parse_runbook, read_runbook


@pytest.fixture(scope="session")
def corpus(shared_dir: Path) -> Path:
    """``../shared/bench/runbooks``: 26 real runbooks, never copied into the repository."""
    return shared_dir / "bench" / "runbooks"


@pytest.fixture(scope="session")
def corpus_files(corpus: Path) -> list[Path]:
    """The 26 runbooks listed in the corpus manifest (MANIFEST.md itself excluded)."""
    entries = json.loads((corpus / "MANIFEST.json").read_text(encoding="utf-8"))
    files = [corpus / e["file"] for e in entries]
    assert len(files) == 26
    return files


@pytest.fixture(scope="session")
def manifest(corpus: Path) -> list[dict]:
    """The corpus manifest rows (file, title, code_blocks, ...)."""
    return json.loads((corpus / "MANIFEST.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def load(corpus: Path):
    """Parse one corpus runbook by its path relative to the corpus folder."""

    def _load(relative: str) -> Runbook:
        return parse_runbook(read_runbook(corpus / relative), relative)

    return _load
