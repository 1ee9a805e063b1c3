"""Hand a loop result to the change store, so ``opsgen new`` ends in a reviewable change.

The loop has already linted and dry-run the chosen script; that evidence is stored as is
(``record_change``), not gathered a second time. The lint findings and the dry-run report
stored are those of the exact bytes stored, because both come from the same attempt.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from opsgen.generator.loop import LoopResult

__all__ = ["change_name", "store_result"]


def change_name(request: str) -> str:
    """A short file-safe name from the request's first words (``install-a-cron-job``)."""
    words = re.findall(r"[a-z0-9]+", request.lower())[:6]
    return "-".join(words)[:48].strip("-") or "change"


def _evidence(result: LoopResult) -> Any:
    from opsgen.evaluate import Evidence
    from opsgen.redact import redact_tree

    final = result.final
    findings = tuple(final.lint.findings) if final.lint is not None else ()
    if final.dryrun is not None:
        # redacted like every stored run output (the script is stored exactly: hash-bound)
        report = redact_tree(final.dryrun.to_dict(), scan=True)
        return Evidence(findings, report, str(final.dryrun.image_id), "")
    why = "dry-run not requested" if not result.dryrun_enabled else "not run: lint errors"
    return Evidence(findings, None, "", why)


def store_result(
    result: LoopResult,
    *,
    workspace: Path | None,
    author: str,
    image: str = "",
    name: str | None = None,
) -> dict[str, Any]:
    """Create the change with the chosen script and its evidence; return id and sign-off."""
    from opsgen.approval import sign_off
    from opsgen.review.cliutil import open_store
    from opsgen.review.workflow import record_change

    script = result.final.script or ""
    with open_store(workspace, create=True) as store:
        change, revision, _ = record_change(
            store,
            script,
            lang=result.lang,
            name=name or change_name(result.request),
            request=result.request,
            image=image,
            author=author,
            evidence=_evidence(result),
            source="generate",
        )
        state = sign_off(store, change.id)
    return {
        "change": change.id,
        "name": change.name,
        "revision_sha256": revision.sha256,
        "sign_off": state.status,
        "workspace": str(store.workspace.path),
    }
