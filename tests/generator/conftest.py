"""Generator test set-up: helper modules on sys.path, a private model cache per test."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # for fakes and openai_stub


@pytest.fixture()
def model_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty model cache folder for this test only."""
    monkeypatch.setenv("OPSGEN_MODEL_DIR", str(tmp_path / "models"))
    return tmp_path / "models"
