"""Score answers to the operations suite against its hidden checkers.

Each task runs in a fresh container of the sandbox image, under the same hardening policy as
an opsgen dry-run (no network, all capabilities dropped but the few file and account
administration needs, no privilege gain, memory/PID/CPU limits)::

    prepare (the state the request presupposes)
      -> the answer, run 1 (its stdout is kept for query tasks)
      -> the answer, run 2 (idempotence: a second run must not break the state)
      -> check (hidden; exit 0 = the request was done)

An answer is *correct* when both runs exit 0 and the checker passes. The checker and the
state it needs are copied into the container only after the answer's runs, so the answer
never sees them.

    python bench/ops_suite/harness.py answers.jsonl     # score a generator's answers
    python bench/ops_suite/harness.py --gold            # self-check: every gold must pass
    python bench/ops_suite/harness.py --empty           # self-check: every check must fail
    python bench/ops_suite/harness.py --probes          # known-wrong/known-right answers
    python bench/ops_suite/harness.py --list            # what a generator may see
    python bench/ops_suite/harness.py --gold --ids b-cron-db-backup,a-cron-nightly --jobs 1

Answers are JSON lines: ``{"id": ..., "script": ..., "verdict": "vetted"|...}``; optional
``lang`` (must be the task's), anything else is carried into ``--save``. A task without an
answer counts as wrong and not vetted. See README.md beside this file.
"""

from __future__ import annotations

import argparse
import faulthandler
import io
import json
import os
import re
import signal
import sys
import tarfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
_CHOSEN = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
           if p and (Path(p) / "opsgen" / "__init__.py").is_file()]
if not _CHOSEN and str(REPO) not in sys.path:  # run as a script from anywhere: this tree
    # A PYTHONPATH that names a tree with opsgen (generate.py measuring a "before" commit)
    # wins; putting this tree first then would run the same code on both sides.
    sys.path.insert(0, str(REPO))

DEFAULT_TASKS = HERE / "tasks.yml"
DEFAULT_PROBES = HERE / "probes.yml"
CHECKLIB = HERE / "checklib.sh"
LANGS = ("bash", "ansible")
#: Label on every container of this harness (besides opsgen's own sandbox labels, which let
#: opsgen's reaper remove them if this process dies without cleaning up).
BENCH_LABEL = "opsgen.bench"
BENCH_VALUE = "ops_suite"
#: Where the harness puts its own files in a container (never while the answer runs).
WORK = "/.opsbench"
STATE = f"{WORK}/state"
OUTPUT_CAP = 256 * 1024
TAIL = 2000
ANSIBLE_ENV = {
    "ANSIBLE_NOCOLOR": "1",
    "ANSIBLE_RETRY_FILES_ENABLED": "0",
    "ANSIBLE_HOST_KEY_CHECKING": "0",
    "ANSIBLE_LOCALHOST_WARNING": "0",
    "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
    "ANSIBLE_PYTHON_INTERPRETER": "auto_silent",
}
REQUIRED_FIELDS = ("id", "lang", "category", "request", "prepare", "check", "gold")


class SuiteError(Exception):
    """A malformed tasks or answers file."""


class TimedOut(Exception):
    """A step ran past its limit; its container has been killed."""

    def __init__(self, step: str, limit: float) -> None:
        super().__init__(f"{step} timed out after {limit:.0f}s")
        self.step = step


@dataclass(frozen=True)
class Task:
    id: str
    lang: str
    category: str
    request: str
    prepare: str
    check: str
    gold: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Answer:
    id: str
    script: str
    verdict: str = "unknown"
    lang: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def vetted(self) -> bool:
        return self.verdict == "vetted"


@dataclass
class Outcome:
    """What happened to one task's answer."""

    id: str
    lang: str
    category: str
    verdict: str
    vetted: bool
    correct: bool = False
    #: ``ok``; ``wrong`` (checker failed or a run failed); ``missing`` (no answer);
    #: ``wrong-lang``; ``error`` (the harness or the task's prepare failed: not a score).
    status: str = "wrong"
    reason: str = ""
    rc1: int | None = None
    rc2: int | None = None
    check_rc: int | None = None
    check_output: str = ""
    stdout1: str = ""
    stderr1: str = ""
    stderr2: str = ""
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------- loading


