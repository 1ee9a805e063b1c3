"""``opsgen explain FILE``: a plain-language walk-through of an existing script."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from opsgen.inputs import read_text_file
from opsgen.ui import console, err_console, sanitize


def guess_lang(path: Path, text: str) -> str:
    """``ansible`` for YAML files or text that looks like a play, else ``bash``."""
    if path.suffix in (".yml", ".yaml") or text.lstrip().startswith(("---", "- hosts:", "- name:")):
        return "ansible"
    return "bash"


def register(app: typer.Typer) -> None:
    """Add the ``explain`` verb."""

    @app.command()
    def explain(
        file: Annotated[Path, typer.Argument(help="Script or playbook to explain.")],
        model: Annotated[str | None, typer.Option(help="Catalogue name or path.")] = None,
        runtime: Annotated[str | None, typer.Option(help="auto, llama or hf.")] = None,
        max_tokens: Annotated[int, typer.Option(min=64, max=4096)] = 700,
    ) -> None:
        """Ask the model what FILE does, step by step, and what is risky in it.

        The model only reads the text; nothing is run. Its answer is shown as it streams.
        """
        from opsgen.generator.backends import load_client
        from opsgen.generator.prompts import explain_messages

        text = read_text_file(file)
        messages = explain_messages(text, guess_lang(file, text), file.name)
        with err_console.status("loading the model"):
            llm = load_client(model, runtime)

        def show(piece: str) -> None:
            console.out(sanitize(piece, keep_newlines=True), end="", highlight=False)

        llm.complete(messages, max_tokens=max_tokens, stop_at_fence=False, on_token=show)
        console.out("")
