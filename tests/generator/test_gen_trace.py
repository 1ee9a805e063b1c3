from __future__ import annotations

import subprocess

from opsgen.flow.trace import instrument, parse_trace

SCRIPT = "#!/usr/bin/env bash\nset -euo pipefail\necho start\n(crontab -l 2>/dev/null; echo x) | cat\necho never\n"


def test_instrumented_copy_names_the_silent_failure_in_real_bash(tmp_path):
    env = {"PATH": str(tmp_path), "HOME": str(tmp_path)}
    (tmp_path / "crontab").write_text("#!/bin/sh\nexit 1\n")
    (tmp_path / "crontab").chmod(0o755)
    for tool in ("cat", "bash"):
        (tmp_path / tool).symlink_to(subprocess.check_output(["which", tool], text=True).strip())
    proc = subprocess.run(
        ["bash", "-c", instrument(SCRIPT)], capture_output=True, text=True, env=env
    )
    assert proc.returncode != 0 and "never" not in proc.stdout
    hit = parse_trace(proc.stderr, SCRIPT)
    assert hit is not None
    assert hit.line == 4 and hit.exit_code == 1
    assert hit.command.startswith("crontab -l")


def test_instrument_adds_exactly_one_line_after_the_shebang():
    out = instrument(SCRIPT).splitlines()
    assert out[0] == "#!/usr/bin/env bash" and out[1].startswith("set -E; trap")
    assert out[2:] == SCRIPT.splitlines()[1:]


def test_no_trace_no_hit():
    assert parse_trace("plain error\n", SCRIPT) is None