def load_tasks(path: Path = DEFAULT_TASKS) -> list[Task]:
    """The tasks of ``path`` (YAML list, or JSON lines for ``*.jsonl``), validated."""
    text = Path(path).read_text(encoding="utf-8")
    if str(path).endswith(".jsonl"):
        raw: Any = [json.loads(line) for line in text.splitlines() if line.strip()]
    else:
        raw = yaml.safe_load(text)
        if isinstance(raw, dict):
            raw = raw.get("tasks")
    if not isinstance(raw, list):
        raise SuiteError(f"{path}: expected a list of tasks")
    tasks: list[Task] = []
    seen: set[str] = set()
    for n, item in enumerate(raw):
        if not isinstance(item, dict):
            raise SuiteError(f"{path}: task #{n} is not a mapping")
        missing = [k for k in REQUIRED_FIELDS if not str(item.get(k) or "").strip()]
        if missing:
            raise SuiteError(f"{path}: task {item.get('id', n)!r} lacks {', '.join(missing)}")
        unknown = set(item) - {*REQUIRED_FIELDS, "tags"}
        if unknown:
            raise SuiteError(f"{path}: task {item['id']!r} has unknown keys {sorted(unknown)}")
        if item["id"] in seen:
            raise SuiteError(f"{path}: duplicate id {item['id']!r}")
        if item["lang"] not in LANGS:
            raise SuiteError(f"{path}: task {item['id']!r}: lang must be bash or ansible")
        seen.add(item["id"])
        tasks.append(
            Task(
                id=str(item["id"]),
                lang=str(item["lang"]),
                category=str(item["category"]),
                request=" ".join(str(item["request"]).split()),
                prepare=str(item["prepare"]),
                check=str(item["check"]),
                gold=str(item["gold"]),
                tags=tuple(item.get("tags") or ()),
            )
        )
    return tasks


#: The verdict words of a run that no check proved (opsgen's ``runs-clean`` status).
_UNPROVED = re.compile(r"\bno checks?\b")


def relabel(verdict: str, detail: str) -> str:
    """The status an answer gets under the rule "vetted needs a check that proved the
    change" (opsgen since 2fdaebc): an older tree's ``vetted`` whose verdict words say no
    check counted becomes ``runs-clean``, so before and after are scored by one rule."""
    if verdict == "vetted" and _UNPROVED.search(detail or ""):
        return "runs-clean"
    return verdict


def load_answers(path: Path, relabelled: bool = False) -> dict[str, Answer]:
    """The answers of a JSON-lines file, by task id (a later line for an id wins);
    ``relabelled``: statuses by :func:`relabel`."""
    answers: dict[str, Answer] = {}
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SuiteError(f"{path}:{n}: not JSON ({exc})") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
            raise SuiteError(f"{path}:{n}: want an object with a string id")
        script = obj.get("script")
        extra = {k: v for k, v in obj.items() if k not in ("id", "script", "verdict", "lang")}
        answers[obj["id"]] = Answer(
            id=obj["id"],
            script=script if isinstance(script, str) else "",
            verdict=(relabel(str(obj.get("verdict") or "unknown"), str(obj.get("detail") or ""))
                     if relabelled else str(obj.get("verdict") or "unknown")),
            lang=obj.get("lang"),
            extra=extra,
        )
    return answers


def gold_answers(tasks: Iterable[Task]) -> dict[str, Answer]:
    return {t.id: Answer(t.id, t.gold, "vetted", t.lang) for t in tasks}


@dataclass(frozen=True)
class Probe:
    """A hand-written answer to a task whose right outcome is known (probes.yml)."""

    task: str
    name: str
    expect: str  # "pass" or "fail"
    script: str
    why: str = ""

    @property
    def label(self) -> str:
        return f"{self.task}/{self.name}"


