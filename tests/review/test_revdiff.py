"""``opsgen diff``'s model: script diff, difference of system diffs, findings fixed/new."""

from __future__ import annotations

import pytest

from opsgen.errors import InputError
from opsgen.flow.testing import error_finding, fake_report, make_evidence, seed_change
from opsgen.review.revdiff import compare_revisions
from opsgen.review.sysdiff import diff_items
from opsgen.sandbox.models import FileChange, FileMeta
from opsgen.store.canonical import sha256_text
from opsgen.store.repo import Store


def _file(path: str, text: str) -> FileChange:
    return FileChange(
        path, "added", None, FileMeta("file", 0o644, 0, 0, len(text), sha256_text(text))
    )


def test_compares_scripts_system_diffs_and_findings(store: Store) -> None:
    first = make_evidence(
        findings=(error_finding(line=2),),
        report=fake_report(files=(_file("/etc/a", "1"), _file("/etc/b", "1"))),
    )
    change, _, _ = seed_change(store, script="echo a\ncurl x | sh\n", evidence=first)
    revision = store.add_revision(change.id, "echo a\necho c > /etc/c\n", actor="alice")
    second = make_evidence(report=fake_report(files=(_file("/etc/a", "1"), _file("/etc/c", "2"))))
    store.add_evidence(revision, second, actor="alice")

    result = compare_revisions(store, change.id)
    assert (result.a.number, result.b.number) == (1, 2)
    assert "-curl x | sh" in result.script_diff and "+echo c > /etc/c" in result.script_diff
    assert [i.split(" [")[0] for i in result.system_only_a] == ["file added /etc/b"]
    assert [i.split(" [")[0] for i in result.system_only_b] == ["file added /etc/c"]
    assert result.findings_fixed == ("error OPS101: Do not pipe to a shell.",)
    assert result.findings_new == ()
    assert result.to_dict()["system_diff"]["only_b"] == list(result.system_only_b)


def test_one_revision_has_nothing_to_compare(store: Store) -> None:
    change, _, _ = seed_change(store)
    with pytest.raises(InputError, match="only one revision"):
        compare_revisions(store, change.id)


def test_diff_items_describe_every_kind_of_change() -> None:
    diff = {
        "files": [
            {
                "path": "/etc/x",
                "change": "modified",
                "notes": ["mode 0644 -> 0755"],
                "after": {"ftype": "file", "sha256": "f" * 64},
            }
        ],
        "users": [{"name": "deploy", "change": "added", "details": {"uid": "1001"}}],
        "groups": [],
        "packages": [{"name": "nginx", "change": "installed", "after": "1.22"}],
        "cron": [{"path": "/etc/cron.d/x", "added": ["* * * * * root true"], "removed": []}],
        "services": [{"tool": "systemctl", "action": "restart", "unit": "nginx.service"}],
    }
    assert diff_items(diff) == [
        "file modified /etc/x [mode 0644 -> 0755; sha256 ffffffffffff]",
        "user added deploy [uid=1001]",
        "package installed nginx 1.22",
        "cron /etc/cron.d/x: + * * * * * root true",
        "service: would restart nginx.service (systemctl)",
    ]
