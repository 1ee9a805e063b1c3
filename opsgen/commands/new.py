"""``opsgen new "REQUEST"``: generate a script with the model, then lint, dry-run, repair.

A change can be checked against a scenario, the state the request presupposes and checks of
what it asks for: the operator's (``--given FILE``: the prepare script, ``--expect CMD``: a
check, ``--scenario FILE.yml``: both) and, with ``--model-scenario``, one the model writes
from the request alone (off by default until the operations benchmark has measured it).
"""

from __future__ import annotations

import json
import re
import time
from typing import Annotated

import typer
from rich.status import Status

from opsgen.commands.options import (
    ExpectOpt,
    GivenOpt,
    JsonOpt,
    LangOrAuto,
    ScenarioOpt,
    WorkspaceOpt,
    read_scenario,
)
from opsgen.errors import InputError
from opsgen.flow.loop import Attempt, Events
from opsgen.redact import redact_tree
from opsgen.ui import console, err_console, safe

_AUTO_ANSIBLE = re.compile(r"\b(ansible|playbook)\b", re.I)



class _Progress(Events):
    """Spinner on stderr: attempt, stage, tokens and speed (stdout stays clean for --json)."""

    def __init__(self, status: Status) -> None:
        self.status = status
        self.label = ""
        self.tokens = 0
        self.started = time.perf_counter()
        self.shown = 0.0

    def stage(self, name: str, attempt: int, total: int) -> None:
        words = {"generate": "generating", "fix": "fixing style (ansible-lint --fix, sandboxed)",
                 "lint": "linting", "dryrun": "dry-running twice"}
        if name == "sample":
            self.label = f"candidate {attempt + 1}/{total + 1} · sampling"
        elif name == "scenario":
            self.label = ("writing the checks (from the request alone)" if attempt == 1
                          else "rewriting the checks (their prepare failed)")
        else:
            self.label = f"attempt {attempt}/{total} · {words.get(name, name)}"
        self.tokens, self.started = 0, time.perf_counter()
        self.status.update(self.label)

    def token(self, piece: str) -> None:
        self.tokens += 1
        now = time.perf_counter()
        if now - self.shown > 0.2:  # redraw at most 5 times a second
            rate = self.tokens / max(now - self.started, 1e-6)
            self.status.update(f"{self.label} · {self.tokens} tokens ({rate:.1f}/s)")
            self.shown = now

    def finished(self, attempt: Attempt) -> None:
        verdict = "passed" if attempt.passed else f"{len(attempt.problems)} problem(s)"
        err_console.print(f"attempt {attempt.number}: {verdict}")
        for problem in attempt.problems[:5]:
            err_console.print(f"  - {safe(problem.describe(attempt.script or ''))}", soft_wrap=True)


def pick_lang(request: str, lang: LangOrAuto) -> str:
    """Resolve ``--lang auto`` from the request's words."""
    if lang is not LangOrAuto.auto:
        return lang.value
    return "ansible" if _AUTO_ANSIBLE.search(request) else "bash"


