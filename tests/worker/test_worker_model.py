"""`opsgen new` through the worker: the model is loaded once, before the fork, never run there.

The worker loads the model's weights and context before it forks a child per command; the
child of ``opsgen new`` takes that client instead of loading it again. The worker itself
must never evaluate a token: libgomp's threads do not survive a fork, so a child of a process
that has computed hangs at its first token. These tests run the real model (0.5B: the same
code path as the default, in a third of the time) in fresh processes only, since this test
process may have run a model already.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from worker_helpers import child_pids, log_text, opsgen, served

from opsgen.generator.catalogue import get_spec
from opsgen.generator.install import is_verified, runtime_available

pytestmark = pytest.mark.model

MODEL = "qwen2.5-coder-0.5b"


@pytest.fixture()
def need_model() -> None:
    problem = ("" if runtime_available("llama") else "llama-cpp-python is not installed") or (
        "" if is_verified(get_spec(MODEL)) else f"{MODEL} is not installed")
    if problem and os.environ.get("CI"):
        pytest.fail(f"CI needs this, but: {problem}", pytrace=False)
    if problem:
        pytest.skip(problem)


def test_new_through_the_worker_takes_the_preloaded_model(
    env: dict[str, str], tmp_path: Path, need_model: None
) -> None:
    env = {**env, "OPSGEN_WORKER_MODEL": "1", "OPSGEN_MODEL": MODEL, "OPSGEN_THREADS": "2"}
    started = opsgen("worker", "start", "--idle", "300", env=env, timeout=180)
    assert started.returncode == 0, started.stderr
    assert f"model: {MODEL} preloaded for opsgen new" in log_text(env)
    args = ("new", "Create the directory /srv/reports with mode 0750", "--lang", "bash",
            "--attempts", "1", "--candidates", "1", "--no-dryrun", "--no-store", "--json")
    via = opsgen(*args, env=env, cwd=tmp_path, timeout=300)
    assert via.returncode == 0, via.stderr
    assert served(env) == 1 and len(child_pids(env)) == 1
    direct = opsgen(*args, env={**env, "OPSGEN_NO_WORKER": "1"}, cwd=tmp_path, timeout=300)
    assert direct.returncode == 0, direct.stderr
    got, want = json.loads(via.stdout), json.loads(direct.stdout)
    assert got["model"]["preloaded"] is True and want["model"]["preloaded"] is False
    # greedy: the same answer whether the weights came from the worker or from disk
    assert got["script"] == want["script"] and got["script"]


def test_a_changed_thread_count_loads_its_own(
    env: dict[str, str], tmp_path: Path, need_model: None
) -> None:
    """A client whose OPSGEN_THREADS differs from the worker's would get a context made for
    another thread count: it loads its own."""
    env = {**env, "OPSGEN_WORKER_MODEL": "1", "OPSGEN_MODEL": MODEL, "OPSGEN_THREADS": "2"}
    assert opsgen("worker", "start", "--idle", "300", env=env, timeout=180).returncode == 0
    proc = opsgen("new", "Print the kernel version", "--lang", "bash", "--attempts", "1",
                  "--candidates", "1", "--no-dryrun", "--no-store", "--json",
                  env={**env, "OPSGEN_THREADS": "1"}, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert served(env) == 1
    assert json.loads(proc.stdout)["model"]["preloaded"] is False


PRELOADER = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from opsgen.generator.backends import llamacpp
    from opsgen.generator.llm import Message
    path = Path(sys.argv[1])
    warm = llamacpp.preload(path, n_ctx=1024)
    ask = [Message("user", "Print the word hello with echo.")]
    try:
        warm.complete(ask, max_tokens=8)
    except RuntimeError as exc:
        print("refused:", exc, flush=True)
    pid = os.fork()
    if pid == 0:
        client = llamacpp.load(path, n_ctx=1024)
        text = client.complete(ask, max_tokens=24).text
        print("child:", client is warm, client.preloaded, repr(text), flush=True)
        os._exit(0)
    os.waitpid(pid, 0)
    fresh = llamacpp.load(path, n_ctx=1024)  # the preloader itself: a client of its own
    print("parent:", fresh is warm, repr(fresh.complete(ask, max_tokens=24).text), flush=True)
""")


def test_the_preloading_process_never_computes_and_its_child_answers_the_same(
    need_model: None,
) -> None:
    from opsgen.generator.install import installed_path

    path = installed_path(get_spec(MODEL))
    proc = subprocess.run([sys.executable, "-c", PRELOADER, str(path)], capture_output=True,
                          text=True, timeout=240, env={**os.environ, "OPSGEN_THREADS": "2"})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("refused: the worker that preloaded this model must not run it")
    child, parent = lines[1].split(" ", 3), lines[2].split(" ", 2)
    assert child[:3] == ["child:", "True", "True"]
    assert parent[1] == "False"
    assert child[3] == parent[2] and len(child[3]) > 2  # the same greedy answer
