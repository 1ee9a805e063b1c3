"""Export of approved changes: to a folder (atomic) or a git branch (plumbing only).

Public API: :func:`export_change` (the whole operation), :func:`verify_artifact`, and the
path checks in :mod:`opsgen.export.paths`.
"""

from __future__ import annotations

from opsgen.export.paths import check_branch, check_name, check_relpath
from opsgen.export.service import ExportResult, export_change
from opsgen.export.verify import Verification, verify_artifact

__all__ = [
    "ExportResult",
    "Verification",
    "check_branch",
    "check_name",
    "check_relpath",
    "export_change",
    "verify_artifact",
]
