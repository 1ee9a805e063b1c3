"""Files a batch writes: converted scripts under ``--out`` and the streamed results.

Names come from runbook paths, which come from a folder someone else filled: every path
component is reduced to ``[A-Za-z0-9._+@-]`` (controls, spaces and separators become
``_``) and ``..`` cannot survive, so a hostile file name cannot write outside ``--out``.
Scripts are written mode 0644, not executable: nothing converted is approved yet.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from opsgen.runbook.summary import Summary

__all__ = ["RESULTS_NAME", "OutputFiles", "safe_relpath"]

RESULTS_NAME = "results.jsonl"
_UNSAFE = re.compile(r"[^A-Za-z0-9._+@-]")
_EXT = {"bash": ".sh", "ansible": ".yml"}


def safe_relpath(display: str, lang: str) -> str:
    """``a/b/disk space.html.md`` -> ``a/b/disk_space.html.sh``: a safe relative path."""
    parts = [p for p in PurePosixPath(display).parts if p not in ("", ".", "..", "/")]
    clean = [(_UNSAFE.sub("_", p).lstrip(".-") or "_")[:120] for p in parts] or ["runbook"]
    name = re.sub(r"\.(md|markdown)$", "", clean[-1], flags=re.I) or "runbook"
    clean[-1] = name + _EXT[lang]
    return "/".join(clean)


@dataclass
class OutputFiles:
    """Where a batch writes.

    Args:
        out: ``--out`` folder for scripts (None: scripts live only in the store).
        reports: folder for ``results.jsonl``, ``report.json`` and ``report.html``.
    """

    out: Path | None
    reports: Path

    def start(self) -> None:
        """Create the folders and empty the streamed results of an earlier run."""
        self.reports.mkdir(parents=True, exist_ok=True)
        if self.out is not None:
            self.out.mkdir(parents=True, exist_ok=True)
        (self.reports / RESULTS_NAME).write_text("", encoding="utf-8")

    def write_script(self, display: str, lang: str, text: str) -> str:
        """Write one script under ``--out``; returns its path ("" without ``--out``)."""
        if self.out is None:
            return ""
        target = self.out / safe_relpath(display, lang)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".opsgen-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as stream:
                stream.write(text)
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return str(target)

    def append_result(self, summary: Summary) -> None:
        """Stream one runbook's row to ``results.jsonl`` as soon as it is done."""
        with (self.reports / RESULTS_NAME).open("a", encoding="utf-8") as stream:
            stream.write(json.dumps(summary.to_dict(), sort_keys=True) + "\n")
