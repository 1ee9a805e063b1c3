"""Dry-run cost against a bare `docker run --rm IMAGE true`, measured in the same run.

Prints medians and the ratio for four ways in, interleaved: the bare `docker run`, the
Python API `opsgen.sandbox.dryrun()` in a warm process, the `opsgen dryrun` console script
run in-process (OPSGEN_NO_WORKER=1: Python start-up and imports included), and the same
console script through a worker this bench starts (in its own OPSGEN_RUNTIME_DIR) and stops.
Goal (issue 2): opsgen dryrun <= 1.3x a bare docker run.

    .venv/bin/python bench/dryrun_bench.py [--runs 9]
"""

from __future__ import annotations

import argparse
import os
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


OPSGEN = str(Path(sys.executable).parent / "opsgen")


def timed(cmd: list[str], env: dict[str, str] | None = None) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t0


def status(env: dict[str, str]) -> dict[str, int]:
    """The bench's worker's status; ``served`` is -1 when it is gone (stale code, idle)."""
    from opsgen.worker.control import request

    os.environ["OPSGEN_RUNTIME_DIR"] = env["OPSGEN_RUNTIME_DIR"]
    answer = request("status") or {}
    return {k: int(answer.get(k, -1)) for k in ("served", "running")}


def served(env: dict[str, str]) -> int:
    """Requests the bench's worker has served; -1 when it is gone."""
    return status(env)["served"]


def worker_run(cmd: list[str], env: dict[str, str]) -> float | None:
    """Time ``cmd`` through the worker; None when it did not go through it."""
    before = served(env)
    if before < 0:  # someone edited the checkout: the worker went stale; start a new one
        subprocess.run([OPSGEN, "worker", "start"], env=env, check=True, capture_output=True)
        before = served(env)
    elapsed = timed(cmd, env)
    # The child removes its container after the reply: let it finish (untimed) so that the
    # removal does not slow the next measurement down.
    deadline = time.monotonic() + 30
    while status(env)["running"] > 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    return elapsed if served(env) == before + 1 else None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--image", default="opsgen-sandbox:bookworm")
    args = parser.parse_args()
    load = f"{os.getloadavg()[0]:.2f}"

    from opsgen.sandbox import DryRunOptions, connect, dryrun

    client = connect()
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "app.sh"
        script.write_text(SCRIPT)
        cli = [OPSGEN, "dryrun", "--json", "--image", args.image, str(script)]
        in_process = {**os.environ, "OPSGEN_NO_WORKER": "1"}
        via_worker = {k: v for k, v in os.environ.items() if k != "OPSGEN_NO_WORKER"}
        via_worker["OPSGEN_RUNTIME_DIR"] = str(Path(tmp) / "run")
        subprocess.run([OPSGEN, "worker", "start"], env=via_worker, check=True)
        try:
            # Warm-up: fills the pristine cache and the page cache, as on any second use.
            report = dryrun(SCRIPT, "bash", DryRunOptions(image=args.image), client=client)
            assert report.first.status == "passed", report.first.stderr
            timed(cli, via_worker)
            bare, api, cli_in, cli_worker, missed = [], [], [], [], 0
            paired: list[float] = []  # worker minus API in the same round: robust to load
            for _ in range(args.runs):
                bare.append(timed(["docker", "run", "--rm", args.image, "true"]))
                t0 = time.perf_counter()
                dryrun(SCRIPT, "bash", DryRunOptions(image=args.image), client=client)
                api.append(time.perf_counter() - t0)
                cli_in.append(timed(cli, in_process))
                elapsed = worker_run(cli, via_worker)
                if elapsed is None:
                    missed += 1
                else:
                    cli_worker.append(elapsed)
                    paired.append(elapsed - api[-1])
        finally:
            subprocess.run([OPSGEN, "worker", "stop"], env=via_worker, check=False)
    b, a, c, w = (
        statistics.median(x) if x else float("nan") for x in (bare, api, cli_in, cli_worker)
    )
    print(
        f"files in the diff: {len(report.diff.files)}, users {len(report.diff.users)}, "
        f"cron {len(report.diff.cron)}, services {len(report.diff.services)}"
    )
    print(f"load average before and after: {load} / {os.getloadavg()[0]:.2f}")
    print(f"bare `docker run --rm {args.image} true`  median {b:.3f}s")
    print(f"opsgen.sandbox.dryrun() (warm process)     median {a:.3f}s  ratio {a / b:.2f}x")
    print(f"`opsgen dryrun` CLI, in-process            median {c:.3f}s  ratio {c / b:.2f}x")
    print(f"`opsgen dryrun` CLI, via the worker        median {w:.3f}s  ratio {w / b:.2f}x")
    if paired:
        print(f"worker minus API, median of paired rounds: {statistics.median(paired):+.3f}s")
    if missed:
        print(f"({missed} worker run(s) fell back in-process and were left out)")


if __name__ == "__main__":
    main()
