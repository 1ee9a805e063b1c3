"""The operations suite (bench/ops_suite): well-formed tasks, and checkers that mean it.

Issues 11 and 16: "vetted" must mean "does what was asked". The suite's hidden checkers are
what that is measured against, so they are tested here: every gold solution passes, no
checker passes on the prepared state alone (an empty answer), and the probes (typical wrong
answers such as a home under /home, crontab instead of /etc/cron.d, a missing chown, an
append that duplicates on the second run; and right answers written differently from the
gold one) come out as they must.
"""

from __future__ import annotations

import importlib.util
import json
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SUITE = REPO / "bench" / "ops_suite"


def _load_harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ops_suite_harness", SUITE / "harness.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


H = _load_harness()
TASKS = H.load_tasks(SUITE / "tasks.yml")
PROBES = H.load_probes(SUITE / "probes.yml", TASKS)


# ---------------------------------------------------------------- without Docker


def test_tasks_file_is_well_formed() -> None:
    raw = yaml.safe_load((SUITE / "tasks.yml").read_text())
    ids = [t["id"] for t in raw]
    assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1]
    assert len(TASKS) >= 40
    langs = Counter(t.lang for t in TASKS)
    assert set(langs) == {"bash", "ansible"}
    assert langs["ansible"] >= 15
    for t in raw:
        for key in ("id", "lang", "category", "request", "prepare", "check", "gold"):
            assert isinstance(t.get(key), str) and t[key].strip(), (t.get("id"), key)
        assert t["id"].startswith({"bash": "b-", "ansible": "a-"}[t["lang"]]), t["id"]
    for t in TASKS:  # `opsgen new` picks the language from the request, as an operator writes it
        says_ansible = bool(re.search(r"ansible|playbook", t.request, re.IGNORECASE))
        assert says_ansible == (t.lang == "ansible"), t.id
    categories = {t.category for t in TASKS}
    assert {"users", "files", "cron", "sysctl", "logs", "config", "query"} <= categories


def test_every_script_parses() -> None:
    """bash -n for every prepare/check/bash gold; ansible golds are lists of plays."""
    for t in TASKS:
        scripts = {"prepare": t.prepare, "check": t.check}
        if t.lang == "bash":
            scripts["gold"] = t.gold
        else:
            plays = yaml.safe_load(t.gold)
            assert isinstance(plays, list) and all("hosts" in p for p in plays), t.id
        for name, text in scripts.items():
            proc = subprocess.run(["bash", "-n"], input=text, capture_output=True, text=True)
            assert proc.returncode == 0, f"{t.id} {name}: {proc.stderr}"
    lib = subprocess.run(["bash", "-n", str(SUITE / "checklib.sh")], capture_output=True)
    assert lib.returncode == 0


def test_generator_view_is_the_request_only() -> None:
    view = H.task_view(TASKS[0])
    assert set(view) == {"id", "lang", "request"}
    for t in TASKS:
        assert "OPSBENCH" not in t.request and "OPSGEN_STDOUT" not in t.request, t.id
        assert "\n" not in t.request


def test_probes_cover_the_typical_mistakes() -> None:
    names = {p.label for p in PROBES if p.expect == "fail"}
    assert {
        "b-user-system-srv/home-under-home",
        "b-cron-db-backup/user-crontab",
        "b-dir-tree-owner/missing-chown",
        "b-default-env-workers/append-twice",
        "b-prune-backups/rm-rf-dir",
        "a-user-append-groups/groups-without-append",
    } <= names
    assert any(p.expect == "pass" for p in PROBES)


