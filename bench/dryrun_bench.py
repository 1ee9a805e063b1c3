"""Dry-run cost against a bare `docker run --rm IMAGE true`, measured in the same run.

Prints medians and the ratio for three ways in: the `opsgen dryrun` CLI (whole process,
Python start-up included), the Python API `opsgen.sandbox.dryrun()` in a warm process, and
the bare `docker run`. Goal (issue 2): opsgen dryrun <= 1.3x a bare docker run.

    .venv/bin/python bench/dryrun_bench.py [--runs 9]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCRIPT = """#!/usr/bin/env bash
# 20 lines that touch files, users, cron and services: the full diff path.
set -euo pipefail
install -d -m 0755 /opt/app /var/log/app
printf 'port=8080\\nworkers=4\\n' > /opt/app/app.conf
chmod 0640 /opt/app/app.conf
grep -q '^app:' /etc/group || groupadd app
id app >/dev/null 2>&1 || useradd -r -g app -d /opt/app -s /usr/sbin/nologin app
chown -R app:app /opt/app /var/log/app
cat > /etc/cron.d/app-rotate <<'CRON'
0 4 * * * app find /var/log/app -name '*.log' -mtime +14 -delete
CRON
echo 'net.core.somaxconn = 1024' > /etc/sysctl.d/90-app.conf
sed -i 's/^#\\?PASS_MAX_DAYS.*/PASS_MAX_DAYS 90/' /etc/login.defs
rm -f /etc/motd
systemctl enable --now cron
systemctl restart app || true
ln -sf /opt/app/app.conf /etc/app.conf
echo "app installed"
exit 0
"""


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--image", default="opsgen-sandbox:bookworm")
    args = parser.parse_args()

    from opsgen.sandbox import DryRunOptions, connect, dryrun

    client = connect()
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "app.sh"
        script.write_text(SCRIPT)
        # Warm-up: fills the pristine cache and the page cache, as on any second use.
        report = dryrun(SCRIPT, "bash", DryRunOptions(image=args.image), client=client)
        assert report.first.status == "passed", report.first.stderr
        bare, cli, api = [], [], []
        for _ in range(args.runs):
            bare.append(timed(["docker", "run", "--rm", args.image, "true"]))
            cli.append(
                timed(
                    [
                        sys.executable,
                        "-m",
                        "opsgen.cli",
                        "dryrun",
                        "--json",
                        "--image",
                        args.image,
                        str(script),
                    ]
                )
            )
            t0 = time.perf_counter()
            dryrun(SCRIPT, "bash", DryRunOptions(image=args.image), client=client)
            api.append(time.perf_counter() - t0)
    b, c, a = (statistics.median(x) for x in (bare, cli, api))
    print(
        f"files in the diff: {len(report.diff.files)}, users {len(report.diff.users)}, "
        f"cron {len(report.diff.cron)}, services {len(report.diff.services)}"
    )
    print(f"bare `docker run --rm {args.image} true`  median {b:.3f}s")
    print(f"opsgen.sandbox.dryrun() (warm process)     median {a:.3f}s  ratio {a / b:.2f}x")
    print(f"`opsgen dryrun` CLI (new process)          median {c:.3f}s  ratio {c / b:.2f}x")


if __name__ == "__main__":
    main()
