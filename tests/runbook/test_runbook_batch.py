"""The batch: bad runbooks are reported and the rest go on; resume; store; bounded memory.

Lint and dry-run are the fake twin (:class:`FakeChecks`); the store is real.
"""

from __future__ import annotations

import json
import re
import shutil
import tracemalloc
from pathlib import Path

import pytest
from runbook_helpers import FIXTURES, FakeChecks, NullStore

from opsgen.render.convert import write_reports
from opsgen.runbook import batch as batch_module
from opsgen.runbook.batch import BatchOptions, Source, discover, run_batch
from opsgen.runbook.ledger import Ledger
from opsgen.runbook.output import OutputFiles, safe_relpath
from opsgen.store.repo import Store
from opsgen.store.workspace import Workspace

CORPUS_PICK = (
    "govuk-developer-docs/source/manual/alerts/check-process-running.html.md",
    "gitlab-com-runbooks/docs/uncategorized/aptly.md",
)


@pytest.fixture()
def store(tmp_path: Path):
    with Store.open(Workspace(tmp_path / "ws"), create=True) as opened:
        yield opened


@pytest.fixture()
def inputs(tmp_path: Path, corpus: Path) -> list[Path]:
    """Our fixtures, a 5 MB runbook, a missing path and two real runbooks (read in place)."""
    big = tmp_path / "in" / "huge.md"
    big.parent.mkdir()
    with big.open("w") as stream:
        stream.write("# Huge\n\n")
        stream.write("Run `df -h` and look.\n\n" * 230_000)  # ~5.1 MB
    return [FIXTURES, big, tmp_path / "in" / "missing.md", *(corpus / p for p in CORPUS_PICK)]


def run(store: Store, paths: list[Path], tmp_path: Path, checks=None, **options):
    sources, missing = discover(paths)
    files = OutputFiles(tmp_path / "out", tmp_path / "out")
    files.start()
    ledger = Ledger.load(store.workspace.path)
    rows = run_batch(sources, BatchOptions(**options), store=store, checks=checks or FakeChecks(),
                     ledger=ledger, files=files)  # fmt: skip
    return missing + rows


def test_every_bad_runbook_gets_a_clear_message_and_the_rest_convert(store, inputs, tmp_path):
    rows = {Path(r.path).name: r for r in run(store, inputs, tmp_path, jobs=2)}
    assert rows["empty.md"].message.endswith("empty.md: file is empty")
    assert rows["latin1.md"].message.endswith("not UTF-8 text (invalid byte at offset 5)")
    assert re.search(r"huge\.md: file is 5,\d{3},\d{3} bytes, over the 2,097,152-byte limit$",
                     rows["huge.md"].message)  # fmt: skip
    assert rows["missing.md"].message.endswith("missing.md: no such file or folder")
    assert {n for n, r in rows.items() if r.status == "failed"} == {
        "empty.md", "latin1.md", "huge.md", "missing.md"
    }  # fmt: skip
    evil = rows["malicious.md"]
    assert (evil.status, evil.errors, evil.dryrun, evil.idempotent) == ("converted", 2, "passed",
                                                                        True)  # fmt: skip
    assert rows["broken.md"].warnings[0].startswith("line 7: a code fence is never closed")
    service = rows["restart-service.md"]
    assert service.parameters == ("APP", "APP_DIR", "SERVICE", "PORT")
    assert service.manual_count == 1 and service.steps == 5
    assert rows["aptly.md"].status == rows["check-process-running.html.md"].status == "converted"
    assert set(service.stages) == {"read", "parse", "convert", "lint", "dry-run", "store"}


def test_each_converted_runbook_is_a_stored_change_with_evidence(store, inputs, tmp_path):
    rows = [r for r in run(store, inputs, tmp_path) if r.status == "converted"]
    assert [c.id for c in store.changes()] == sorted(r.change_id for r in rows)
    for row in rows:
        change = store.change(row.change_id)
        revision = store.revision(change.id)
        assert (change.source, change.lang) == ("convert", "bash")
        assert change.request.startswith(f"Converted from the runbook {row.path}")
        assert Path(row.script_file).read_text(encoding="utf-8") == revision.script
        assert Path(row.script_file).stat().st_mode & 0o777 == 0o644  # not approved: not +x
        evidence = store.latest_evidence(revision.id).evidence
        assert evidence.dryrun_ok is True
    results = (tmp_path / "out" / "results.jsonl").read_text().splitlines()
    assert len(results) == 8  # streamed, one line per job (the missing path is not one)


