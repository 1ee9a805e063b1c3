"""Read-only tools over untrusted files, in a sandbox container: never on this host.

``opsgen lint`` hands a playbook to ansible-playbook (syntax check) and ansible-lint, and
loading a playbook can evaluate Jinja, so a playbook can run commands while it is only
being *checked* (issue 14: ``lookup('pipe', ...)`` spelled with YAML escapes ran ``id`` as
root). :class:`ContainerTools` runs such tools in a container of the tools image
(``opsgen sandbox image build`` makes it: ansible-core and ansible-lint at the versions
of opsgen's own environment) with the dry-run's hardening and more: no network, no
capabilities at all, an unprivileged user, no-new-privileges, bounded processes, memory,
CPU, disk, output and wall time (:func:`~opsgen.sandbox.execute.execute` watches it as
it watches a dry-run), the files copied in, nothing of the host mounted. It satisfies the
``ToolSandbox`` protocol of :mod:`opsgen.contained`, the contract the validators speak;
this package imports nothing from the validators.
"""

from __future__ import annotations

import io
import json
import tarfile
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Literal

from docker.errors import DockerException

from opsgen.contained import CONTAINED_WORKDIR, ToolCall, ToolOutput
from opsgen.errors import OpsError
from opsgen.sandbox.engine import connect
from opsgen.sandbox.execute import execute
from opsgen.sandbox.policy import LABEL, MiB, SandboxPolicy, check_kwargs, to_docker_kwargs

__all__ = ["TOOLS_POLICY", "TOOLS_USER", "ContainerTools", "ToolsBatch"]

#: nobody: the tools read files, they administer nothing
TOOLS_USER = "65534:65534"
_WORK = CONTAINED_WORKDIR.strip("/")  # where the files go
_SPEC = "/work/job.json"
_DRIVER = ["/opt/opsgen-tools/bin/python3", "-I", "/opt/opsgen-tools/runtools.py", _SPEC]

#: the dry-run's limits without a single capability; memory for ansible-lint's Python
#: (300 MB typical), output for its JSON on a long playbook
TOOLS_POLICY = SandboxPolicy(
    cap_add=(), memory_bytes=2048 * MiB, output_cap_bytes=16 * MiB, timeout_s=150.0,
    disk_quota_bytes=256 * MiB,
)


class ContainerTools:
    """Runs batches of tool calls in fresh containers of the tools image.

    Args:
        image: the tools image (default: the tag :func:`~opsgen.sandbox.image.
            tools_image_tag` computes for this environment).
        client: a connected Docker client (default: :func:`connect`, on first use).
        policy: limits of each container (:data:`TOOLS_POLICY`).

    An engine that does not answer or a missing image is not raised: every call of a
    batch then answers ``missing`` with the reason, and the lint says so (OPS005).
    """

    def __init__(self, image: str | None = None, *, client: Any = None,
                 policy: SandboxPolicy = TOOLS_POLICY):
        self.image = image
        self.policy = policy
        self._client = client
        self._image_id: str | None = None
        self.problem = ""

    def identity(self) -> str:
        """The tools image's id ("" when there is no engine or no image)."""
        if self._image_id is None:
            self._image_id = self._resolve()
        return self._image_id

    def _resolve(self) -> str:
        from opsgen.sandbox.image import image_status, tools_image_tag

        try:
            name = self.image or tools_image_tag()
            if self._client is None:
                self._client = connect(timeout=30)
            image_id = image_status(self._client, name)
        except OpsError as exc:
            self.problem = f"the tools sandbox cannot run: {exc.message}"
            return ""
        except DockerException as exc:
            self.problem = f"the tools sandbox cannot run: {exc}"
            return ""
        if image_id is None:
            self.problem = (f"the tools image {name} is not built (run `opsgen sandbox image "
                            "build`)")
            return ""
        return image_id

    def start(
        self, files: Mapping[str, bytes], calls: Sequence[ToolCall], env: Mapping[str, str]
    ) -> ToolsBatch:
        """Start ``calls`` over a copy of ``files`` in a new container (in a thread)."""
        image_id = self.identity()
        timeout = max((c.timeout for c in calls), default=60.0) + 30.0
        policy = replace(self.policy, timeout_s=timeout, network="none")
        return ToolsBatch(self._client, image_id, self.problem, files, calls, env, policy)


