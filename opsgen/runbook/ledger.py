"""The resume ledger: which runbooks were already converted, keyed by their input hash.

One JSON line per converted runbook in ``<workspace>/convert-ledger.jsonl``, appended as
each one is stored, so a batch stopped by Ctrl-C or a crash resumes where it was. The key
covers everything that changes the output (the runbook's bytes, the language, whether the
model wrote prose steps, the converter version); an entry counts only while its change is
still in the store.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsgen.runbook.summary import Summary

__all__ = ["CONVERTER_VERSION", "Ledger", "ledger_key"]

#: Bump when the converter's output changes, so ``--resume`` converts again.
CONVERTER_VERSION = "1"
LEDGER_NAME = "convert-ledger.jsonl"


def ledger_key(sha256: str, lang: str, generate: str = "") -> str:
    """The resume key of one conversion: input hash plus everything that shapes the output."""
    text = json.dumps([CONVERTER_VERSION, sha256, lang, generate])
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Ledger:
    """Entries of the workspace's ledger; :meth:`load` keeps those whose change still exists."""

    path: Path
    entries: dict[str, Summary] = field(default_factory=dict)

    @classmethod
    def load(cls, folder: Path, exists: Any = None) -> Ledger:
        """Read the ledger in ``folder``; ``exists(change_id)`` filters out removed changes.

        A damaged line (a crash mid-write) is skipped, not fatal: it only means that runbook
        is converted again.
        """
        ledger = cls(folder / LEDGER_NAME)
        if not ledger.path.is_file():
            return ledger
        with ledger.path.open(encoding="utf-8") as stream:
            for line in stream:
                try:
                    data = json.loads(line)
                    summary = Summary.from_dict(data["summary"])
                except (ValueError, KeyError, TypeError):
                    continue
                if summary.change_id is None or (exists and not exists(summary.change_id)):
                    continue
                ledger.entries[str(data["key"])] = summary
        return ledger

    def get(self, key: str) -> Summary | None:
        """The earlier conversion with this key, if any."""
        return self.entries.get(key)

    def record(self, key: str, summary: Summary) -> None:
        """Append one converted runbook (flushed and synced: it must survive a crash)."""
        self.entries[key] = summary
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        line = json.dumps({"key": key, "summary": summary.to_dict()}, sort_keys=True)
        with self.path.open("a", encoding="utf-8") as stream:
            stream.write(line + "\n")
            stream.flush()
            os.fsync(stream.fileno())