def test_resume_skips_unchanged_runbooks_and_converts_changed_ones(store, inputs, tmp_path):
    first = {r.path: r for r in run(store, inputs, tmp_path, resume=True)}
    copy = tmp_path / "copy"
    shutil.copytree(FIXTURES, copy)
    again = {r.path: r for r in run(store, [copy], tmp_path, resume=True)}
    assert again["restart-service.md"].status == "skipped"
    assert again["restart-service.md"].change_id == first["restart-service.md"].change_id
    assert "unchanged since it became change" in again["restart-service.md"].message
    assert again["empty.md"].status == "failed"  # failures are tried again
    (copy / "restart-service.md").write_text("# New\n\nRun `df -h`.\n")
    changed = {r.path: r for r in run(store, [copy], tmp_path, resume=True)}
    assert changed["restart-service.md"].status == "converted"
    assert changed["malicious.md"].status == "skipped"
    not_resumed = {r.path: r for r in run(store, [copy], tmp_path)}
    assert not_resumed["malicious.md"].status == "converted"


def test_parallel_jobs_overlap_and_keep_the_input_order(store, inputs, tmp_path):
    checks = FakeChecks()
    rows = run(store, inputs, tmp_path, checks=checks, jobs=3)
    serial = run(store, inputs, tmp_path / "serial", jobs=1)
    assert [(r.path, r.status) for r in rows] == [(r.path, r.status) for r in serial]
    assert len(checks.threads) >= 2


def test_a_converter_crash_stays_inside_its_runbook(store, tmp_path, monkeypatch):
    real = batch_module.convert_runbook

    def flaky(runbook, lang, **kw):
        if runbook.path == "broken.md":
            raise RuntimeError("boom")
        return real(runbook, lang, **kw)

    monkeypatch.setattr(batch_module, "convert_runbook", flaky)
    rows = {r.path: r for r in run(store, [FIXTURES], tmp_path)}
    assert rows["broken.md"].message == "internal error: RuntimeError: boom"
    assert rows["restart-service.md"].status == "converted"


def test_memory_stays_bounded_with_100_runbooks(tmp_path, monkeypatch):
    # bash -n is a subprocess and costs nothing in our heap: skipped to keep the test fast
    monkeypatch.setattr("opsgen.runbook.convert._syntax_error", lambda text: "")
    folder = tmp_path / "many"
    folder.mkdir()
    body = "".join(f"## Step {i}\n\n```bash\necho step {i} {'x' * 200}\n```\n\n" for i in range(4))
    for n in range(100):
        (folder / f"rb{n:03}.md").write_text(f"# Runbook {n}\n\n{body}")  # ~1 KB each
    checks = FakeChecks(payload=100_000)  # and a 100 KB dry-run report each
    store = NullStore(tmp_path / "ws")  # SQLite's own caches are not the batch's memory
    tracemalloc.start()
    try:
        rows = run(store, [folder], tmp_path, checks=checks, jobs=2)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [r.status for r in rows] == ["converted"] * 100
    assert store.count == 100
    # 100 x (1 KB runbook + 2 KB script + 100 KB report) = 10.3 MB if anything were kept;
    # in flight at once: 2 x jobs runbooks, each report held a few times while stored.
    assert peak < 3_000_000, peak


def test_reports_escape_runbook_text(store, inputs, tmp_path):
    rows = run(store, inputs, tmp_path)
    json_path, html_path = write_reports(rows, tmp_path / "rep", {"lang": "bash"})
    page = html_path.read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "\x1b" not in page
    assert "default-src 'none'" in page  # no script or remote resource can load
    doc = json.loads(json_path.read_text())
    assert doc["totals"]["by_status"] == {"converted": 5, "no-commands": 0, "failed": 4,
                                          "skipped": 0}  # fmt: skip
    assert "\x1b" not in json_path.read_text()  # ensure_ascii: escapes only


def test_output_names_cannot_leave_the_out_folder():
    assert safe_relpath("../../etc/cron.d/x.md", "bash") == "etc/cron.d/x.sh"
    assert safe_relpath("a/\x1b[2Jb c.html.md", "ansible") == "a/__2Jb_c.html.yml"
    assert safe_relpath("-rf.md", "bash") == "rf.sh"


def test_discover_walks_folders_sorted_without_duplicates(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "z.md").write_text("x")
    (tmp_path / "a" / ".hidden.md").write_text("x")
    (tmp_path / "a" / "notes.txt").write_text("x")
    (tmp_path / "b.md").write_text("x")
    sources, missing = discover([tmp_path, tmp_path / "b.md"])
    assert sources == [Source(tmp_path / "a" / "z.md", "a/z.md"), Source(tmp_path / "b.md", "b.md")]
    assert missing == []