def load_probes(path: Path, tasks: Sequence[Task]) -> list[Probe]:
    """The probes of ``path``; each must name a known task and expect pass or fail."""
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(raw, list):
        raise SuiteError(f"{path}: expected a list of probes")
    known = {t.id for t in tasks}
    probes: list[Probe] = []
    seen: set[str] = set()
    for item in raw:
        if not isinstance(item, dict) or not all(item.get(k) for k in ("task", "name", "script")):
            raise SuiteError(f"{path}: each probe needs task, name and script: {item!r:.80}")
        probe = Probe(
            task=str(item["task"]),
            name=str(item["name"]),
            expect=str(item.get("expect")),
            script=str(item["script"]),
            why=str(item.get("why") or ""),
        )
        if probe.task not in known:
            raise SuiteError(f"{path}: probe {probe.label} names an unknown task")
        if probe.expect not in ("pass", "fail"):
            raise SuiteError(f"{path}: probe {probe.label}: expect must be pass or fail")
        if probe.label in seen:
            raise SuiteError(f"{path}: duplicate probe {probe.label}")
        seen.add(probe.label)
        probes.append(probe)
    return probes


def probe_pairs(probes: Sequence[Probe], tasks: Sequence[Task]) -> list[tuple[Task, Answer | None]]:
    by_id = {t.id: t for t in tasks}
    return [
        (by_id[p.task], Answer(p.task, p.script, f"probe:{p.expect}", extra={"probe": p.name}))
        for p in probes
    ]


def task_view(task: Task) -> dict[str, str]:
    """What a generator may see of a task: its id, language and request. Nothing else."""
    return {"id": task.id, "lang": task.lang, "request": task.request}


# ---------------------------------------------------------------------------- containers


