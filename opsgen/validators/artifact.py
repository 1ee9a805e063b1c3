"""The thing being linted, with every view of it built once, on first use.

Rules ask an :class:`Artifact` for what they need (the parsed shell code, the Ansible tasks,
the secrets found, a tool's output) and the artifact computes it at most once, so twenty
rules cost one parse. Tools write only inside its private temporary directory, removed by
:meth:`Artifact.close`.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from opsgen.lang import Lang
from opsgen.validators.ansible.tasks import Snippet, Task, iter_tasks, shell_snippet
from opsgen.validators.ansible.yamlload import YamlError, load_yaml
from opsgen.validators.cache import ResultCache
from opsgen.validators.isolation import NoSandbox, ToolSandbox
from opsgen.validators.shell.cron import cron_commands
from opsgen.validators.shell.index import ShellIndex
from opsgen.validators.shell.parser import parse
from opsgen.validators.suppress import Directive, DirectiveProblem, parse_directives
from opsgen.validators.tools import ContainedBatch, Job, ToolRun, tool_env

__all__ = ["Artifact", "Lang", "Provenance"]



@dataclass(frozen=True, slots=True)
class Provenance:
    """What the script was generated from, for the OPS5xx provenance rules.

    Args:
        request: the operator's request in their own words.
        sources: texts given to the model as material (runbooks, tickets, docs).
    """

    request: str = ""
    sources: tuple[str, ...] = ()


class Artifact:
    """A script or playbook under lint.

    Args:
        text: the file's text.
        lang: ``"bash"`` or ``"ansible"``.
        path: the name shown in findings.
        provenance: the request and sources, when known (enables OPS5xx).
        cache: where tools' results are looked up and stored (None: always run them).
        sandbox: where the tools that load playbooks run (see
            :mod:`opsgen.validators.isolation`); None: they do not run (OPS005).
        part: ``""`` for a script or playbook; ``"prepare"`` or ``"check"`` for a part of a
            scenario (:mod:`opsgen.validators.scenario`), which turns on the OPS6xx rules.
    """

    def __init__(self, text: str, lang: Lang, path: str = "<script>",
                 provenance: Provenance | None = None, cache: ResultCache | None = None,
                 sandbox: ToolSandbox | None = None, part: str = ""):
        self.text = text
        self.part = part
        self.lang: Lang = lang
        self.path = path
        self.provenance = provenance
        self.cache = cache
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._jobs: dict[str, Job] = {}
        self.sandbox: ToolSandbox = sandbox or NoSandbox()
        self._batch: ContainedBatch | None = None

    def __enter__(self) -> Artifact:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop any tool still running and remove the temporary directory."""
        for job in self._jobs.values():
            job.close()
        if self._batch is not None:
            self._batch.close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    # -- tools -------------------------------------------------------------------------
    @property
    def workdir(self) -> Path:
        """A private temporary directory: tools' cwd and ``HOME``."""
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="opsgen-lint-")
        return Path(self._tmp.name)

    @cached_property
    def env(self) -> dict[str, str]:
        """The tools' environment (:func:`tool_env` of the work directory), built once."""
        return tool_env(self.workdir)

    def write(self, relpath: str, text: str | None = None) -> Path:
        """Write ``text`` (default: the artifact) under the work directory.

        Several tools read the same file while others are being started: rewriting it in
        place would truncate it under a tool that is reading it (shellcheck then saw an
        empty script and reported SC2148, "no shebang", which the result cache kept). So an
        unchanged file is left alone and a new one appears whole, by rename.
        """
        target = self.workdir / relpath
        data = (self.text if text is None else text).encode("utf-8")
        with contextlib.suppress(OSError):
            if target.read_bytes() == data:
                return target
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        partial.write_bytes(data)
        os.replace(partial, target)
        return target

    def contained(self, files: tuple[str, ...]) -> ContainedBatch:
        """The one sandbox batch of this lint; ``files`` (relative to :attr:`workdir`) are
        copied into the sandbox when it starts (the first caller names them)."""
        if self._batch is None:
            self._batch = ContainedBatch(self.sandbox, self.workdir, files)
        return self._batch

    def launch_contained(self) -> None:
        """Start the sandbox batch now that every contained tool has joined it."""
        if self._batch is not None:
            self._batch.launch()

    def job(self, factory: Callable[[Artifact], Job]) -> Job:
        """Start the tool that ``factory`` describes (or answer it from the cache), once per
        artifact, and return it."""
        key = factory.__qualname__
        if key not in self._jobs:
            self._jobs[key] = factory(self)
            self._jobs[key].start(self.cache)
        return self._jobs[key]

    @property
    def tool_runs(self) -> list[ToolRun]:
        """How each tool that ran fared (status and time), in start order."""
        return [j.result().run for j in self._jobs.values()]

    # -- views -------------------------------------------------------------------------
    @cached_property
    def lines(self) -> list[str]:
        """The text split into lines (no line ends)."""
        return self.text.splitlines()

    @cached_property
    def shell(self) -> ShellIndex | None:
        """The parsed script (bash artifacts only)."""
        return ShellIndex(parse(self.text), self.text) if self.lang == "bash" else None

    @cached_property
    def _yaml(self) -> tuple[list[Any] | None, YamlError | None]:
        try:
            return load_yaml(self.text), None
        except YamlError as exc:
            return None, exc

    @property
    def yaml_docs(self) -> list[Any] | None:
        """The YAML documents, or None when the text does not parse."""
        return self._yaml[0]

    @property
    def yaml_error(self) -> YamlError | None:
        """Why the YAML did not parse, if it did not."""
        return self._yaml[1]

    @property
    def loadable(self) -> bool:
        """True for YAML that parsed into lists of mappings: what Ansible tools can read."""
        docs = self.yaml_docs
        return bool(docs) and all(
            isinstance(d, list) and all(isinstance(i, dict) for i in d) for d in docs or [])

    @cached_property
    def tasks(self) -> list[Task]:
        """The Ansible tasks (empty for bash or broken YAML)."""
        if self.lang != "ansible" or not self.yaml_docs:
            return []
        return list(iter_tasks(self.yaml_docs))

    @cached_property
    def shells(self) -> list[tuple[ShellIndex, Task | None]]:
        """Shell code to check: the whole bash script and the cron jobs it installs, or
        each shell task's command."""
        if self.shell is not None:
            # Cron lines the script installs run later, unattended: their commands are
            # shell code too (``echo "0 2 * * * rm -rf /var/tmp" | crontab -``).
            jobs = [
                (ShellIndex(parse(job.text, job.line), job.text, job.line), None)
                for job in cron_commands(self.shell.calls)
            ]
            return [(self.shell, None), *jobs]
        out: list[tuple[ShellIndex, Task | None]] = []
        for task in self.tasks:
            snip: Snippet | None = shell_snippet(task, self.lines)
            if snip is not None:
                script = parse(snip.text, snip.line, snip.col, indent=snip.indent)
                out.append((ShellIndex(script, snip.text, snip.line), task))
        return out

    @cached_property
    def directives(self) -> tuple[list[Directive], list[DirectiveProblem]]:
        """The ``# opsgen: disable=`` directives, and the malformed ones (OPS001)."""
        from opsgen.validators.rules import RULE_CODES  # the rules import this module

        return parse_directives(self.lines, RULE_CODES)

    @cached_property
    def secrets(self) -> list[Any]:
        """detect-secrets hits (see :mod:`opsgen.secretscan`)."""
        from opsgen.secretscan import scan  # detect-secrets loads plugins on import

        return scan(self.text, self.lang)
