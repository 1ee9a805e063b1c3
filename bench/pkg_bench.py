"""The package path's cost (issue 13): `opsgen dryrun --network packages` of the issue's
10-line nginx script against a bare `docker run` of the same install, same image.

    .venv/bin/python bench/pkg_bench.py [--runs 3] [--cold]

* first: the first dry-run of this bench, cache as found (``--cold`` empties the proxy's
  cache first, with ``opsgen sandbox packages clear``: every later dry-run of this machine
  then fetches again, so it is off by default);
* warm: the median of ``--runs`` dry-runs after it (lists and packages in the cache);
* bare: the median of ``--runs`` of ``docker run --rm --network bridge IMAGE`` with the same
  ``apt-get update`` and ``apt-get install -y nginx``, straight from the mirror, nothing
  started, no diff.

Interleaved (bare, warm, bare, warm...) so that both see the same load; the load average
is printed beside the figures (the goal, warm <= 1.5x bare, is about like for like).
The dry-run is the console script in-process (OPSGEN_NO_WORKER=1): Python's start-up and
imports are included.
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

IMAGE = "opsgen-sandbox:bookworm"
OPSGEN = str(Path(sys.executable).parent / "opsgen")
SCRIPT = """\
#!/usr/bin/env bash
set -euo pipefail
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null
mkdir -p /srv/www
echo '<h1>hello</h1>' > /srv/www/index.html
site=/etc/nginx/sites-available/www
printf 'server { listen 8080; root /srv/www; index index.html; }\\n' > "$site"
ln -sf "$site" /etc/nginx/sites-enabled/www
systemctl enable --now nginx
curl -fsS localhost:8080 >/dev/null
"""
BARE = (
    "apt-get update -qq"
    " && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null"
)


def _timed(cmd: list[str], env: dict[str, str] | None = None) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    took = time.perf_counter() - t0
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(cmd)}\n{done.stdout[-2000:]}"
                 f"{done.stderr[-2000:]}")
    return took


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    """Measure and print first, warm and bare, and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cold", action="store_true", help="empty the package cache first")
    parser.add_argument("--image", default=IMAGE)
    args = parser.parse_args()
    env = {**os.environ, "OPSGEN_NO_WORKER": "1"}
    with tempfile.TemporaryDirectory(prefix="opsgen-pkg-bench-") as tmp:
        script = Path(tmp) / "nginx.sh"
        script.write_text(SCRIPT)
        dry = [OPSGEN, "dryrun", "--network", "packages", "--timeout", "600",
               "--image", args.image, str(script)]
        bare = ["docker", "run", "--rm", "--network", "bridge", "--label", "opsgen.bench=1",
                args.image, "bash", "-c", BARE]
        if args.cold:
            subprocess.run([OPSGEN, "sandbox", "packages", "clear"], env=env, check=True)
        print(f"load average before: {_load()}")
        first = _timed(dry, env)
        warm: list[float] = []
        plain: list[float] = []
        for _ in range(args.runs):
            plain.append(_timed(bare))
            warm.append(_timed(dry, env))
        print(f"load average after:  {_load()}")
    w, b = statistics.median(warm), statistics.median(plain)
    label = "cold (cache emptied)" if args.cold else "first (cache as found)"
    print(f"{label:24} {first:7.2f} s   {first / b:5.2f}x bare")
    print(f"{'warm, median':24} {w:7.2f} s   {w / b:5.2f}x bare   (runs: "
          + ", ".join(f"{x:.1f}" for x in warm) + ")")
    print(f"{'bare docker run, median':24} {b:7.2f} s            (runs: "
          + ", ".join(f"{x:.1f}" for x in plain) + ")")
    print(f"goal warm <= 1.5x bare: {'met' if w <= 1.5 * b else 'NOT met'}")


if __name__ == "__main__":
    main()