def _tar(files: dict[str, tuple[bytes, int]]) -> bytes:
    """A tar of ``files`` (relative path -> (data, mode)), with its parent directories."""
    buf = io.BytesIO()
    now = time.time()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        dirs: set[str] = set()
        for name in sorted(files):
            parts = name.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                d = "/".join(parts[:i])
                if d not in dirs:
                    dirs.add(d)
                    info = tarfile.TarInfo(d)
                    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o700, now
                    tar.addfile(info)
            data, mode = files[name]
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, now
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class Runner:
    """Runs tasks in containers; remembers every container it made until it is removed."""

    def __init__(
        self,
        client: Any,
        image: str = "opsgen-sandbox:bookworm",
        timeout: float = 120.0,
        check_timeout: float = 60.0,
    ) -> None:
        from opsgen.sandbox.policy import SandboxPolicy, to_docker_kwargs

        self.client = client
        self.image = image
        self.timeout = timeout
        self.check_timeout = check_timeout
        self.session = uuid.uuid4().hex[:8]
        self._policy = SandboxPolicy(extra_labels={BENCH_LABEL: BENCH_VALUE})
        self._kwargs = to_docker_kwargs
        self._live: set[str] = set()
        self._lock = threading.Lock()
        self.stopping = threading.Event()

    # -- container life

    def _create(self, task: Task) -> Any:
        run_id = f"bench-{self.session}-{task.id}"[:60]
        kwargs = self._kwargs(self._policy, run_id=run_id)
        kwargs["labels"][f"{BENCH_LABEL}.task"] = task.id
        kwargs["labels"][f"{BENCH_LABEL}.session"] = self.session
        if self.stopping.is_set():
            raise KeyboardInterrupt
        container = self.client.containers.create(
            self.image, entrypoint=["sleep"], command=["infinity"], **kwargs
        )
        with self._lock:
            self._live.add(container.id)
        if self.stopping.is_set():
            self._remove(container.id)
            raise KeyboardInterrupt
        container.start()
        return container

    def _remove(self, container_id: str) -> None:
        from docker.errors import DockerException

        try:
            self.client.api.remove_container(container_id, force=True)
        except DockerException:
            pass
        with self._lock:
            self._live.discard(container_id)

    def remove_all(self) -> None:
        """Remove every container this runner still holds, and any of its session."""
        self.stopping.set()
        with self._lock:
            ids = list(self._live)
        for cid in ids:
            self._remove(cid)
        try:
            left = self.client.containers.list(
                all=True, filters={"label": f"{BENCH_LABEL}.session={self.session}"}
            )
        except Exception:  # best effort on the way out
            left = []
        for c in left:
            self._remove(c.id)

    # -- steps

    def _exec(
        self,
        container: Any,
        cmd: list[str],
        env: dict[str, str] | None = None,
        timeout: float | None = None,
        step: str = "a step",
    ) -> tuple[int, str, str]:
        """Run ``cmd`` as root in ``container``: (exit status, stdout, stderr), each capped.

        The time limit is kept from here, not by a tool inside the container (which the
        answer could remove): past it the whole container is killed and ``TimedOut`` raised.
        """
        limit = timeout or self.timeout
        api = self.client.api
        exec_id = api.exec_create(
            container.id, cmd, environment=env or {}, workdir="/root", user="root"
        )["Id"]
        fired = threading.Event()

        def kill() -> None:
            fired.set()
            try:
                api.kill(container.id)
            except Exception:  # gone already
                pass

        timer = threading.Timer(limit, kill)
        timer.daemon = True
        out, err = bytearray(), bytearray()
        timer.start()
        try:
            for chunk_out, chunk_err in api.exec_start(exec_id, stream=True, demux=True):
                if chunk_out and len(out) < OUTPUT_CAP:
                    out += chunk_out[: OUTPUT_CAP - len(out)]
                if chunk_err and len(err) < OUTPUT_CAP:
                    err += chunk_err[: OUTPUT_CAP - len(err)]
                if self.stopping.is_set():
                    raise KeyboardInterrupt
        finally:
            timer.cancel()
        if fired.is_set():
            raise TimedOut(step, limit)
        code = api.exec_inspect(exec_id).get("ExitCode")
        return (
            int(code if code is not None else -1),
            out.decode("utf-8", "replace"),
            err.decode("utf-8", "replace"),
        )

    def _put(self, container: Any, files: dict[str, tuple[bytes, int]]) -> None:
        if not container.put_archive("/", _tar(files)):
            raise RuntimeError("could not copy files into the container")

    def run_task(self, task: Task, answer: Answer | None, *, empty: bool = False) -> Outcome:
        """Score one answer (``empty``: run no answer at all, only prepare and check)."""
        t0 = time.monotonic()
        verdict = "empty" if empty else "missing" if answer is None else answer.verdict
        outcome = Outcome(
            task.id,
            task.lang,
            task.category,
            verdict,
            bool(answer and answer.vetted),
            extra=dict(answer.extra) if answer else {},
        )
        if not empty:
            if answer is None:
                outcome.status, outcome.reason = "missing", "no answer for this task"
                return outcome
            if answer.lang and answer.lang != task.lang:
                outcome.status = "wrong-lang"
                outcome.reason = f"the request asks for {task.lang}, the answer is {answer.lang}"
                return outcome
        container = None
        answer_ran = False
        try:
            container = self._create(task)
            w = WORK.lstrip("/")
            self._put(container, {f"{w}/prepare": (task.prepare.encode(), 0o700)})
            rc, out, err = self._exec(
                container,
                ["bash", "-c", f"mkdir -m 700 {STATE} && bash -e {WORK}/prepare"],
                env={"OPSBENCH_STATE": STATE},
                step="prepare",
            )
            if rc != 0:
                outcome.status = "error"
                outcome.reason = f"prepare exited {rc}: {(err or out).strip()[-400:]}"
                return outcome
            state = b"".join(container.get_archive(STATE)[0])
            self._exec(container, ["rm", "-rf", WORK])

            stdout1 = ""
            if not empty:
                assert answer is not None
                answer_ran = True
                stdout1 = self._run_answer(container, task, answer, outcome)

            # The checker and the hidden state arrive only now.
            check = CHECKLIB.read_text(encoding="utf-8") + "\n# --- task check\n" + task.check
            self._put(
                container,
                {
                    f"{w}/check": (check.encode(), 0o700),
                    f"{w}/stdout": (stdout1.encode(), 0o600),
                },
            )
            if not container.put_archive(WORK, state):
                raise RuntimeError("could not restore the checker's state")
            env = {
                "OPSBENCH_STATE": STATE,
                "OPSGEN_STDOUT": f"{WORK}/stdout",
                "OPSGEN_RC1": "" if outcome.rc1 is None else str(outcome.rc1),
                "OPSGEN_RC2": "" if outcome.rc2 is None else str(outcome.rc2),
            }
            rc, out, err = self._exec(
                container,
                ["bash", "-eu", "-o", "pipefail", f"{WORK}/check"],
                env=env,
                timeout=self.check_timeout,
                step="the check",
            )
            outcome.check_rc = rc
            outcome.check_output = (err + out).strip()[-TAIL:]
            runs_ok = empty or (outcome.rc1 == 0 and outcome.rc2 == 0)
            outcome.correct = runs_ok and rc == 0
            outcome.status = "ok" if outcome.correct else "wrong"
            if not runs_ok:
                which = 1 if outcome.rc1 != 0 else 2
                rcx = outcome.rc1 if which == 1 else outcome.rc2
                err_text = outcome.stderr1 if which == 1 else outcome.stderr2
                out_text = outcome.stdout1 if which == 1 else ""
                why = _failure_line(err_text, out_text)
                outcome.reason = f"run {which} exited {rcx}" + (f": {why}" if why else "")
            elif rc != 0:
                fails = [ln for ln in outcome.check_output.splitlines() if ln.startswith("FAIL")]
                outcome.reason = (
                    fails[0]
                    if fails
                    else f"check exited {rc}: "
                    + (outcome.check_output.splitlines()[-1][:200] if outcome.check_output else "")
                )
        except KeyboardInterrupt:
            raise
        except TimedOut as exc:
            # A hung prepare is the suite's fault; a hung answer (or a check it left hanging)
            # is the answer's.
            outcome.status = "wrong" if answer_ran else "error"
            outcome.correct = False
            outcome.reason = str(exc)
        except Exception as exc:  # one task's harness failure is reported
            what = f"{type(exc).__name__}: {exc}"
            if answer_ran and not self.stopping.is_set():
                # The answer broke the container (stopped its init, removed bash, ...):
                # its fault, not the harness's.
                outcome.status, outcome.correct = "wrong", False
                outcome.reason = (
                    "the answer stopped the container"
                    if "is not running" in what
                    else f"the container broke during or after the answer: {what}"[:400]
                )
            else:
                outcome.status = "error"
                outcome.reason = f"harness: {what}"[:400]
        finally:
            if container is not None:
                self._remove(container.id)
            outcome.seconds = round(time.monotonic() - t0, 2)
        return outcome

    def _run_answer(self, container: Any, task: Task, answer: Answer, outcome: Outcome) -> str:
        """Copy the answer in, run it twice; return run 1's stdout."""
        from opsgen.sandbox.bundle import inventory_for

        w = f"{WORK.lstrip('/')}/run"
        if task.lang == "ansible":
            files = {
                f"{w}/playbook.yml": (answer.script.encode(), 0o644),
                f"{w}/inventory.yml": (inventory_for(answer.script).encode(), 0o644),
            }
            cmd = [
                "ansible-playbook",
                "-i",
                f"{WORK}/run/inventory.yml",
                "-c",
                "local",
                f"{WORK}/run/playbook.yml",
            ]
            env = dict(ANSIBLE_ENV)
        else:
            files = {f"{w}/script": (answer.script.encode(), 0o755)}
            cmd = ["bash", f"{WORK}/run/script"]
            env = {}
        self._put(container, files)
        # As the dry-run runs it: bash SCRIPT (or ansible-playbook) from /root, no stdin.
        stdin_null = ["bash", "-c", 'exec "$@" </dev/null', "run"]
        outcome.rc1, stdout1, outcome.stderr1 = self._exec(
            container, stdin_null + cmd, env=env, step="run 1"
        )
        outcome.stdout1 = stdout1[-TAIL:]
        outcome.stderr1 = outcome.stderr1[-TAIL:]
        outcome.rc2, _, stderr2 = self._exec(container, stdin_null + cmd, env=env, step="run 2")
        outcome.stderr2 = stderr2[-TAIL:]
        self._exec(container, ["rm", "-rf", WORK])
        return stdout1