def test_answers_file_and_summary(tmp_path: Path) -> None:
    path = tmp_path / "answers.jsonl"
    path.write_text(
        "\n".join(
            json.dumps(a)
            for a in [
                {"id": "x", "script": "true", "verdict": "vetted", "attempts": 2},
                {"id": "y", "script": "true", "verdict": "failed-checks", "lang": "bash"},
            ]
        )
        + "\n"
    )
    answers = H.load_answers(path)
    assert answers["x"].vetted and answers["x"].extra == {"attempts": 2}
    assert not answers["y"].vetted

    def outcome(lang: str, vetted: bool, correct: bool) -> Any:
        o = H.Outcome("t", lang, "users", "vetted" if vetted else "failed-checks", vetted)
        o.correct, o.status = correct, "ok" if correct else "wrong"
        return o

    outs = [
        outcome("bash", True, True),
        outcome("bash", True, False),
        outcome("bash", False, True),
        outcome("ansible", False, False),
        outcome("ansible", True, True),
    ]
    s = H.summarize(outs)
    assert s["correct"] == {"n": 3, "of": 5, "rate": 0.6}
    assert s["false_green"] == {"n": 1, "of": 3, "rate": 0.3333}
    assert s["false_red"] == {"n": 1, "of": 2, "rate": 0.5}
    assert s["by_lang"]["bash"]["false_green"]["n"] == 1
    assert H.summary_line(s) == (
        "ops-suite: 3/5 correct (60.0%), vetted 3, false-green 1/3 (33.3%), false-red 1/2 "
        "(50.0%); runs-clean 0 (0 right)"
    )


