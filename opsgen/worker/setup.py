"""Getting a worker ready: its private runtime dir, its lock, its socket, its preloaded modules.

Everything here runs once, before the server (:mod:`opsgen.worker.server`) forks anything.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import hashlib
import importlib
import io
import os
import signal
import socket
import sys
from pathlib import Path

import opsgen
from opsgen.launcher import runtime_dir

__all__ = ["PRELOAD", "Lock", "fingerprint", "listen", "preload", "prepare_rundir", "unlink"]

#: Modules the served verbs need; imported before the socket answers.
PRELOAD = (
    "opsgen.cli",
    "opsgen.commands.dryrun",
    "opsgen.commands.lint",
    "opsgen.commands.new",
    "opsgen.flow.loop",
    "opsgen.commands.version",
    "opsgen.inputs",
    "opsgen.sandbox.stage",
    "opsgen.sandbox.engine",
    "opsgen.validators",
    "opsgen.validators.api",
    "opsgen.secretscan",  # detect-secrets: lint imports it on first scan
    "opsgen.render.dryrun",
    "docker",
    "rich",
    "typer",
    "typer._adapters",  # typer imports it (and pydantic) when it parses the first option
)


def fingerprint() -> str:
    """Mtimes and sizes of the opsgen modules this process has loaded (and templates, if read).

    Only what the server holds counts: a child imports any other module, and reads any
    template, from disk anyway, so an edit there cannot make it run stale code (and edits
    elsewhere in a checkout do not stop the worker). The served verbs render no template;
    they count once Jinja is loaded here.
    """
    files = {
        str(mod.__file__)
        for name, mod in list(sys.modules.items())
        if (name == "opsgen" or name.startswith("opsgen.")) and getattr(mod, "__file__", None)
    }
    if "jinja2" in sys.modules:
        templates = Path(opsgen.__file__).parent / "templates"
        for dirpath, dirnames, filenames in os.walk(templates):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            files.update(os.path.join(dirpath, n) for n in filenames if not n.endswith(".pyc"))
    digest = hashlib.sha256()
    for path in sorted(files):
        try:
            st = os.stat(path)
            digest.update(f"{path}\0{st.st_mtime_ns}\0{st.st_size}\n".encode())
        except OSError:
            digest.update(f"{path}\0gone\n".encode())
    return digest.hexdigest()


def unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


class Lock:
    """``worker.lock``, held with flock for the server's life: one server per runtime dir."""

    def __init__(self) -> None:
        self.fd = -1

    def acquire(self, rundir: Path) -> bool:
        self.fd = os.open(rundir / "worker.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            return False
        return True

    def close_in_child(self) -> None:
        # A child must not keep the lock's file description open after the server exits,
        # or a new server could not start while a long dry-run finishes.
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def prepare_rundir() -> Path:
    """Create the runtime dir (0700) or check that an existing one is ours and private."""
    rundir = Path(runtime_dir())
    rundir.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = rundir.stat()
    if st.st_uid != os.getuid():
        raise PermissionError(f"{rundir} belongs to uid {st.st_uid}")
    if st.st_mode & 0o077:
        rundir.chmod(0o700)
    return rundir


def preload() -> str:
    """Import what the served verbs need, so a forked child starts warm (and the model:
    the line :func:`preload_model` gives back, for the log)."""
    for name in PRELOAD:
        importlib.import_module(name)
    _warm_up()
    model = preload_model()
    # Everything imported so far is shared with the children; keep the collector from
    # touching (and so copying) those pages in every child.
    gc.collect()
    gc.freeze()
    return model


def preload_model() -> str:
    """Load the default model (``OPSGEN_MODEL``, ``OPSGEN_RUNTIME`` as the worker was
    started with) for the children of ``opsgen new``: a line for the log.

    Only a llama.cpp model is kept (transformers would hold gigabytes of torch in every
    worker); nothing is evaluated here (see :func:`opsgen.generator.backends.llamacpp.preload`).
    ``OPSGEN_WORKER_MODEL=0`` turns it off; a model that is not installed is no error.
    """
    if os.environ.get("OPSGEN_WORKER_MODEL", "1") in ("0", "") or \
            os.environ.get("OPSGEN_BACKEND", "local") != "local":
        return "model: not preloaded (turned off)"
    from opsgen.errors import OpsError
    from opsgen.generator.backends import resolve_model

    try:
        choice = resolve_model()
        if choice.runtime != "llama":
            return f"model: not preloaded ({choice.name} runs on {choice.runtime})"
        from opsgen.generator.backends.llamacpp import preload

        preload(choice.path)
    except OpsError as exc:
        return f"model: not preloaded ({exc.message})"
    return f"model: {choice.name} preloaded for opsgen new"


def _warm_up() -> None:
    """Parse each served verb once, on a file that does not exist: no container, no lint.

    typer and pydantic import modules and build adapters on first parse; done here, every
    child inherits them instead of paying for them again.
    """
    from opsgen.cli import main as cli_main

    missing = "/nonexistent/opsgen-warm-up.sh"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        for argv in _WARM_UP:
            cli_main([*argv, missing])
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # cli.main installed its handler


_WARM_UP = (
    ["dryrun", "--json", "--timeout", "60", "--network", "none", "--lang", "bash"],
    ["dryrun", "--image", "none", "--twice"],
    ["lint", "--format", "json", "--lang", "bash"],
    ["lint", "--format", "text"],
    ["version"],
)


def listen(rundir: Path) -> socket.socket:
    path = rundir / "worker.sock"
    unlink(path)  # we hold the lock: any socket there is a dead server's
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        listener.bind(str(path))
    finally:
        os.umask(old)
    path.chmod(0o600)
    listener.listen(64)
    return listener