_ERROR_MARKS = ("ERROR!", "fatal:", "FAILED!", "error:", "Error:")


def _failure_line(stderr: str, stdout: str) -> str:
    """The most telling line of a failed run: Ansible's error or fatal line, else the last
    line of stderr."""
    for text in (stderr, stdout):
        for line in text.splitlines():
            if any(mark in line for mark in _ERROR_MARKS):
                return line.strip()[:200]
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    return lines[-1].strip()[:200] if lines else ""


# ---------------------------------------------------------------------------- scoring


def score(
    runner: Runner,
    tasks: Sequence[Task],
    answers: dict[str, Answer] | None,
    *,
    empty: bool = False,
    jobs: int = 2,
    on_result: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Score ``answers`` (``None`` with ``empty``) for ``tasks``; outcomes in task order."""
    pairs = [(t, None if answers is None else answers.get(t.id)) for t in tasks]
    return run_pairs(runner, pairs, empty=empty, jobs=jobs, on_result=on_result)


def run_pairs(
    runner: Runner,
    pairs: Sequence[tuple[Task, Answer | None]],
    *,
    empty: bool = False,
    jobs: int = 2,
    on_result: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Run each (task, answer), ``jobs`` containers at a time; outcomes in the given order.

    Ctrl-C (or SIGTERM turned into KeyboardInterrupt) removes every container first.
    """
    results: dict[int, Outcome] = {}
    pool = ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="ops-suite")
    try:
        pending: dict[Future[Outcome], int] = {
            pool.submit(runner.run_task, task, answer, empty=empty): n
            for n, (task, answer) in enumerate(pairs)
        }
        while pending:
            done, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for fut in done:
                n = pending.pop(fut)
                results[n] = fut.result()
                if on_result:
                    on_result(results[n])
    except BaseException:
        runner.remove_all()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return [results[n] for n in range(len(pairs))]


