"""The approved scenario exported as tests: which files, deterministic, bound by verify.

The tests run by the real bats and Molecule are in test_export_scenario_docker.py; these
need no engine.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from opsgen.errors import ExportError
from opsgen.export import export_change, verify_artifact
from opsgen.export.bats_file import bash_quote, bats_title
from opsgen.export.verify import SELF_ONLY
from opsgen.scenario import Check, Scenario
from opsgen.store.canonical import sha256_hex
from opsgen.store.repo import Store

PLAYBOOK = """\
- name: Configure motd
  hosts: all
  become: true
  vars:
    motd: hello
  tasks:
    - name: Write motd
      ansible.builtin.copy:
        dest: /etc/motd
        content: "{{ motd }}\\n"
        mode: "0644"
"""
SCRIPT = "#!/bin/bash\nset -euo pipefail\necho hello > /etc/motd\n"
SCENARIO = Scenario(
    "mkdir -p /etc/app\n",
    (Check("motd says hello", "grep -qx hello /etc/motd"),
     Check("app dir kept", "test -d /etc/app")),
    ("operator",),
)
HOSTILE = 'it\'s "q" $(touch /tmp/p) `id` \\ {{ lookup("pipe", "id") }}\u202e'

Approve = Callable[..., int]


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def _manifest(path: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads(path.read_text())
    return data


def _rehash(manifest_path: Path, rel: str) -> None:
    """Make the manifest list ``rel``'s current bytes (what a forger would do)."""
    manifest = json.loads(manifest_path.read_text())
    for entry in manifest["files"]:
        if entry["path"] == rel:
            entry["sha256"] = sha256_hex((manifest_path.parent / rel).read_bytes())
    manifest_path.write_text(json.dumps(manifest))


def test_a_bash_export_writes_bats_and_prepare_listed_in_the_manifest(
    store: Store, with_scenario: Approve, tmp_path: Path
) -> None:
    change = with_scenario(script=SCRIPT, scenario=SCENARIO)
    result = export_change(store, change, actor="me", to=tmp_path / "out")
    assert result.paths == ("motd.sh", "motd.bats", "motd.prepare.sh", "motd.opsgen.json")
    out = tmp_path / "out"
    assert (out / "motd.prepare.sh").read_text() == SCENARIO.prepare
    bats = (out / "motd.bats").read_text()
    assert '@test "check: motd says hello" {\n  opsgen_check 0 \'grep -qx hello /etc/motd\'\n}' in bats
    # every check runs once on the prepared state first (a check that held is skipped)
    assert "bash -c 'grep -qx hello /etc/motd' >/dev/null 2>&1 || rc=$?" in bats
    assert 'export OPSGEN_SCRIPT="$BATS_TEST_DIRNAME"/\'motd.sh\'' in bats
    assert 'export OPSGEN_STDOUT="$BATS_FILE_TMPDIR/stdout.1"' in bats
    assert '@test "run 2: motd.sh exits 0 again (idempotence)"' in bats
    manifest = _manifest(out / "motd.opsgen.json")
    assert manifest["scenario"] == SCENARIO.to_dict()
    assert manifest["tests"] == {
        "kind": "bats", "image": "opsgen-sandbox:bookworm",
        "run": "bats motd.bats (as root, in a throwaway container of opsgen-sandbox:bookworm)",
    }
    listed = {f["path"]: f for f in manifest["files"]}  # type: ignore[attr-defined]
    assert listed["motd.sh"]["role"] == "script"
    for rel in ("motd.bats", "motd.prepare.sh"):
        assert listed[rel]["role"] == "test" and listed[rel]["mode"] == "0644"
        assert listed[rel]["sha256"] == sha256_hex((out / rel).read_bytes())
    assert verify_artifact(out / "motd.sh", store).vetted


def test_re_export_is_byte_identical(
    store: Store, with_scenario: Approve, tmp_path: Path
) -> None:
    change = with_scenario(script=PLAYBOOK, scenario=SCENARIO, lang="ansible", name="site")
    export_change(store, change, actor="me", to=tmp_path / "a", as_role=True)
    export_change(store, change, actor="me", to=tmp_path / "b", as_role=True)
    first = _files(tmp_path / "a")
    assert "site/molecule/default/verify.yml" in first
    assert first == _files(tmp_path / "b")
    export_change(store, change, actor="me", to=tmp_path / "a", as_role=True)  # in place
    assert _files(tmp_path / "a") == first


