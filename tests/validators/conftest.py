"""Shared fixtures for the validator tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from opsgen.findings import Finding
from opsgen.validators import Artifact, Rule

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def _lint_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("opsgen-cache")


@pytest.fixture(autouse=True)
def _private_lint_cache(_lint_cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tool results are cached in a folder of this test session, never in ``~/.cache``."""
    monkeypatch.setenv("OPSGEN_CACHE_DIR", str(_lint_cache_dir))
    monkeypatch.delenv("OPSGEN_NO_CACHE", raising=False)
    yield


_TOOLS: list[Any] = []


def _run_rule(rule: type[Rule], text: str, lang: Any = "bash", **kw: Any) -> list[Finding]:
    if lang == "ansible" and "sandbox" not in kw:
        # the Ansible tools run in containers; contacted only by rules that need a tool
        from opsgen.sandbox.toolbox import ContainerTools

        _TOOLS[:] = _TOOLS or [ContainerTools()]
        kw["sandbox"] = _TOOLS[0]
    with Artifact(text, lang, "t", **kw) as art:
        return [f for f in rule().check(art) if f.code == rule.code]


@pytest.fixture
def run_rule() -> Callable[..., list[Finding]]:
    """Findings of one rule on one text (tools run when the rule needs them)."""
    return _run_rule


@pytest.fixture
def shared_dir() -> Path:
    """The shared bench data: ../shared beside the repository (CI) or /work/shared."""
    for candidate in (REPO.parent / "shared", Path("/work/shared")):
        if (candidate / "bench").is_dir():
            return candidate
    pytest.skip("../shared/bench is not present next to the repository")


@pytest.fixture
def builtin_docs(tools_sandbox: Any) -> dict[str, Any]:
    """The tools image's ansible-doc tables (module name -> doc), read once per test the
    way the OPS212/OPS204 rules read them."""
    from opsgen.validators.adapters.ansible import module_docs, module_docs_job

    play = "- hosts: all\n  tasks:\n    - name: x\n      ansible.builtin.ping:\n"
    with Artifact(play, "ansible", "pb.yml", sandbox=tools_sandbox) as art:
        art.job(module_docs_job)
        art.launch_contained()
        docs = module_docs(art)
    assert docs is not None
    return docs