def _rate(num: int, den: int) -> dict[str, Any]:
    return {"n": num, "of": den, "rate": round(num / den, 4) if den else None}


def summarize(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """Correct share, vetted share, false-green and false-red rates, overall and by language.

    false-green: wrong among vetted answers; false-red: correct among not-vetted answers.
    Tasks whose harness failed (``error``) are left out of every count and listed apart.
    """

    def block(items: Sequence[Outcome]) -> dict[str, Any]:
        vetted = [o for o in items if o.vetted]
        rest = [o for o in items if not o.vetted]
        amber = [o for o in rest if o.verdict == "runs-clean"]
        red = [o for o in rest if o.verdict != "runs-clean"]
        return {
            "tasks": len(items),
            "correct": _rate(sum(o.correct for o in items), len(items)),
            "vetted": _rate(len(vetted), len(items)),
            "false_green": _rate(sum(not o.correct for o in vetted), len(vetted)),
            "false_red": _rate(sum(o.correct for o in rest), len(rest)),
            # runs-clean (no check proved it): how many, and how many of those are right;
            # and the right ones among the answers that failed a check, lint or a run
            "runs_clean": _rate(len(amber), len(items)),
            "right_among_runs_clean": _rate(sum(o.correct for o in amber), len(amber)),
            "right_among_failed": _rate(sum(o.correct for o in red), len(red)),
            "missing": sum(o.status == "missing" for o in items),
        }

    scored = [o for o in outcomes if o.status != "error"]
    cats = sorted({o.category for o in scored})
    return {
        **block(scored),
        "errors": [o.id for o in outcomes if o.status == "error"],
        "by_lang": {lang: block([o for o in scored if o.lang == lang]) for lang in LANGS},
        "by_category": {c: block([o for o in scored if o.category == c]) for c in cats},
    }


def _pct(r: dict[str, Any]) -> str:
    return "n/a" if r["rate"] is None else f"{100 * r['rate']:.1f}%"


def summary_line(s: dict[str, Any], name: str = "ops-suite") -> str:
    c, fg, fr = s["correct"], s["false_green"], s["false_red"]
    amber = s["right_among_runs_clean"]
    return (
        f"{name}: {c['n']}/{c['of']} correct ({_pct(c)}), vetted {s['vetted']['n']}, "
        f"false-green {fg['n']}/{fg['of']} ({_pct(fg)}), "
        f"false-red {fr['n']}/{fr['of']} ({_pct(fr)}); runs-clean {s['runs_clean']['n']} "
        f"({amber['n']} right)"
    )


def outcome_line(o: Outcome) -> str:
    mark = {"ok": "PASS", "wrong": "FAIL", "missing": "MISS", "wrong-lang": "LANG"}
    tag = ""
    if o.status != "error":
        if o.vetted and not o.correct:
            tag = " FALSE-GREEN"
        elif not o.vetted and o.correct:
            tag = " false-red"
    head = f"{mark.get(o.status, 'ERR ')} {o.id:<26} {o.lang:<7} {o.verdict:<13} {o.seconds:5.1f}s"
    reason = " | ".join(o.reason.split("\n"))[:300]
    return head + tag + (f"  {reason}" if reason and not o.correct else "")


# ---------------------------------------------------------------------------- command line


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="harness.py", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    p.add_argument("answers", nargs="?", help="answers, JSON lines (id, script, verdict)")
    p.add_argument("--tasks", default=str(DEFAULT_TASKS), help="tasks file (YAML or JSONL)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--gold", action="store_true", help="score the gold solutions (all pass)")
    mode.add_argument("--empty", action="store_true", help="no answer at all (all checks fail)")
    mode.add_argument(
        "--probes",
        nargs="?",
        const=str(DEFAULT_PROBES),
        metavar="FILE",
        help="run the checker probes (known-wrong and known-right answers; default probes.yml)",
    )
    mode.add_argument(
        "--list", action="store_true", help="print what a generator may see (id, lang, request)"
    )
    p.add_argument("--relabel", action="store_true",
                   help="score statuses by today's rule: 'vetted' whose verdict words say no "
                        "check counted is runs-clean (for answers of an older tree)")
    p.add_argument("--ids", help="comma-separated task ids")
    p.add_argument("--lang", choices=LANGS, help="only tasks of this language")
    p.add_argument("--jobs", type=int, default=2, help="containers at a time (default 2)")
    p.add_argument("--json", action="store_true", help="print one JSON document, not text")
    p.add_argument("--save", help="also write the JSON document to this file")
    p.add_argument("--image", default="opsgen-sandbox:bookworm")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per run (default 120)")
    p.add_argument("-v", "--verbose", action="store_true", help="show check output of failures")
    return p.parse_args(argv)


def select(tasks: Sequence[Task], ids: str | None, lang: str | None) -> list[Task]:
    chosen = list(tasks)
    if ids:
        wanted = [i.strip() for i in ids.split(",") if i.strip()]
        known = {t.id for t in tasks}
        unknown = [i for i in wanted if i not in known]
        if unknown:
            raise SuiteError(f"unknown task ids: {', '.join(unknown)}")
        chosen = [t for t in chosen if t.id in wanted]
    if lang:
        chosen = [t for t in chosen if t.lang == lang]
    return chosen


def main(argv: Sequence[str] | None = None) -> int:
    """0: scored (self-checks and probes: all as expected); 1: a self-check or probe did not
    come out as expected; 2: usage or harness errors."""
    args = _parse(argv)
    probes: list[Probe] = []
    try:
        all_tasks = load_tasks(Path(args.tasks))
        tasks = select(all_tasks, args.ids, args.lang)
        if args.list:
            try:
                for t in tasks:
                    print(json.dumps(task_view(t)), flush=True)
            except BrokenPipeError:  # `| head`
                sys.stdout = open(os.devnull, "w")  # quiet exit
            return 0
        answers: dict[str, Answer] | None = None
        if args.probes:
            chosen = {t.id for t in tasks}
            probes = [p for p in load_probes(Path(args.probes), all_tasks) if p.task in chosen]
            mode = "probes"
        elif args.gold:
            answers, mode = gold_answers(tasks), "gold"
        elif args.empty:
            mode = "empty"
        elif args.answers:
            answers, mode = load_answers(Path(args.answers), args.relabel), "answers"
        else:
            print(
                "harness.py: give an answers file, --gold, --empty, --probes or --list",
                file=sys.stderr,
            )
            return 2
    except (SuiteError, OSError, yaml.YAMLError) as exc:
        print(f"harness.py: {exc}", file=sys.stderr)
        return 2

    from opsgen.errors import OpsError
    from opsgen.sandbox.engine import connect, resolve_image

    try:
        client = connect(timeout=120)
        resolve_image(client, args.image)
    except OpsError as exc:
        print(f"harness.py: {exc.message}", file=sys.stderr)
        return 2
    runner = Runner(client, image=args.image, timeout=args.timeout)
    if threading.current_thread() is threading.main_thread():
        # Ctrl-C always stops the run and removes its containers, also when whatever
        # started us ignores SIGINT (a background job of a non-interactive shell, as in CI,
        # inherits SIG_IGN, and Python then installs no handler of its own)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _sigterm)
        # SIGUSR1: every thread's stack on stderr (what a hung run waits on)
        faulthandler.register(signal.SIGUSR1, all_threads=True)

    def show(o: Outcome) -> None:
        if args.json:
            return
        if mode == "probes":
            print(probe_line(o), flush=True)
        else:
            print(outcome_line(o), flush=True)
        if args.verbose and (not o.correct or mode == "probes") and o.status != "missing":
            for text in (o.check_output, o.stderr1.strip()[-600:]):
                for ln in text.splitlines()[-8:]:
                    print(f"      | {ln}")

    t0 = time.monotonic()
    try:
        if mode == "probes":
            outcomes = run_pairs(
                runner, probe_pairs(probes, all_tasks), jobs=args.jobs, on_result=show
            )
        else:
            outcomes = score(
                runner, tasks, answers, empty=mode == "empty", jobs=args.jobs, on_result=show
            )
    except KeyboardInterrupt:
        print("\nharness.py: interrupted; containers removed", file=sys.stderr)
        return 130
    finally:
        client.close()
    elapsed = time.monotonic() - t0
    summary = summarize(outcomes)
    doc: dict[str, Any] = {
        "mode": mode,
        "tasks_file": str(args.tasks),
        "answers_file": args.answers,
        "seconds": round(elapsed, 1),
        "jobs": args.jobs,
        "summary": summary,
        "outcomes": [asdict(o) for o in outcomes],
    }
    status, note = 0, ""
    if mode == "gold":
        bad = [o.id for o in outcomes if not o.correct]
        note = f"self-check gold: {len(outcomes) - len(bad)}/{len(outcomes)} pass"
        note += f" (failing: {', '.join(bad)})" if bad else ""
        status = 1 if bad else 0
    elif mode == "empty":
        bad = [o.id for o in outcomes if o.correct or o.status == "error"]
        note = f"self-check empty: {len(outcomes) - len(bad)}/{len(outcomes)} fail as they must"
        note += f" (vacuous or broken: {', '.join(bad)})" if bad else ""
        status = 1 if bad else 0
    elif mode == "probes":
        bad = [
            f"{o.id}/{o.extra.get('probe')}"
            for o, p in zip(outcomes, probes, strict=True)
            if o.status == "error" or o.correct != (p.expect == "pass")
        ]
        note = f"probes: {len(outcomes) - len(bad)}/{len(outcomes)} as expected"
        note += f" (unexpected: {', '.join(bad)})" if bad else ""
        doc["probes"] = {"as_expected": len(outcomes) - len(bad), "of": len(outcomes), "bad": bad}
        status = 1 if bad else 0
    if summary["errors"]:
        status = max(status, 2)
    if args.save:
        Path(args.save).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(doc, indent=2))
        return status
    print()
    if mode != "probes":
        for lang in LANGS:
            b = summary["by_lang"][lang]
            if b["tasks"]:
                line = summary_line(b, name="").split(": ", 1)[1]
                print(f"  {lang:<8} {b['tasks']} tasks: {line}")
        for cat, b in summary["by_category"].items():
            print(f"  {cat:<8} {b['correct']['n']}/{b['tasks']} correct")
    if summary["errors"]:
        print(f"  harness errors (not scored): {', '.join(summary['errors'])}")
    print(f"  {len(outcomes)} runs in {elapsed:.0f}s with {args.jobs} jobs")
    if note and mode != "probes":
        print(f"  {note}")
    print(note if mode == "probes" else summary_line(summary))
    return status


def probe_line(o: Outcome) -> str:
    want = o.verdict.removeprefix("probe:")
    got = "error" if o.status == "error" else "pass" if o.correct else "fail"
    mark = "ok  " if got == want else "BAD "
    label = f"{o.id}/{o.extra.get('probe')}"
    reason = " | ".join(o.reason.split("\n"))[:200]
    return f"{mark} {label:<44} expect {want}, got {got} {o.seconds:5.1f}s  {reason}".rstrip()


def _sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