def test_relabel_scores_an_older_tree_by_todays_rule(tmp_path: Path) -> None:
    """'vetted' with no check counted is runs-clean under today's rule; --relabel applies it
    to answers of a tree that predates the rule, and runs-clean is counted apart."""
    path = tmp_path / "answers.jsonl"
    rows = [{"id": "a", "script": "true", "verdict": "vetted", "detail": "runs-clean, no checks"},
            {"id": "b", "script": "true", "verdict": "vetted",
             "detail": "runs-clean, no check counted (1 vacuous)"},
            {"id": "c", "script": "true", "verdict": "vetted",
             "detail": "runs-clean, 2 of 2 checks passed"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert all(a.vetted for a in H.load_answers(path).values())
    relabelled = H.load_answers(path, relabelled=True)
    assert [relabelled[i].verdict for i in "abc"] == ["runs-clean", "runs-clean", "vetted"]
    outs = []
    for answer, correct in zip(relabelled.values(), (True, False, True), strict=True):
        o = H.Outcome(answer.id, "bash", "users", answer.verdict, answer.vetted)
        o.correct, o.status = correct, "ok" if correct else "wrong"
        outs.append(o)
    s = H.summarize(outs)
    assert s["vetted"]["n"] == 1 and s["runs_clean"]["n"] == 2
    assert s["right_among_runs_clean"] == {"n": 1, "of": 2, "rate": 0.5}
    assert s["right_among_failed"]["of"] == 0


# ---------------------------------------------------------------- in the sandbox


@pytest.fixture(scope="module")
def runner(docker_client: Any) -> Any:
    r = H.Runner(docker_client)
    yield r
    r.remove_all()


def _leftovers(docker_client: Any, session: str) -> list[str]:
    found = docker_client.containers.list(
        all=True, filters={"label": f"{H.BENCH_LABEL}.session={session}"}
    )
    return [c.short_id for c in found]


@pytest.mark.docker
def test_gold_solutions_all_pass(runner: Any, docker_client: Any) -> None:
    t0 = time.monotonic()
    outcomes = H.score(runner, TASKS, H.gold_answers(TASKS), jobs=2)
    elapsed = time.monotonic() - t0
    bad = {o.id: o.reason or o.check_output for o in outcomes if not o.correct}
    assert bad == {}
    print(f"\ngold: {len(outcomes)} tasks in {elapsed:.0f}s with 2 jobs")
    assert _leftovers(docker_client, runner.session) == []


@pytest.mark.docker
def test_empty_answers_all_fail(runner: Any) -> None:
    """Every checker is non-vacuous: it fails on the prepared state before any answer."""
    t0 = time.monotonic()
    outcomes = H.score(runner, TASKS, None, empty=True, jobs=2)
    elapsed = time.monotonic() - t0
    assert [o.id for o in outcomes if o.status == "error"] == []
    assert [o.id for o in outcomes if o.correct] == []
    # A checker says why it fails; a step that ran out of time on a loaded machine (the
    # harness says so in the reason) is not a checker's silence.
    silent = [(o.id, o.reason) for o in outcomes
              if "FAIL" not in o.check_output and "timed out" not in o.reason.lower()]
    assert silent == [], f"checkers failed without saying why: {silent}"
    print(f"\nempty: {len(outcomes)} tasks in {elapsed:.0f}s with 2 jobs")


@pytest.mark.docker
def test_probes_come_out_as_expected(runner: Any) -> None:
    """Typical wrong answers are rejected; right answers unlike the gold one are accepted."""
    outcomes = H.run_pairs(runner, H.probe_pairs(PROBES, TASKS), jobs=2)
    unexpected = {
        p.label: (o.status, o.reason)
        for p, o in zip(PROBES, outcomes, strict=True)
        if o.status == "error" or o.correct != (p.expect == "pass")
    }
    assert unexpected == {}


@pytest.mark.docker
def test_missing_and_wrong_language_answers_are_wrong(runner: Any) -> None:
    task = next(t for t in TASKS if t.id == "a-cron-nightly")
    answers = {task.id: H.Answer(task.id, "echo hi", "vetted", lang="bash")}
    [wrong_lang] = H.score(runner, [task], answers, jobs=1)
    assert (wrong_lang.status, wrong_lang.correct, wrong_lang.vetted) == ("wrong-lang", False, True)
    [missing] = H.score(runner, [task], {}, jobs=1)
    assert (missing.status, missing.correct, missing.vetted) == ("missing", False, False)


@pytest.mark.docker
def test_hanging_or_container_killing_answers_are_wrong_not_errors(docker_client: Any) -> None:
    r = H.Runner(docker_client, timeout=3)
    task = next(t for t in TASKS if t.id == "b-sysctl-swappiness")
    answers = [
        H.Answer(task.id, "sleep 60", "vetted"),
        H.Answer(task.id, "kill -TERM -1; sleep 5", "vetted"),
    ]
    hung, killer = H.run_pairs(r, [(task, a) for a in answers], jobs=2)
    assert (hung.status, hung.correct, hung.reason) == ("wrong", False, "run 1 timed out after 3s")
    assert (killer.status, killer.correct) == ("wrong", False), killer.reason
    assert _leftovers(docker_client, r.session) == []


@pytest.mark.docker
def test_stopping_removes_a_running_container(docker_client: Any) -> None:
    r = H.Runner(docker_client, timeout=60)
    task = next(t for t in TASKS if t.id == "b-sysctl-swappiness")
    result: list[Any] = []
    worker = threading.Thread(
        target=lambda: result.append(
            _catch(lambda: r.run_task(task, H.Answer(task.id, "sleep 50", "vetted")))
        )
    )
    worker.start()
    deadline = time.monotonic() + 30
    while not _leftovers(docker_client, r.session) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _leftovers(docker_client, r.session), "the task's container never appeared"
    time.sleep(1.5)  # into the answer's run
    t0 = time.monotonic()
    r.remove_all()
    worker.join(timeout=30)
    assert not worker.is_alive() and time.monotonic() - t0 < 30
    assert _leftovers(docker_client, r.session) == []
    assert result and not getattr(result[0], "correct", False)


@pytest.mark.docker
def test_ctrl_c_on_the_command_line_removes_containers(docker_client: Any, tmp_path: Path) -> None:
    answers = tmp_path / "answers.jsonl"
    answers.write_text(
        json.dumps({"id": "b-sysctl-net", "script": "sleep 60", "verdict": "vetted"}) + "\n"
    )
    # started with SIGINT ignored, as a background job of a non-interactive shell (CI) is:
    # the harness must still stop on it
    proc = subprocess.Popen(
        [sys.executable, str(SUITE / "harness.py"), str(answers), "--ids", "b-sysctl-net"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    label = f"opsgen.sandbox.owner_pid={proc.pid}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if docker_client.containers.list(filters={"label": label}):
                break
            time.sleep(0.2)
        else:
            pytest.fail("the harness never started a container")
        time.sleep(1.5)
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGUSR1)  # the harness prints every thread's stack
            time.sleep(2)
            proc.kill()
            _, err = proc.communicate(timeout=30)
            pytest.fail(f"no exit 60 s after SIGINT; where it waited:\n{err[-6000:]}")
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert docker_client.containers.list(all=True, filters={"label": label}) == []


def _catch(fn: Any) -> Any:
    try:
        return fn()
    except KeyboardInterrupt as exc:
        return exc


def test_generate_writes_one_answer_line_per_task_from_the_request_alone(
    tmp_path: Any, monkeypatch: Any
) -> None:
    """bench/ops_suite/generate.py: the generator sees the request (never check or gold),
    and each answer line carries the loop's script and verdict in the harness's format."""
    import importlib.util
    import sys as _sys

    from opsgen.generator.llm import FakeLLM

    spec = importlib.util.spec_from_file_location("ops_generate", SUITE / "generate.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    _sys.modules["ops_generate"] = gen
    spec.loader.exec_module(gen)
    seen: list[str] = []

    def respond(messages: Any) -> str:
        seen.append("\n".join(m.content for m in messages))
        return "```bash\n#!/usr/bin/env bash\nset -euo pipefail\nmkdir -p /srv/x\n```"

    llm = FakeLLM(respond)
    monkeypatch.setattr("opsgen.generator.backends.load_client", lambda *a, **k: llm)
    out = tmp_path / "answers.jsonl"
    task = next(t for t in TASKS if t.lang == "bash")
    monkeypatch.setattr(_sys, "argv", ["generate.py", "--out", str(out), "--ids", task.id,
                                       "--no-dryrun", "--candidates", "1"])
    gen.main()
    (line,) = [json.loads(x) for x in out.read_text().splitlines()]
    assert line["id"] == task.id and "mkdir -p /srv/x" in line["script"]
    assert line["verdict"] == "unverified"
    assert H.load_answers(out)[task.id].script == line["script"]
    prompt = "\n".join(seen)
    assert task.request.split()[0] in prompt
    assert task.check.strip() not in prompt and task.gold.strip() not in prompt


def test_generate_modes_answer_each_task_in_every_mode_into_its_own_file(
    tmp_path: Any, monkeypatch: Any
) -> None:
    """``--modes default,model-scenario``: before and after in one run, one file per mode,
    the loop called with ``model_scenario`` off and then on for the same task."""
    import importlib.util
    import sys as _sys

    import opsgen.flow.new as flow_new
    from opsgen.generator.llm import FakeLLM

    spec = importlib.util.spec_from_file_location("ops_generate_modes", SUITE / "generate.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    _sys.modules["ops_generate_modes"] = gen
    spec.loader.exec_module(gen)
    calls: list[bool] = []
    real_new = flow_new.new

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs.get("model_scenario", False))  # default mode passes nothing
        return real_new(*args, **kwargs)

    monkeypatch.setattr(flow_new, "new", spy)
    monkeypatch.setattr("opsgen.generator.backends.load_client", lambda *a, **k: FakeLLM(
        lambda m: "```bash\n#!/usr/bin/env bash\nset -euo pipefail\nmkdir -p /srv/x\n```"))
    out = tmp_path / "ans"
    task = next(t for t in TASKS if t.lang == "bash")
    monkeypatch.setattr(_sys, "argv", ["generate.py", "--out", str(out), "--ids", task.id,
                                       "--no-dryrun", "--candidates", "1",
                                       "--modes", "default,model-scenario"])
    gen.main()
    before = [json.loads(x) for x in (tmp_path / "ans.default.jsonl").read_text().splitlines()]
    after = [json.loads(x) for x in
             (tmp_path / "ans.model-scenario.jsonl").read_text().splitlines()]
    assert [r["mode"] for r in before] == ["default"] and [r["id"] for r in before] == [task.id]
    assert [r["mode"] for r in after] == ["model-scenario"] and after[0]["id"] == task.id
    assert calls == [False, True]
    assert before[0]["tree"] == after[0]["tree"] == str(Path(flow_new.__file__).parents[2])
