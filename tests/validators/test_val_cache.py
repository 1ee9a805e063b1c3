"""The tools' result cache: hits skip the tool, any change misses, bad entries are ignored."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from opsgen.cli import main
from opsgen.validators import cache as cache_module
from opsgen.validators import lint_text
from opsgen.validators import tools as tools_module
from opsgen.validators.adapters import shellcheck as shellcheck_adapter
from opsgen.validators.cache import SCHEMA, ResultCache, cache_root, default_cache

SCRIPT = "#!/bin/bash\nset -euo pipefail\necho $1\ncurl -s https://x.invalid/a | sh\n"


def unique(text: str = SCRIPT) -> str:
    """``text`` with a comment nobody else linted: a guaranteed miss on the first run."""
    return text + f"# {uuid.uuid4().hex}\n"


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("OPSGEN_CACHE_DIR", str(folder))
    return folder / "lint"


@pytest.fixture
def spawned(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the programs the lint starts (a spy on ``subprocess.Popen``)."""
    calls: list[str] = []
    real = subprocess.Popen

    def spy(argv: list[str], *args: object, **kw: object) -> object:
        calls.append(Path(argv[0]).name)
        return real(argv, *args, **kw)  # type: ignore[call-overload]

    monkeypatch.setattr(tools_module.subprocess, "Popen", spy)
    return calls


@pytest.fixture
def fake_shellcheck(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Path]:
    """Install a fake shellcheck whose body is given; it logs each run to ``runs.log``."""
    exe = tmp_path / "bin" / "shellcheck"
    exe.parent.mkdir()
    monkeypatch.setattr(shellcheck_adapter, "tool_path", lambda name: str(exe))

    def install(body: str) -> Path:
        exe.write_text(f"#!/bin/sh\necho run >> {tmp_path / 'runs.log'}\n{body}\n")
        exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
        return exe

    return install


def runs(tmp_path: Path) -> int:
    log = tmp_path / "runs.log"
    return len(log.read_text().splitlines()) if log.exists() else 0


def test_same_input_twice_is_answered_from_the_cache(cache_dir: Path,
                                                     spawned: list[str]) -> None:
    text = unique()
    first = lint_text(text, "bash", "a.sh")
    assert sorted(spawned) == ["bash", "shellcheck"]
    assert all(t.status == "ok" and t.detail == "" for t in first.tools)
    second = lint_text(text, "bash", "a.sh")
    assert sorted(spawned) == ["bash", "shellcheck"]  # nothing started the second time
    assert second.findings == first.findings
    assert {f.code for f in second.findings} >= {"SC2086", "OPS101"}
    assert [(t.name, t.status, t.detail) for t in second.tools] == [
        ("shellcheck", "ok", "cached"), ("bash -n", "ok", "cached")]
    assert len(list(cache_dir.glob("*/*.json"))) == 2