def test_a_role_export_writes_a_molecule_scenario(
    store: Store, with_scenario: Approve, tmp_path: Path
) -> None:
    change = with_scenario(script=PLAYBOOK, scenario=SCENARIO, lang="ansible", name="site")
    export_change(store, change, actor="me", to=tmp_path, as_role=True)
    scenario = tmp_path / "site" / "molecule" / "default"
    assert sorted(p.name for p in scenario.iterdir()) == [
        "converge.yml", "molecule.yml", "prepare.sh", "prepare.yml", "verify.yml"]
    config = (scenario / "molecule.yml").read_text()
    for line in ("  name: docker", "  image: opsgen-sandbox:bookworm", "  pre_build_image: true",
                 "  command: sleep infinity", "  network_mode: none"):
        assert line in config
    verify = (scenario / "verify.yml").read_text()
    assert "- name: !unsafe 'check: motd says hello'\n" in verify
    assert "    cmd: !unsafe 'grep -qx hello /etc/motd'\n" in verify
    assert verify.count("changed_when: false") == 2
    assert "become: true" in (scenario / "converge.yml").read_text()  # the play's
    assert (scenario / "prepare.sh").read_text() == SCENARIO.prepare
    result = verify_artifact(tmp_path / "site", store)
    assert result.vetted, result.problems


def test_a_plain_playbook_gets_no_molecule_but_a_note(
    store: Store, with_scenario: Approve, tmp_path: Path
) -> None:
    change = with_scenario(script=PLAYBOOK, scenario=SCENARIO, lang="ansible", name="site")
    result = export_change(store, change, actor="me", to=tmp_path)
    assert result.paths == ("site.yml", "site.opsgen.json")
    manifest = _manifest(tmp_path / "site.opsgen.json")
    assert manifest["tests"]["kind"] == "none"  # type: ignore[index]
    assert "--as-role" in manifest["tests"]["note"]  # type: ignore[index]
    assert manifest["scenario"] == SCENARIO.to_dict()
    assert verify_artifact(tmp_path / "site.yml", store).vetted


def test_without_a_scenario_nothing_changes(
    store: Store, approved: int, tmp_path: Path
) -> None:
    result = export_change(store, approved, actor="me", to=tmp_path)
    assert result.paths == ("motd.sh", "motd.opsgen.json")
    manifest = _manifest(tmp_path / "motd.opsgen.json")
    assert "scenario" not in manifest and "tests" not in manifest


def test_hostile_check_names_and_commands_are_quoted(
    store: Store, with_scenario: Approve, tmp_path: Path
) -> None:
    hostile = Scenario("", (Check(HOSTILE, "echo 'a' \"$HOME\" \u00e9\r"),), ("model",))
    change = with_scenario(script=SCRIPT, scenario=hostile)
    export_change(store, change, actor="me", to=tmp_path)
    bats = (tmp_path / "motd.bats").read_text()
    title = 'check: it\'s \\"q\\" \\$(touch /tmp/p) \\`id\\` \\\\ {{ lookup(\\"pipe\\", \\"id\\") }}?'
    assert f'@test "{title}" {{\n' in bats
    # Printable ASCII only, bytes exact: $'...' with \xHH for the rest (CR included).
    assert "  opsgen_check 0 $'echo \\'a\\' \"$HOME\" \\xc3\\xa9\\x0d'\n" in bats
    assert bats.isascii() and "\r" not in bats
    assert not (tmp_path / "motd.prepare.sh").exists()  # nothing to prepare


def test_quoting_helpers() -> None:
    assert bash_quote("it's") == "'it'\\''s'"
    assert bash_quote("a\nb") == "$'a\\x0ab'"
    assert bats_title('x"$(y)`z`\\') == '"x\\"\\$(y)\\`z\\`\\\\"'


@pytest.mark.parametrize("run", ["echo a\necho b", "echo \x00", "   "])
def test_a_check_the_sandbox_could_not_have_run_is_refused(
    store: Store, with_scenario: Approve, tmp_path: Path, run: str
) -> None:
    change = with_scenario(script=SCRIPT, scenario=Scenario("", (Check("bad", run),)))
    with pytest.raises(ExportError, match="not one line") as caught:
        export_change(store, change, actor="me", to=tmp_path)
    assert caught.value.reference == "bad-scenario"
    assert "\n" not in caught.value.message
    assert list(tmp_path.iterdir()) == [tmp_path / "ws"]  # nothing written


