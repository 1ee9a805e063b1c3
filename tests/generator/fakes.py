"""Fakes for the generator tests: lint reports and dry-run reports built from real types."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from opsgen.findings import Finding, Location, Severity
from opsgen.sandbox.models import CheckResult, DryRunReport, FileChange, RunResult, SystemDiff
from opsgen.scenario import Check, Scenario


@dataclass(frozen=True)
class FakeLint:
    """Shape of opsgen.validators.LintReport that the loop relies on."""

    findings: tuple[Finding, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"findings": [f.to_dict() for f in self.findings]}


def finding(
    code: str, line: int = 1, severity: Severity = Severity.ERROR, msg: str = "bad"
) -> Finding:
    return Finding(code, severity, msg, Location("script.sh", line), source="test")


def run(
    status: str = "passed", exit_code: int = 0, stderr: str = "", stop: str | None = None
) -> RunResult:
    return RunResult(exit_code, status, 0.5, "", stderr, stop_reason=stop)  # type: ignore[arg-type]


def report(
    runs: tuple[RunResult, ...] = (run(), run()),
    second_paths: tuple[str, ...] = (),
    findings: tuple[Finding, ...] = (),
    checks: tuple[CheckResult, ...] = (),
    prepare: RunResult | None = None,
    stdout: str = "",
) -> DryRunReport:
    second = SystemDiff(files=tuple(FileChange(p, "modified") for p in second_paths))
    first = SystemDiff(files=(FileChange("/etc/cron.d/prune", "added"),))
    if stdout and runs:
        runs = (RunResult(runs[0].exit_code, runs[0].status, 0.5, stdout, runs[0].stderr),
                *runs[1:])
    return DryRunReport(
        "bash",
        "opsgen-sandbox:bookworm",
        "sha256:x",
        "abc",
        runs,
        first,
        second_diff=second if len(runs) > 1 else None,
        findings=findings,
        prepare=prepare,
        checks=checks,
    )


@dataclass
class ScenarioDry:
    """A dry-run stage that takes ``scenario=`` and answers its checks with ``holds``.

    ``holds(script, check) -> (before, after)`` exit statuses; a prepare containing
    ``BROKEN`` fails (the script is then not run, as in the sandbox). Every call is kept.
    """

    holds: Any
    stdout: Any = lambda script: ""
    calls: list[tuple[str, Scenario | None]] = field(default_factory=list)

    def __call__(self, script: str, lang: str, *, scenario: Scenario | None = None) -> DryRunReport:
        self.calls.append((script, scenario))
        if scenario is None:
            return report(stdout=self.stdout(script))
        if "BROKEN" in scenario.prepare:
            failed = RunResult(1, "failed", 0.1, "", "mkdir: cannot create directory")
            results = tuple(CheckResult(c.name, c.run, c.source) for c in scenario.checks)
            return replace(report(runs=(), checks=results, prepare=failed),
                           scenario=scenario.to_dict())
        results = tuple(CheckResult(c.name, c.run, c.source, *self.holds(script, c),
                                    output="" if self.holds(script, c)[1] == 0 else "nope")
                        for c in scenario.checks)
        prepared = RunResult(0, "passed", 0.1, "", "") if scenario.prepare else None
        done = report(checks=results, prepare=prepared, stdout=self.stdout(script))
        return replace(done, scenario=scenario.to_dict())


def checks_of(*pairs: tuple[str, str]) -> Scenario:
    """A scenario of (name, run) checks."""
    return Scenario(checks=tuple(Check(n, r) for n, r in pairs), sources=("operator",))


@dataclass
class Recorder:
    """Callable stage that records scripts and answers from a list (last repeats)."""

    answers: list[Any]
    seen: list[str] = field(default_factory=list)

    def __call__(self, script: str, lang: str) -> Any:
        self.seen.append(script)
        return self.answers[min(len(self.seen), len(self.answers)) - 1]


def write_gguf(path: Path, metadata: dict[str, Any], tail: bytes = b"") -> Path:
    """Write a minimal GGUF v3 file: header and metadata (str, int, list[str]), no tensors."""
    import struct

    def s(text: str) -> bytes:
        data = text.encode()
        return struct.pack("<Q", len(data)) + data

    out = bytearray(b"GGUF" + struct.pack("<IQQ", 3, 0, len(metadata)))
    for key, value in metadata.items():
        out += s(key)
        if isinstance(value, str):
            out += struct.pack("<I", 8) + s(value)
        elif isinstance(value, bool):
            out += struct.pack("<I?", 7, value)
        elif isinstance(value, int):
            out += struct.pack("<II", 4, value)
        else:
            out += struct.pack("<IIQ", 9, 8, len(value)) + b"".join(s(v) for v in value)
    path.write_bytes(bytes(out) + tail)
    return path


QWEN_LIKE = {
    "general.architecture": "qwen2",
    "general.name": "tiny test",
    "qwen2.context_length": 32768,
    "tokenizer.ggml.model": "gpt2",
    "tokenizer.ggml.tokens": ["t"] * 100_001,
    "tokenizer.chat_template": "{% for m in messages %}{{ m.content }}{% endfor %}",
}