def register(app: typer.Typer) -> None:
    """Add the ``new`` verb."""

    @app.command()
    def new(
        request: Annotated[str, typer.Argument(help="What the script should do, in words.")],
        lang: Annotated[LangOrAuto, typer.Option(help="Output language.")] = LangOrAuto.auto,
        model: Annotated[
            str | None, typer.Option(help="Catalogue name, GGUF file or HF folder.")
        ] = None,
        runtime: Annotated[
            str | None, typer.Option(help="auto, llama or hf (default: OPSGEN_RUNTIME or auto).")
        ] = None,
        attempts: Annotated[
            int, typer.Option(min=1, max=10, help="Most generations (repairs + 1).")
        ] = 3,
        candidates: Annotated[
            int,
            typer.Option(
                min=1,
                max=9,
                help="Answers to weigh by what they did in the sandbox: the repaired answer "
                "plus up to N-1 sampled ones; the one passing most checks, then the behaviour "
                "most share, wins; no samples once an answer is vetted by the request's checks "
                "(needs the dry-run; 1 is fastest).",
            ),
        ] = 3,
        no_dryrun: Annotated[
            bool, typer.Option("--no-dryrun", help="Lint only; the result is 'unverified'.")
        ] = False,
        as_json: JsonOpt = False,
        image: Annotated[
            str | None, typer.Option(help="Sandbox image for the dry-run.", hidden=False)
        ] = None,
        max_tokens: Annotated[int, typer.Option(min=64, max=4096)] = 768,
        name: Annotated[
            str | None, typer.Option(help="Change name (default: from the request).")
        ] = None,
        author: Annotated[str | None, typer.Option(help="Author (default: $OPSGEN_USER).")] = None,
        workspace: WorkspaceOpt = None,
        store: Annotated[
            bool, typer.Option("--store/--no-store", help="Record the result as a change.")
        ] = True,
        given: GivenOpt = None,
        expect: ExpectOpt = None,
        scenario_file: ScenarioOpt = None,
        model_scenario: Annotated[
            bool,
            typer.Option("--model-scenario/--no-model-scenario",
                         help="Also have the model write a scenario (prepare and checks) from "
                         "the request alone, checked on every candidate. Off by default until "
                         "the operations benchmark shows it lowers false greens without "
                         "adding false reds."),
        ] = False,
        request_checks: Annotated[
            bool,
            typer.Option("--request-checks/--no-request-checks",
                         help="Check what the request says in so many words (a user's home, "
                         "shell and groups, a path's mode and owner, a GID, a sysctl, a cron "
                         "schedule, a symlink, a setting in a file, a unit file, files swept "
                         "by age or size, what must stay, a named package), on the state it "
                         "presupposes (the accounts, groups, folder or file it works on); "
                         "each check is shown with its source 'request'."),
        ] = True,
    ) -> int:
        """Generate a script for REQUEST; lint it, dry-run it twice, repair, show the review.

        Every dry-run also checks what the request asks for where that is known: checks
        read from the request's own words (--no-request-checks turns them off), the
        operator's scenario (--given, --expect, --scenario) and, with --model-scenario, one
        the model writes from the request alone. The script is "vetted" only when it runs
        cleanly and every check holds, at least one of them proving the change (a check
        that held before the script is not counted); "runs-clean" when it runs cleanly but
        no check tested what was asked.

        Exit 0 when the chosen script passed every check that ran (vetted or runs-clean),
        1 when it still has problems after all attempts, 3 for bad input, 5 when the model
        gave nothing usable.
        """
        from opsgen.commands.options import current_user
        from opsgen.flow.new import new as run_new
        from opsgen.generator.backends import load_client
        from opsgen.render.new import print_review, result_to_dict

        if not request.strip():
            raise InputError("the request is empty", reference="empty-input")
        chosen = pick_lang(request, lang)
        operator = read_scenario(given, expect, scenario_file)
        if no_dryrun and operator is not None:
            err_console.print("note: the scenario runs only in the dry-run; with --no-dryrun "
                              "its checks are not run")
        with err_console.status("loading the model") as status:
            loading = time.perf_counter()
            llm = load_client(model, runtime)
            load_s = time.perf_counter() - loading
            outcome = run_new(
                request,
                chosen,
                llm,
                attempts=attempts,
                candidates=candidates,
                max_tokens=max_tokens,
                dryrun=not no_dryrun,
                image=image,
                events=_Progress(status),
                record=store,
                workspace=workspace,
                author=author or current_user(),
                name=name,
                scenario=operator,
                model_scenario=model_scenario,
                request_checks=request_checks,
            )
        result, stored = outcome.result, outcome.stored
        if as_json:
            data = result_to_dict(result)
            # preloaded: the worker had the model loaded (see opsgen.worker); load_s: what
            # getting it took in this command
            data["model"] = {"name": llm.name, "runtime": llm.runtime,
                             "preloaded": bool(getattr(llm, "preloaded", False)),
                             "load_s": round(load_s, 3)}
            if stored is not None:
                data["script_id"], data["id"] = data["id"], stored["change"]
                data["change"] = stored
            # result_to_dict is redacted already; this covers what was added to it here
            print(json.dumps(redact_tree(data), indent=2, default=str))
        else:
            print_review(result, console)
            if stored is not None:
                console.print(
                    f"Stored as change [bold]{stored['change']}[/] "
                    f"({safe(stored['name'])}), sign-off: {safe(stored['sign_off'])}; "
                    f"next: opsgen show {stored['change']}",
                    soft_wrap=True,
                )
        return 0 if result.status != "failed-checks" else 1