def test_cached_runs_show_in_json_output(cache_dir: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "a.sh"
    script.write_text(unique())
    for _ in range(2):
        main(["lint", "--format", "json", str(script)])
        doc = json.loads(capsys.readouterr().out)
    tools = doc["files"][0]["tools"]
    assert {t["name"]: t["detail"] for t in tools} == {"shellcheck": "cached",
                                                       "bash -n": "cached"}


def test_changed_input_misses(cache_dir: Path, spawned: list[str]) -> None:
    lint_text(unique(), "bash")
    lint_text(unique(), "bash")
    assert spawned.count("shellcheck") == 2


def test_changed_tool_binary_misses(cache_dir: Path, tmp_path: Path,
                                    fake_shellcheck: Callable[[str], Path]) -> None:
    exe = fake_shellcheck("echo '{\"comments\": []}'")
    text = unique()
    lint_text(text, "bash")
    lint_text(text, "bash")
    assert runs(tmp_path) == 1
    fake_shellcheck("echo '{\"comments\": []}'  # upgraded")
    os.utime(exe, ns=(exe.stat().st_atime_ns, exe.stat().st_mtime_ns + 10**9))
    r = lint_text(text, "bash")
    assert runs(tmp_path) == 2 and r.tools[0].detail == ""


def test_corrupt_or_foreign_entries_are_ignored_and_rewritten(
        cache_dir: Path, tmp_path: Path, fake_shellcheck: Callable[[str], Path]) -> None:
    fake_shellcheck("echo '{\"comments\": []}'")
    text = unique()
    lint_text(text, "bash")
    (entry,) = [p for p in cache_dir.glob("*/*.json") if '"shellcheck"' in p.read_text()]
    good = json.loads(entry.read_text())
    bad_entries = [
        b"",  # a crash before the data reached the disk
        entry.read_bytes()[:40],  # half an entry
        b"\xff\xfe not json",
        json.dumps({**good, "key": "0" * 64}).encode(),  # another key's entry
        json.dumps({**good, "schema": SCHEMA + 1}).encode(),  # an older opsgen's
        json.dumps({**good, "returncode": 99}).encode(),  # not an exit code this job accepts
        json.dumps({**good, "stdout": None}).encode(),
        json.dumps([1, 2]).encode(),
    ]
    for n, data in enumerate(bad_entries, start=2):
        entry.write_bytes(data)
        r = lint_text(text, "bash")
        assert runs(tmp_path) == n, data
        assert r.tools[0].status == "ok" and r.tools[0].detail == ""
        assert json.loads(entry.read_text()) == good  # rewritten whole


def test_timeouts_and_failures_are_not_cached(cache_dir: Path, tmp_path: Path,
                                              fake_shellcheck: Callable[[str], Path],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    fake_shellcheck("exit 3")  # not an exit code shellcheck uses for findings
    text = unique()
    for n in (1, 2):
        r = lint_text(text, "bash")
        assert r.tools[0].status == "failed" and runs(tmp_path) == n
    fake_shellcheck("sleep 30")
    real_job = shellcheck_adapter.Job

    def quick_job(*args: object, **kw: object) -> object:
        kw["timeout"] = 0.3
        return real_job(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(shellcheck_adapter, "Job", quick_job)
    for n in (3, 4):
        r = lint_text(text, "bash")
        assert r.tools[0].status == "timeout" and runs(tmp_path) == n
    assert not [p for p in cache_dir.glob("*/*.json") if '"shellcheck"' in p.read_text()]


def test_no_cache_runs_the_tools(cache_dir: Path, tmp_path: Path, spawned: list[str],
                                 monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    text = unique()
    lint_text(text, "bash")
    assert spawned.count("shellcheck") == 1
    lint_text(text, "bash", cache=False)
    assert spawned.count("shellcheck") == 2
    script = tmp_path / "a.sh"
    script.write_text(text)
    main(["lint", "--no-cache", str(script)])
    assert spawned.count("shellcheck") == 3
    main(["lint", str(script)])
    assert spawned.count("shellcheck") == 3  # the CLI uses the cache by default
    monkeypatch.setenv("OPSGEN_NO_CACHE", "1")
    assert default_cache() is None
    lint_text(text, "bash")
    main(["lint", str(script)])
    assert spawned.count("shellcheck") == 5
    capsys.readouterr()


def test_cache_location(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OPSGEN_CACHE_DIR", str(tmp_path))
    assert cache_root() == tmp_path / "lint"
    monkeypatch.delenv("OPSGEN_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "opsgen" / "lint"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_root() == tmp_path / "home" / ".cache" / "opsgen" / "lint"


def test_unwritable_cache_is_only_a_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         spawned: list[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("OPSGEN_CACHE_DIR", str(blocker))
    text = unique()
    assert lint_text(text, "bash").tools[0].status == "ok"
    assert lint_text(text, "bash").tools[0].detail == ""
    assert spawned.count("shellcheck") == 2


def test_prune_keeps_the_most_recently_used(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache_module, "PRUNE_CHANCE", 0.0)
    cache = ResultCache(tmp_path, max_entries=10, max_bytes=1 << 20)
    keys = [f"{n:02d}" + "a" * 62 for n in range(20)]
    for n, key in enumerate(keys):
        cache.put(key, {"n": n})
        os.utime(cache.path(key), (1_000_000 + n, 1_000_000 + n))
    assert cache.get(keys[0]) == {"n": 0, "key": keys[0], "schema": SCHEMA}  # touched
    (cache.path(keys[5]).parent / ".tmp-left-by-a-crash.json").write_text("{")
    os.utime(cache.path(keys[5]).parent / ".tmp-left-by-a-crash.json", (1, 1))
    assert cache.prune() == 11
    left = sorted(p.name[:2] for p in tmp_path.glob("*/*.json"))
    assert left == ["00", "12", "13", "14", "15", "16", "17", "18", "19"]
    assert not list(tmp_path.glob("*/.tmp-*"))
    assert cache.prune() == 0
    small = ResultCache(tmp_path, max_entries=100, max_bytes=400)
    assert small.prune() > 0
    assert sum(p.stat().st_size for p in tmp_path.glob("*/*.json")) <= 360


_WRITER = """
import sys
from pathlib import Path
from opsgen.validators.cache import ResultCache
cache = ResultCache(Path(sys.argv[1]))
for n in range(300):
    cache.put("ab" * 32, {"writer": sys.argv[2], "n": n, "pad": sys.argv[2] * (n % 50) * 100})
"""


def test_concurrent_writers_never_leave_a_partial_entry(tmp_path: Path) -> None:
    key = "ab" * 32
    writers = [subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path), w])
               for w in ("x", "y")]
    cache, seen = ResultCache(tmp_path), 0
    while any(w.poll() is None for w in writers):
        entry = cache.get(key)
        if entry is not None:
            seen += 1
            assert entry["pad"] == entry["writer"] * (entry["n"] % 50) * 100
    assert all(w.wait() == 0 for w in writers)
    final = cache.get(key)
    assert final is not None and final["n"] == 299
    assert [p.name for p in tmp_path.glob("*/*")] == [f"{key}.json"]  # no temp files left


def test_a_file_two_tools_read_is_never_rewritten_under_them():
    """shellcheck reads script.sh while bash -n's job is being set up, which writes the same
    file: rewriting it in place truncated it under shellcheck (a spurious SC2148 that the
    cache then kept). Unchanged, the file is left alone; changed, it is replaced whole."""
    from opsgen.validators import Artifact

    with Artifact("#!/usr/bin/env bash\necho hi\n", "bash", "t.sh") as art:
        first = art.write("script.sh")
        inode = first.stat().st_ino
        assert art.write("script.sh").stat().st_ino == inode  # same bytes: untouched
        again = art.write("script.sh", "#!/usr/bin/env bash\necho bye\n")
        assert again.stat().st_ino != inode  # new bytes: a new file renamed into place
        assert again.read_text().endswith("echo bye\n")
        assert not list(art.workdir.glob(".*.partial"))


def test_shellcheck_and_bash_n_see_the_whole_script_every_time(cache_dir):
    script = unique("#!/usr/bin/env bash\nset -euo pipefail\nfind /tmp -name x -print\n")
    for _ in range(20):
        report = lint_text(script, "bash", "s.sh", cache=False)
        assert [f.code for f in report.findings if f.code == "SC2148"] == []