@pytest.mark.parametrize("rel", ["motd.bats", "motd.prepare.sh"])
def test_a_tampered_test_file_fails_verify(
    store: Store, with_scenario: Approve, tmp_path: Path, rel: str
) -> None:
    change = with_scenario(script=SCRIPT, scenario=SCENARIO)
    export_change(store, change, actor="me", to=tmp_path / "out")
    target = tmp_path / "out" / rel
    target.write_text(target.read_text().replace("/etc", "/tmp"))
    result = verify_artifact(tmp_path / "out" / "motd.sh")
    assert any(p.startswith(f"{rel}: sha256") for p in result.problems), result.problems
    # The forger rewrites the manifest's hash too: re-deriving still catches it, with or
    # without the workspace.
    _rehash(tmp_path / "out" / "motd.opsgen.json", rel)
    result = verify_artifact(tmp_path / "out" / "motd.sh")
    assert f"{rel}: not what the approved scenario derives to" in result.problems
    assert not verify_artifact(tmp_path / "out" / "motd.sh", store).ok


def test_a_tampered_verify_yml_fails_verify(
    store: Store, with_scenario: Approve, tmp_path: Path
) -> None:
    change = with_scenario(script=PLAYBOOK, scenario=SCENARIO, lang="ansible", name="site")
    export_change(store, change, actor="me", to=tmp_path, as_role=True)
    rel = "molecule/default/verify.yml"
    target = tmp_path / "site" / rel
    target.write_text(target.read_text().replace("grep -qx hello /etc/motd", "true"))
    _rehash(tmp_path / "site" / "site.opsgen.json", rel)
    result = verify_artifact(tmp_path / "site")
    assert result.problems == [f"{rel}: not what the approved scenario derives to"]


def test_a_swapped_scenario_is_self_consistent_but_not_approved(
    store: Store, with_scenario: Approve, tmp_path: Path
) -> None:
    """A forger who edits the manifest's scenario and re-derives the tests gets past the
    self-consistency check; the workspace check names it."""
    change = with_scenario(script=SCRIPT, scenario=SCENARIO)
    out = tmp_path / "out"
    export_change(store, change, actor="me", to=out)
    weak = Scenario(SCENARIO.prepare, (Check("motd says hello", "true"),), ("operator",))
    other = with_scenario(script=SCRIPT, scenario=weak, name="motd")
    export_change(store, other, actor="me", to=tmp_path / "forged")
    manifest = json.loads((out / "motd.opsgen.json").read_text())
    manifest["scenario"] = weak.to_dict()
    for entry in manifest["files"]:
        forged = tmp_path / "forged" / entry["path"]
        (out / entry["path"]).write_bytes(forged.read_bytes())
        entry["sha256"] = sha256_hex(forged.read_bytes())
    (out / "motd.opsgen.json").write_text(json.dumps(manifest))
    alone = verify_artifact(out / "motd.sh")
    assert alone.ok and alone.checked == SELF_ONLY
    problems = verify_artifact(out / "motd.sh", store).problems
    assert any("not the approved evidence's scenario" in p for p in problems), problems


def test_a_test_file_listed_without_a_scenario_fails_verify(
    store: Store, with_scenario: Approve, tmp_path: Path
) -> None:
    change = with_scenario(script=SCRIPT, scenario=SCENARIO)
    export_change(store, change, actor="me", to=tmp_path)
    manifest = json.loads((tmp_path / "motd.opsgen.json").read_text())
    del manifest["scenario"]
    (tmp_path / "motd.opsgen.json").write_text(json.dumps(manifest))
    problems = verify_artifact(tmp_path / "motd.sh").problems
    assert "motd.bats: listed as a test, but the manifest carries no scenario" in problems


def test_a_git_export_commits_the_tests_too(
    store: Store, with_scenario: Approve, repo: Path
) -> None:
    change = with_scenario(script=SCRIPT, scenario=SCENARIO)
    result = export_change(store, change, actor="me", repo=repo)
    tree = subprocess.run(["git", "-C", str(repo), "ls-tree", "-r", result.branch],
                          check=True, capture_output=True, text=True).stdout
    modes = {line.split("\t")[1]: line.split()[0] for line in tree.splitlines()}
    assert modes["scripts/motd.sh"] == "100755"
    assert modes["scripts/motd.bats"] == modes["scripts/motd.prepare.sh"] == "100644"
    again = export_change(store, change, actor="me", repo=repo)
    assert again.unchanged and again.commit == result.commit  # deterministic
