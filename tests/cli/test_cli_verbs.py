"""The CLI's verb table matches what the command modules register, and verbs load lazily."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import typer

from opsgen import commands
from opsgen.cli import VERBS


def _registered() -> dict[str, str]:
    found: dict[str, str] = {}
    for info in pkgutil.iter_modules(commands.__path__):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        if not hasattr(module, "register"):
            continue
        sub = typer.Typer()
        module.register(sub)
        group = typer.main.get_group(sub)
        for name in group.list_commands(None):  # type: ignore[arg-type]
            found[name] = info.name
    return found


def test_every_registered_verb_is_in_the_table_with_its_module() -> None:
    assert _registered() == VERBS


def test_running_one_verb_does_not_import_the_others() -> None:
    code = (
        "import sys\nfrom opsgen.cli import main\nrc = main(['version'])\n"
        "heavy = [m for m in ('opsgen.flow.loop', 'opsgen.store.repo', "
        "'opsgen.validators.api', 'docker') if m in sys.modules]\n"
        "print(rc, heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "0 []"


def test_help_lists_every_verb() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "opsgen.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for verb in VERBS:
        assert f"  {verb} " in out
