"""The dry-run stage: one fresh, hardened container per call, removed whatever happens.

Sequence (Molecule-style, as data in :func:`dryrun`): reap orphans → create → copy the
bundle in (into the upper layer on a local overlay2 engine, else ``put_archive``) → run →
read the diff → (run again → read the second diff) → remove. A caller that answers its user
before cleaning up (the worker) passes ``defer``, and reaping and removal become its work for
after the answer.

With a scenario (issue 16), the same container also runs its phases, each start watched
like a run (:mod:`opsgen.sandbox.phases`): prepare → checks (before) → run → (run again) →
checks (after). The diff then starts from the prepared state: what prepare made is the
baseline, not a change of the script's.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, Literal

from docker.errors import APIError, DockerException

from opsgen.errors import ImageMissing, InputError, OpsError, SandboxError
from opsgen.findings import Finding
from opsgen.redact import quote
from opsgen.sandbox.apt import installs_packages, missing_packages, package_findings
from opsgen.sandbox.bundle import make_bundle
from opsgen.sandbox.compare import diff_states
from opsgen.sandbox.dpkgfiles import is_runtime
from opsgen.sandbox.engine import DEFAULT_IMAGE, connect, engine_warnings, resolve_image
from opsgen.sandbox.execute import execute
from opsgen.sandbox.models import (
    CheckResult,
    DryRunReport,
    RunResult,
    ServiceIntent,
    SystemDiff,
)
from opsgen.sandbox.netfiles import initial_state, link_net_files
from opsgen.sandbox.observe import (
    DETAIL_LIMIT,
    PER_DIR_LIMIT,
    WALK_STOPPED,
    ApiObserver,
    Budget,
    State,
)
from opsgen.sandbox.outcomes import outcome_finding
from opsgen.sandbox.overlay import overlay_observer
from opsgen.sandbox.packages import PROXY_IMAGE, ensure_proxy, sandbox_files
from opsgen.sandbox.phases import (
    Phase,
    check_input,
    check_results,
    checks_policy,
    first_phase,
    phase_files,
    statuses,
)
from opsgen.sandbox.policy import LABEL, OPS, SandboxPolicy, to_docker_kwargs
from opsgen.sandbox.reaper import reap_orphans
from opsgen.sandbox.upperdir import upper_dir, write_bundle
from opsgen.sandbox.usage import layer_dir
from opsgen.scenario import Scenario

__all__ = ["DryRunOptions", "dryrun"]

MAX_SCRIPT_BYTES = 1 << 20
_APPARENT_WARNING = (
    "disk quota counted by the engine's apparent size (SizeRw): this host cannot walk the "
    "container's layer, so space reserved with fallocate and the blocks of tiny files "
    "are not counted"
)
Progress = Callable[[str], None]
#: Takes clean-up work to run later (``contextlib.ExitStack.callback`` fits).
Defer = Callable[[Callable[[], object]], object]


@dataclass(frozen=True, slots=True)
class DryRunOptions:
    """How to dry-run: which image, how long, which network, once or twice."""

    image: str = DEFAULT_IMAGE
    timeout: float = 120.0
    #: ``auto`` (the default): the package path when the script or the scenario's prepare
    #: installs Debian packages (:func:`opsgen.sandbox.apt.installs_packages`), else none.
    network: Literal["auto", "none", "bridge", "packages"] = "auto"
    twice: bool = False
    policy: SandboxPolicy = field(default_factory=lambda: OPS)
    require_userns: bool = False

    def effective_policy(self) -> SandboxPolicy:
        """The policy with this call's timeout and network applied (``auto`` is decided
        by :func:`dryrun` before this is asked; here it stays the safe ``none``)."""
        network = "none" if self.network == "auto" else self.network
        return replace(self.policy, timeout_s=self.timeout, network=network)


def dryrun(
    script: str,
    lang: str = "bash",
    options: DryRunOptions | None = None,
    *,
    scenario: Scenario | None = None,
    client: Any = None,
    progress: Progress = lambda stage: None,
    defer: Defer | None = None,
) -> DryRunReport:
    """Run ``script`` in a fresh sandbox container and report what it changed.

    Args:
        script: the bash script or playbook text.
        lang: ``bash`` or ``ansible``.
        options: image, timeout, network, twice, policy.
        scenario: what to prepare before the script and check before and after it, in the
            same container (None or empty: the script alone). A prepare that does not pass
            means the script is not run (OPS413); a check that does not hold after the
            script is OPS411, one that held before it already is OPS412 (not counted).
        client: a connected Docker client (default: :func:`connect`).
        progress: called with the name of each stage as it begins.
        defer: when given, reaping orphans and removing this run's container are handed to
            it instead of being done here: a caller that reports first (the worker child)
            runs them after its client has the answer. The containers carry their run and
            owner labels, so whoever outlives a caller that dies first can find them.

    Raises:
        InputError: empty or oversized script, unknown language.
        SandboxUnavailable, ImageMissing, PolicyViolation: the run could not happen.
    """
    opts = options or DryRunOptions()
    _check_input(script, lang)
    if scenario is not None and scenario.empty:
        scenario = None
    if scenario is not None:
        check_input(scenario)
    client = client or connect()
    opts, net_files, auto_warnings = _package_path(client, opts, script, lang, scenario)
    policy = opts.effective_policy()
    if defer is None:
        reap_orphans(client)
    else:
        defer(partial(reap_orphans, client))
    image = resolve_image(client, opts.image)
    info = client.info()
    warnings = engine_warnings(info, require_userns=opts.require_userns, runtime=policy.runtime)
    warnings += auto_warnings
    run_id = uuid.uuid4().hex[:12]
    kwargs = to_docker_kwargs(policy, run_id=run_id)
    progress("create")
    container: Any = None
    try:
        try:
            container = client.containers.create(
                image.id, entrypoint=["/bin/bash", "/.opsgen/run"], command=[lang], **kwargs
            )
        except DockerException as exc:
            raise SandboxError(f"could not create the sandbox container: {exc}") from None
        extra = phase_files(scenario, first_phase(scenario)) if scenario else None
        if net_files:
            extra = {**(extra or {}), **net_files}
        upper = upper_dir(container, info)  # once: it reads the host's mount table
        copied = _copy_bundle(container, upper, make_bundle(script, lang, extra))
        _link_net(container, upper)
        layer = layer_dir(container, info)
        if layer is None:
            warnings = [*warnings, _APPARENT_WARNING]
        report = _run(
            client, container, image, script, lang, opts, policy, warnings, progress, layer,
            scenario, net_files,
        )
        if policy.network == "packages" and not _probing(script):
            report = _with_probe(report, client, opts, progress)
        return replace(report, bundle_copy=copied)
    except APIError as exc:
        raise SandboxError(f"the Docker engine failed during the dry-run: {exc}") from None
    finally:
        if defer is None:
            _remove(client, container, run_id)
        else:
            defer(partial(_remove, client, container, run_id))


_PROBE_MARK = "# opsgen: apt-cache policy probe\n"


def _package_path(
    client: Any, opts: DryRunOptions, script: str, lang: str, scenario: Scenario | None
) -> tuple[DryRunOptions, dict[str, bytes], list[str]]:
    """The network decided (``auto``: the package path for a script or prepare that
    installs Debian packages, none for the rest, since a run on the internal network costs
    about 0.15 s more), the proxy running when it is used, and the bundle files that point
    apt at it. Under ``auto`` a missing proxy image means a run without a package path,
    said in a warning; asked for by name (``packages``) it is an error."""
    network = opts.network
    if network == "auto":
        prepare = scenario.prepare if scenario is not None else ""
        wanted = installs_packages(script, lang) or installs_packages(prepare, "bash")
        network = "packages" if wanted else "none"
    if network != "packages":
        return replace(opts, network=network), {}, []
    try:
        address = ensure_proxy(client)
    except ImageMissing:
        if opts.network != "auto":
            raise
        return replace(opts, network="none"), {}, [
            f"this script installs Debian packages, but the package proxy's image {PROXY_IMAGE} "
            "is not built (`opsgen sandbox image build`): dry-run without a package path"
        ]
    return replace(opts, network="packages"), sandbox_files(address), []


def _probing(script: str) -> bool:
    return script.startswith(_PROBE_MARK)


def _with_probe(
    report: DryRunReport, client: Any, opts: DryRunOptions, progress: Progress
) -> DryRunReport:
    """OPS414 told apart: when apt found no package through the package path, a fresh
    sandbox asks ``apt-cache policy`` after ``apt-get update`` whether Debian has it, so
    the repair hint says "not in Debian" or "update the lists first" (issue 13)."""
    names: list[str] = []
    for run in report.runs:
        if run.status == "failed":
            names += [n for n in missing_packages(run.stderr) if n not in names]
    if not names:
        return report
    progress("probe")
    probe_script = _PROBE_MARK + (
        "apt-get update -qq >/dev/null 2>&1 || exit 3\n"
        "for n in " + " ".join(shlex.quote(n) for n in names) + "; do\n"
        "  c=$(apt-cache policy \"$n\" 2>/dev/null | sed -n 's/^ *Candidate: //p')\n"
        "  if [ -n \"$c\" ] && [ \"$c\" != '(none)' ]; then echo \"$n=yes\"; "
        "else echo \"$n=no\"; fi\n"
        "done\n"
    )
    try:
        probed = dryrun(probe_script, "bash", replace(opts, twice=False), client=client)
    except OpsError:
        return report  # no probe: the finding says what is known without it
    answer_run = probed.runs[0] if probed.runs else None
    if answer_run is None or answer_run.status != "passed":
        return report
    probe: dict[str, bool] = {}
    for line in answer_run.stdout.splitlines():
        name, _, answer = line.partition("=")
        if name in names and answer in ("yes", "no"):
            probe[name] = answer == "yes"
    kept = tuple(f for f in report.findings if f.code != "OPS414")
    return replace(report, findings=(*kept, *package_findings(report, probe)))


def _remove(client: Any, container: Any, run_id: str) -> None:
    """Remove this run's container, also when Ctrl-C came while ``create`` was returning.

    The engine may have made the container before the call returned it to us, so when we
    hold no handle we look it up by this run's label.
    """
    targets = [container] if container is not None else []
    if not targets:
        try:
            targets = client.containers.list(all=True, filters={"label": f"{LABEL}.run={run_id}"})
        except DockerException:
            return  # the reaper removes it at the next start
    for target in targets:
        try:
            target.remove(force=True)
        except DockerException:
            pass  # the reaper removes it at the next start


def _copy_bundle(container: Any, upper: Path | None, bundle: bytes) -> str:
    """Copy the bundle into the created container; say how (``upperdir`` or ``put_archive``).

    Straight into the overlay2 upper directory when the engine is local and that is safe
    (:mod:`opsgen.sandbox.upperdir`), else, or on any failure there, through the engine.
    """
    if upper is not None:
        try:
            write_bundle(upper, bundle)
        except (OSError, ValueError):
            pass  # what it made is gone again; the engine's copy is the reference
        else:
            return "upperdir"
    if not container.put_archive("/", bundle):
        raise SandboxError("could not copy the script into the sandbox container")
    return "put_archive"


def _link_net(container: Any, upper: Path | None) -> None:
    """Before the first start: /etc/hosts, hostname, resolv.conf made links for the engine's
    mounts, so that they are ordinary files for the script (:mod:`opsgen.sandbox.netfiles`);
    the runner puts the links back on exit, for the next start."""
    try:
        link_net_files(container, upper)
    except (OSError, DockerException) as exc:
        raise SandboxError(f"could not prepare /etc in the sandbox container: {exc}") from None


def _check_input(script: str, lang: str) -> None:
    if lang not in ("bash", "ansible"):
        raise InputError(f"unknown language {lang!r}: use bash or ansible")
    if not script.strip():
        raise InputError("the script is empty", reference="empty-input")
    if "\x00" in script:
        raise InputError("the script contains NUL bytes (binary?)", reference="binary-input")
    if len(script.encode("utf-8", "surrogatepass")) > MAX_SCRIPT_BYTES:
        raise InputError(
            f"the script is over {MAX_SCRIPT_BYTES:,} bytes", reference="input-too-large"
        )


def _run(
    client: Any,
    container: Any,
    image: Any,
    script: str,
    lang: str,
    opts: DryRunOptions,
    policy: SandboxPolicy,
    warnings: list[str],
    progress: Progress,
    layer: Path | None = None,
    scenario: Scenario | None = None,
    net_files: dict[str, bytes] | None = None,
) -> DryRunReport:
    def make_pristine() -> Any:
        kw = to_docker_kwargs(policy, run_id="pristine")
        return client.containers.create(image.id, entrypoint=["/bin/true"], **kw)

    def make_report(runs: list[RunResult], diff: SystemDiff, second: SystemDiff | None = None,
                    checks: tuple[CheckResult, ...] = (), extra: tuple[Finding, ...] = ()
                    ) -> DryRunReport:
        report = DryRunReport(
            lang=lang,  # type: ignore[arg-type]
            image=opts.image,
            image_id=str(image.id),
            script_sha256=hashlib.sha256(script.encode()).hexdigest(),
            runs=tuple(runs),
            diff=diff,
            second_diff=second,
            network=policy.network,
            policy=policy.summary(),
            engine_warnings=tuple(warnings),
            scenario=scenario.to_dict() if scenario else None,
            prepare=phases.prepared,
            checks=checks,
        )
        return replace(report, findings=(*outcome_findings(report), *extra))

    obs = overlay_observer(container) or ApiObserver(client, container, image.id, make_pristine)
    phases = _Phases(client, container, script, lang, policy, layer, scenario, obs,
                     net_files or {})
    if scenario is not None:
        if not phases.prepare(progress):
            return make_report([], SystemDiff(), checks=check_results(scenario))
        phases.checks("before", progress)
        phases.set_phase("script")
    baseline = phases.baseline(progress)
    progress("run")
    run1 = phases.start()
    progress("collect")
    budget1 = Budget()
    changes1 = obs.changes(lang, budget1)
    after1 = obs.after(changes1, budget1)
    changes1 = {p: k for p, k in changes1.items() if p in after1}  # read, or deleted
    records = obs.records()
    pristine = obs.before(
        [p for p, k in changes1.items() if k != "A" and p not in baseline.state]
    )
    # /etc/hosts, hostname, resolv.conf start as the engine made them, not as in the image.
    initial = initial_state(records)
    before1: State = {
        p: baseline.state[p] if p in baseline.state else initial[p] if p in initial
        else (None if k == "A" else pristine.get(p))
        for p, k in changes1.items()
    }
    if not (budget1.summary or budget1.walk_stopped):
        # What prepare made and the script undid is no longer in the upper layer: it is as
        # in the image again (read only now, when it is certain it was not left out).
        gone = [p for p in baseline.state if p not in changes1]
        image_state = obs.before([p for p in gone if baseline.kinds[p] != "A"])
        for p in gone:
            before1[p] = baseline.state[p]
            after1[p] = image_state.get(p)
    intents1 = _intents(records, baseline.intents)
    seen_lines = len(records.get("intents.tsv", b"").splitlines())
    diff1 = replace(diff_states(before1, after1, tuple(intents1)), summarised=budget1.summarised())
    runs = [_with_records(run1, records, 1)]
    second: SystemDiff | None = None
    if opts.twice and run1.status == "passed":
        progress("run again")
        phases.set_phase("script")
        run2 = phases.start()
        progress("collect")
        budget2 = Budget()
        changes2 = obs.changes(lang, budget2)
        after2 = obs.after(changes2, budget2)
        changes2 = {p: k for p, k in changes2.items() if p in after2}
        records2 = obs.records()
        paths = set(changes1) | set(changes2)
        if budget1.summary or budget1.walk_stopped or budget2.summary or budget2.walk_stopped:
            # Left out on one side, a path would compare against the image: a false change.
            paths = set(changes1) & set(changes2)
        # /run is runtime state (a tmpfs a boot empties): a service started again for the
        # second run rewrites its pid file there, which is no change of the script's.
        paths = {p for p in paths if not is_runtime(p)}
        need = [
            p for p in paths if p not in pristine and "A" not in (changes1.get(p), changes2.get(p))
        ]
        pristine.update(obs.before(need))
        state1 = {p: (after1[p] if p in changes1 else pristine.get(p)) for p in paths}
        state2 = {p: (after2[p] if p in changes2 else pristine.get(p)) for p in paths}
        second = replace(
            diff_states(state1, state2, tuple(_intents(records2, seen_lines))),
            summarised=budget2.summarised() or budget1.summarised(),
        )
        runs.append(_with_records(run2, records2, 2))
    checks: tuple[CheckResult, ...] = ()
    if scenario is not None:
        checks = phases.checks("after", progress, stdout=run1.stdout)
    return make_report(runs, diff1, second, checks, baseline.findings)


@dataclass(frozen=True, slots=True)
class _Baseline:
    """The state the script starts from: what prepare (and the checks before) changed.

    ``state`` and ``kinds``: each such path, as it was then, and how it differed from the
    image (``A``/``C``/``D``); ``intents``: service-shim lines already written then.
    """

    state: State = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    intents: int = 0
    findings: tuple[Finding, ...] = ()


class _Phases:
    """A scenario's phases in the run's container; without a scenario only the baseline.

    Each phase is a start of the same container, watched by :func:`execute`; before each
    start after the first, the bundle is copied in again with the phase to run.
    """

    def __init__(self, client: Any, container: Any, script: str, lang: str,
                 policy: SandboxPolicy, layer: Path | None, scenario: Scenario | None,
                 obs: Any, net_files: dict[str, bytes]):
        self.client, self.container, self.script, self.lang = client, container, script, lang
        self.net_files = net_files  # the packages mode's apt.conf and resolver, every phase
        self.policy, self.layer, self.scenario, self.obs = policy, layer, scenario, obs
        self.prepared: RunResult | None = None
        self.before: list[tuple[int | None, str]] | None = None
        self.phase: Phase | None = first_phase(scenario) if scenario else None

    def start(self, policy: SandboxPolicy | None = None) -> RunResult:
        """Start the container once and watch it to the end."""
        return execute(self.client, self.container, policy or self.policy, layer=self.layer)

    def set_phase(self, phase: Phase, stdout: str = "") -> bool:
        """Copy the bundle in again, set to run ``phase`` next; False when it would not go."""
        if self.scenario is None or (self.phase == phase and phase != "checks-after"):
            return True
        files = phase_files(self.scenario, phase, stdout)
        files.update(self.net_files)
        bundle = make_bundle(self.script, self.lang, files)
        try:
            copied = bool(self.container.put_archive("/", bundle))
        except DockerException:
            copied = False
        if copied:
            self.phase = phase
        elif phase != "checks-after":
            raise SandboxError(f"could not copy the {phase} phase into the sandbox container")
        return copied

    def prepare(self, progress: Progress) -> bool:
        """Run prepare (when there is one); True when the script may run."""
        assert self.scenario is not None
        if not self.scenario.prepare.strip():
            return True
        progress("prepare")
        self.set_phase("prepare")
        run = self.start()
        self.prepared = _with_records(run, self.obs.records(), "prepare")
        return run.status == "passed"

    def checks(self, when: str, progress: Progress, stdout: str = "") -> tuple[CheckResult, ...]:
        """Run every check once; ``after``: the results of both phases."""
        assert self.scenario is not None
        count = len(self.scenario.checks)
        if not count:
            return ()
        progress("check" if when == "before" else "check again")
        found: list[tuple[int | None, str]] | None = None
        if self.set_phase("checks-before" if when == "before" else "checks-after", stdout):
            policy = checks_policy(self.policy, count)
            run = self.start(policy)
            found = statuses(self.obs.records(), when, count, run)
        if when == "before":
            self.before = found
            return ()
        return check_results(self.scenario, self.before, found)

    def baseline(self, progress: Progress) -> _Baseline:
        """What the script starts from (nothing to read without a scenario)."""
        if self.scenario is None:
            return _Baseline()
        progress("collect")
        budget = Budget()
        kinds = self.obs.changes(self.lang, budget)
        state = self.obs.after(kinds, budget)
        kinds = {p: k for p, k in kinds.items() if p in state}
        records = self.obs.records()
        findings: tuple[Finding, ...] = ()
        if budget.summary or budget.walk_stopped:
            counted = SystemDiff(summarised=budget.summarised())
            findings = (outcome_finding("OPS410", _summary_message("prepare", counted)
                        + "; the first run's diff may show some of prepare's changes as the "
                        "script's"),)
        return _Baseline(state, kinds, len(records.get("intents.tsv", b"").splitlines()),
                         findings)


def _intents(records: dict[str, bytes], skip: int) -> list[ServiceIntent]:
    lines = records.get("intents.tsv", b"").decode("utf-8", "replace").splitlines()
    out: list[ServiceIntent] = []
    for line in lines[skip:]:
        parts = line.split("\t")
        if len(parts) < 2 or (len(parts) > 3 and parts[3] == "noop"):
            continue  # already in that state: nothing would change on a real host
        unit = parts[2] if len(parts) > 2 else ""
        out.append(ServiceIntent(tool=parts[0], action=parts[1], unit=unit))
    return out


#: Leftover processes kept per run, and characters per command line.
_LEFTOVERS_KEPT = 20
_LEFTOVER_CHARS = 200


def _with_records(run: RunResult, records: dict[str, bytes], n: int | str) -> RunResult:
    """``run`` with what the shims recorded for run ``n`` (or ``prepare``): Ansible tasks,
    leftover processes."""
    raw = records.get(f"ansible-tasks.{n}.jsonl", b"").decode("utf-8", "replace")
    tasks = []
    for line in raw.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            tasks.append({k: str(v) for k, v in entry.items()})
    return replace(run, ansible_tasks=tuple(tasks), leftover_processes=_leftovers(records, n),
                   failed_services=_failed_services(records, n))


def _failed_services(records: dict[str, bytes], n: int | str) -> tuple[str, ...]:
    """``unit (action): what it said`` for each service the shim could not start in run
    ``n``; untrusted text (the service's own output), kept short and few."""
    raw = records.get(f"svc-failed.{n}", b"").decode("utf-8", "replace")
    out: list[str] = []
    for line in raw.splitlines():
        unit, _, rest = line.partition("\t")
        action, _, said = rest.partition("\t")
        if unit:
            out.append(f"{unit} ({action}): {said.strip()}"[:_LEFTOVER_CHARS * 2])
    return tuple(out[:_LEFTOVERS_KEPT])


def _leftovers(records: dict[str, bytes], n: int | str) -> tuple[str, ...]:
    """``pid command`` of each process the run shim found still running after the script.

    Untrusted text (the script chose the command lines): kept short and few; rendered
    through the sanitiser like all sandbox output.
    """
    raw = records.get(f"leftover.{n}")
    if raw is None:
        return ()
    out: list[str] = []
    for line in raw.decode("utf-8", "replace").splitlines():
        pid, _, command = line.partition("\t")
        if not pid.isdigit():
            continue
        out.append(f"{pid} {command.strip()}"[:_LEFTOVER_CHARS])
    if len(out) > _LEFTOVERS_KEPT:
        out = [*out[:_LEFTOVERS_KEPT], f"... and {len(out) - _LEFTOVERS_KEPT} more"]
    return tuple(out)


_REASON_CODES = {
    "timeout": "OPS401",
    "oom": "OPS402",
    "output": "OPS403",
    "disk": "OPS405",
    "sandbox-crashed": "OPS406",
    "pids": "OPS407",
}


def _size(n: int) -> str:
    return f"{n / (1 << 20):,.1f} MiB" if n < 1 << 30 else f"{n / (1 << 30):,.2f} GiB"


def _disk_message(label: str, run: RunResult, policy: dict[str, object]) -> str:
    """What OPS405 says: where the run stood against the quota, and how it was counted."""
    quota = policy.get("disk_quota_bytes")
    inode_quota = policy.get("inode_quota")
    if run.disk_bytes is None:
        return f"{label}: hit a file-size or disk limit"
    used = f"{_size(run.disk_bytes)} ({run.disk_accounting or 'apparent'})"
    if run.disk_inodes is not None:
        used += f", {run.disk_inodes:,} inodes"
    limit = f"quota {_size(quota)}" if isinstance(quota, int) else "quota"
    if isinstance(inode_quota, int) and run.disk_inodes is not None:
        limit += f", {inode_quota:,} inodes"
    over = isinstance(quota, int) and run.disk_bytes > quota
    if isinstance(inode_quota, int) and run.disk_inodes is not None:
        over = over or run.disk_inodes > inode_quota
    if run.stop_reason == "disk" or over:
        return f"{label}: writable layer over the disk quota: {used}; {limit}"
    return f"{label}: hit a file-size or disk limit (writable layer {used})"


def outcome_findings(
    report: DryRunReport, probe: Mapping[str, bool] | None = None
) -> list[Finding]:
    """OPS4xx findings for how the runs ended and whether the second changed anything.

    ``probe``: for packages apt did not find, whether Debian has them (see
    :func:`opsgen.sandbox.apt.package_findings`).
    """
    findings = _prepare_findings(report) + package_findings(report, probe)
    for i, run in enumerate(report.runs, 1):
        label = "first run" if i == 1 else "second run"
        if run.stop_reason and run.stop_reason != "disk":
            findings.append(
                outcome_finding(
                    _REASON_CODES[run.stop_reason],
                    f"{label}: stopped ({run.stop_reason}) after {run.duration_s:.1f}s",
                )
            )
        if "disk" in run.limits_hit or run.stop_reason == "disk":
            findings.append(outcome_finding("OPS405", _disk_message(label, run, report.policy)))
        if run.status == "failed":
            tail = run.stderr.strip().split("\n")[-1:] or [""]
            findings.append(
                outcome_finding(
                    "OPS408",
                    f"{label}: exit status {run.exit_code}"
                    # quoted (and redacted): the stderr text must not read as our own words
                    + (f": stderr ends {quote(tail[0])}" if tail[0] else ""),
                )
            )
        if run.stdout_truncated or run.stderr_truncated:
            if run.stop_reason != "output":
                findings.append(outcome_finding("OPS403", f"{label}: output truncated"))
        for failed in run.failed_services:
            head, _, said = failed.partition(": ")
            unit, _, action = head.rstrip(")").rpartition(" (")
            findings.append(
                outcome_finding(
                    "OPS415",
                    # quoted (and redacted): the unit's name and output are not our words
                    f"{label}: service {quote(unit or head, 80)} did not start"
                    + (f" ({quote(action, 30)})" if unit else "")
                    + (f": it said {quote(said, 300)}" if said else ""),
                )
            )
        if run.leftover_processes:
            # quoted (and redacted): the script chose these command lines
            what = ", ".join(quote(p, 80) for p in run.leftover_processes[:5])
            more = len(run.leftover_processes) - 5
            findings.append(
                outcome_finding(
                    "OPS409",
                    f"{label}: {len(run.leftover_processes)} process(es) still running when "
                    f"the script ended were killed with the container: {what}"
                    + (f" and {more} more" if more > 0 else ""),
                )
            )
    for label, diff in (("first run", report.diff), ("second run", report.second_diff)):
        if diff is not None and diff.summarised:
            findings.append(outcome_finding("OPS410", _summary_message(label, diff)))
    if report.idempotent is False and report.second_diff is not None:
        sd = report.second_diff
        items = sd.paths() + [s.describe() for s in sd.services]
        items += [f"{a.kind} {a.name}" for a in (*sd.users, *sd.groups)]
        if report.runs[1].ansible_changed:
            items.append(f"{report.runs[1].ansible_changed} Ansible task(s) changed")
        what = ", ".join(items[:10]) + (f" and {len(items) - 10} more" if len(items) > 10 else "")
        findings.append(outcome_finding("OPS404", f"second run changed: {what}"))
    return findings + _check_findings(report)


def _prepare_findings(report: DryRunReport) -> list[Finding]:
    """OPS413 when the scenario's prepare did not pass (the script was then not run)."""
    run = report.prepare
    if run is None or run.status == "passed":
        return []
    why = f"stopped ({run.stop_reason})" if run.stop_reason else f"exit status {run.exit_code}"
    tail = run.stderr.strip().split("\n")[-1:] or [""]
    return [
        outcome_finding(
            "OPS413",
            f"prepare (the scenario's set-up, not the script) {why}"
            # quoted (and redacted): prepare's stderr must not read as our own words
            + (f": stderr ends {quote(tail[0])}" if tail[0] else "")
            + "; the script was not run",
        )
    ]


def _check_findings(report: DryRunReport) -> list[Finding]:
    """OPS411 for each check that does not hold after the script, OPS412 for each that
    held before it (vacuous); nothing when prepare failed (OPS413 says why)."""
    if report.prepare is not None and report.prepare.status != "passed":
        return []
    findings: list[Finding] = []
    for check in report.checks:
        # quoted (and redacted): the name, command and output are not our words
        name = quote(check.name, 80)
        if not check.passed:
            if check.after is None:
                what = "did not run to an end after the script"
            else:
                what = f"failed after the script (exit {check.after})"
            lines = check.output.strip().split("\n")
            shown = " / ".join(line.strip() for line in lines[-3:] if line.strip())
            findings.append(
                outcome_finding(
                    "OPS411",
                    f"check {name} {what}"
                    + (f": output {quote(shown, 200)}" if shown else "")
                    + (f"; command {quote(check.run, 120)}" if check.run != check.name else ""),
                )
            )
        elif check.vacuous:
            findings.append(
                outcome_finding(
                    "OPS412",
                    f"check {name} already held before the script: vacuous, not counted",
                )
            )
    return findings


def _summary_message(label: str, diff: SystemDiff) -> str:
    # quoted: the script chose the folder names
    where = ", ".join(f"{quote(d, 60)} {n:,}" for d, n in diff.summarised if n)
    stopped = any(d == WALK_STOPPED for d, _ in diff.summarised)
    text = (
        f"{label}: {diff.summarised_count:,} changed entries counted but not listed "
        f"(at most {DETAIL_LIMIT:,} are read in detail, {PER_DIR_LIMIT:,} per folder)"
        + (f": {where}" if where else "")
        + ("; the walk stopped at its bound, so there may be more" if stopped else "")
    )
    if label == "second run":
        text += "; idempotence not checked"
    return text