class ToolsBatch:
    """One container running one batch; :meth:`wait` gives each call's output."""

    def __init__(self, client: Any, image_id: str, problem: str, files: Mapping[str, bytes],
                 calls: Sequence[ToolCall], env: Mapping[str, str], policy: SandboxPolicy):
        self.client, self.image_id, self.policy = client, image_id, policy
        self.names = [c.name for c in calls]
        self.spec = {"cwd": CONTAINED_WORKDIR, "env": dict(env),
                     "calls": [{"name": c.name, "argv": list(c.argv), "timeout": c.timeout}
                               for c in calls]}
        self.files = dict(files)
        self.run_id = uuid.uuid4().hex[:12]
        self.container: Any = None
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._outputs: dict[str, ToolOutput] = {}
        self._thread: threading.Thread | None = None
        if not image_id:
            self._fail("missing", problem or "the tools sandbox cannot run")
            return
        self._thread = threading.Thread(target=self._run, name="opsgen-tools", daemon=True)
        self._thread.start()

    def wait(self) -> Mapping[str, ToolOutput]:
        """Every call's output (blocks until the container is done and removed)."""
        if self._thread is not None:
            self._thread.join(self.policy.timeout_s + 60)
            if self._thread.is_alive():
                self.close()
                self._fail("failed", "the tools sandbox did not finish")
        self._fail("failed", "the tools sandbox was stopped before it answered")
        return dict(self._outputs)

    def close(self) -> None:
        """Kill and remove the container if it still runs (Ctrl-C, an early end)."""
        self._closed.set()
        with self._lock:
            container, self.container = self.container, None
        if container is not None:
            try:
                container.remove(force=True)
            except DockerException:
                pass  # the reaper removes it at the next dry-run (owner label)

    # -- the thread ------------------------------------------------------------------
    def _fail(self, status: Literal["missing", "failed"], detail: str) -> None:
        for name in self.names:
            self._outputs.setdefault(name, ToolOutput(status, detail=detail))

    def _run(self) -> None:
        started = time.monotonic()
        try:
            kwargs = to_docker_kwargs(self.policy, run_id=self.run_id)
            kwargs["user"] = TOOLS_USER
            kwargs["labels"][f"{LABEL}.kind"] = "tools"
            check_kwargs(kwargs)
            container = self.client.containers.create(
                self.image_id, entrypoint=_DRIVER, command=[], **kwargs)
            with self._lock:
                if self._closed.is_set():
                    container.remove(force=True)
                    return
                self.container = container
            if not container.put_archive("/", self._archive()):
                self._fail("failed", "could not copy the files into the tools sandbox")
                return
            result = execute(self.client, container, self.policy)
        except (DockerException, OpsError) as exc:
            if not self._closed.is_set():  # else: stopped on purpose, wait() says so
                self._fail("missing", f"the tools sandbox failed: {exc}")
            return
        finally:
            self.close()
        self._collect(result, time.monotonic() - started)

    def _collect(self, result: Any, seconds: float) -> None:
        try:
            answers = json.loads(result.stdout)["results"]
        except (ValueError, KeyError, TypeError):
            why = result.stop_reason or f"exit {result.exit_code}"
            tail = (result.stderr.strip().splitlines() or [""])[-1][:200]
            self._fail("failed", f"the tools sandbox stopped ({why}){': ' + tail if tail else ''}")
            return
        for name in self.names:
            got = answers.get(name) if isinstance(answers, dict) else None
            if not isinstance(got, dict):
                continue
            code = got.get("returncode")
            status = got.get("status")
            self._outputs[name] = ToolOutput(
                status if status in ("ok", "timeout", "missing") else "failed",
                code if isinstance(code, int) else None,
                str(got.get("stdout", "")), str(got.get("stderr", "")),
                float(got.get("seconds") or seconds))
        self._fail("failed", "no answer for this tool from the tools sandbox")

    def _archive(self) -> bytes:
        """``/work/job.json`` (root's) and ``/work/lint/...`` (the tools' user's: ansible-lint
        keeps a cache in its project folder)."""
        uid, gid = (int(x) for x in TOOLS_USER.split(":"))
        buf = io.BytesIO()
        mtime = int(time.time())
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
            dirs = {_WORK.split("/")[0]: (0, 0), _WORK: (uid, gid)}
            self.files = {rel: data for rel, data in self.files.items()
                          if rel and not rel.startswith("/") and ".." not in rel.split("/")}
            for rel in self.files:
                parts = rel.split("/")[:-1]
                for i in range(1, len(parts) + 1):
                    dirs[f"{_WORK}/" + "/".join(parts[:i])] = (uid, gid)
            for name, (u, g) in sorted(dirs.items()):
                info = tarfile.TarInfo(name)
                info.type, info.mode, info.uid, info.gid, info.mtime = (
                    tarfile.DIRTYPE, 0o755, u, g, mtime)
                tar.addfile(info)
            entries = {f"{_WORK}/{rel}": (data, uid, gid) for rel, data in self.files.items()}
            entries[_SPEC.lstrip("/")] = (json.dumps(self.spec).encode(), 0, 0)
            for name, (data, u, g) in entries.items():
                info = tarfile.TarInfo(name)
                info.size, info.mode, info.uid, info.gid, info.mtime = len(data), 0o644, u, g, mtime
                tar.addfile(info, io.BytesIO(data))
        return buf.getvalue()
