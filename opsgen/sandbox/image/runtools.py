"""Inside the tools container: run the requested read-only tools, print one JSON answer.

Reads ``/work/job.json``: ``{"cwd": ..., "env": {...}, "calls": [{"name", "argv",
"timeout"}]}``. Every tool starts at once (they are independent parsers), each with its
output in files (no pipe to fill) and its own timeout, after which its process group is
killed. Prints ``{"results": {name: {"returncode", "stdout", "stderr", "seconds",
"status"}}}`` on stdout. Runs as an unprivileged user in a container without network; it
trusts nothing in the files it was given and never runs them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from typing import IO, Any

CAP = 4 << 20  # bytes kept of each stream; the container's output cap bounds the total


def _read(f: IO[bytes]) -> str:
    f.seek(0)
    return f.read(CAP).decode("utf-8", "replace")


def main(spec_path: str) -> None:
    """Run the calls of ``spec_path`` and print their answers as one JSON object."""
    with open(spec_path, encoding="utf-8") as f:
        spec = json.load(f)
    env = dict(spec["env"])
    env["PATH"] = "/opt/opsgen-tools/bin:/usr/local/bin:/usr/bin:/bin"
    os.makedirs(env["HOME"], exist_ok=True)
    running: list[tuple[dict[str, Any], subprocess.Popen[bytes] | None, IO[bytes], IO[bytes],
                        float, str]] = []
    for call in spec["calls"]:
        sink_out: IO[bytes] = tempfile.TemporaryFile()
        sink_err: IO[bytes] = tempfile.TemporaryFile()
        started = time.monotonic()
        try:
            proc: subprocess.Popen[bytes] | None = subprocess.Popen(
                call["argv"], cwd=spec["cwd"], env=env, stdin=subprocess.DEVNULL,
                stdout=sink_out, stderr=sink_err, start_new_session=True)
            problem = ""
        except OSError as exc:
            proc, problem = None, f"could not start: {exc.strerror}"
        running.append((call, proc, sink_out, sink_err, started, problem))
    results = {}
    for call, proc, out, err, started, problem in running:
        status, code = ("missing", None) if proc is None else ("ok", None)
        if proc is not None:
            remaining = max(0.1, float(call["timeout"]) - (time.monotonic() - started))
            try:
                code = proc.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                status = "timeout"
        results[call["name"]] = {
            "returncode": code, "stdout": _read(out), "stderr": _read(err) or problem,
            "seconds": round(time.monotonic() - started, 4), "status": status,
        }
    sys.stdout.write(json.dumps({"results": results}))
    sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1])
