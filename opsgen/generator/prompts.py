"""Build the chat messages from the Jinja2 templates in :mod:`opsgen.templates`.

One short system prompt per language: measured on the embedded models, a long prompt that
mentions both bash and Ansible made bash answers drift into YAML. The operator's request
is framed as data inside ``<request>`` tags, and any tag in it that could close that frame is
neutralised, so text in the request cannot pose as our instructions. (The checks never
depend on the model obeying: the repair loop runs them whatever the answer says.)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import jinja2

from opsgen.generator.llm import Message

__all__ = [
    "Target",
    "explain_messages",
    "frame_data",
    "generation_messages",
    "repair_messages",
    "scenario_messages",
    "scenario_repair_messages",
]

_KIND = {"bash": "bash script", "ansible": "Ansible playbook"}
_FENCE = {"bash": "bash", "ansible": "yaml"}
MAX_REQUEST_CHARS = 4000
_FRAME_TAGS = re.compile(r"</?\s*(request|script)\b[^>]*>", re.I)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Target:
    """Facts about the machine the script is for, stated in the system prompt."""

    os: str = "Debian 12 (bookworm)"
    dryrun: bool = True


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    # Prompts are plain text for a model, not HTML: escaping would corrupt scripts.
    return jinja2.Environment(
        loader=jinja2.PackageLoader("opsgen", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        autoescape=False,  # noqa: S701
    )


def render(template: str, **values: object) -> str:
    """Render ``template`` (relative to ``opsgen/templates``) without trailing space."""
    return _env().get_template(template).render(**values).strip()


def frame_data(text: str, limit: int = MAX_REQUEST_CHARS) -> str:
    """Make untrusted text safe to place between our ``<request>``/``<script>`` tags.

    Removes control characters, defuses tags that would end the frame early, and caps the
    length so a pasted log cannot crowd the instructions out of a small context window.
    """
    text = _CONTROL.sub("", text).strip()
    text = _FRAME_TAGS.sub(lambda m: m.group(0).replace("<", "(").replace(">", ")"), text)
    if len(text) > limit:
        text = text[:limit] + "\n[... truncated by opsgen]"
    return text


def _check_lang(lang: str) -> None:
    if lang not in _KIND:
        raise ValueError(f"unknown language {lang!r}; expected bash or ansible")


def generation_messages(request: str, lang: str, target: Target | None = None) -> list[Message]:
    """The first conversation: system rules for ``lang`` plus the framed request."""
    _check_lang(lang)
    system = render(f"generate/system_{lang}.j2", target=target or Target())
    user = render("generate/request.j2", kind=_KIND[lang], request=frame_data(request))
    return [Message("system", system), Message("user", user)]


def repair_messages(
    history: Sequence[Message], script: str, problems: Sequence[str], lang: str,
    repeated: int | None = None,
) -> list[Message]:
    """Continue ``history`` with our version of the last answer and what the checks found.

    The assistant turn carries the *normalised* script rather than the raw answer, because
    the line numbers in ``problems`` refer to it. ``repeated``: that answer was identical
    to attempt N, which the model is told, so it does not answer the same way a third time.
    """
    _check_lang(lang)
    answer = f"```{_FENCE[lang]}\n{script.rstrip()}\n```"
    feedback = render(
        "generate/repair.j2",
        kind=_KIND[lang],
        fence=_FENCE[lang],
        lang=lang,
        problems=list(problems),
        repeated=repeated,
    )
    return [*history, Message("assistant", answer), Message("user", feedback)]


def scenario_messages(request: str, lang: str, target: Target | None = None) -> list[Message]:
    """Ask for the request's scenario (what to prepare, what must hold after), from the
    request *alone*.

    There is deliberately no script parameter: the checks are independent evidence only if
    they are written without seeing any candidate (CodeT's tests are generated apart from
    the code they judge); a model shown the script tends to check what the script does,
    which would vet a wrong script. The request is framed as data, as for generation.
    """
    _check_lang(lang)
    system = render("scenario/system.j2", kind=_KIND[lang], target=target or Target())
    user = render("scenario/request.j2", kind=_KIND[lang], request=frame_data(request))
    return [Message("system", system), Message("user", user)]


def scenario_repair_messages(
    history: Sequence[Message], answer: str, failure: str, lang: str,
    target: Target | None = None,
) -> list[Message]:
    """Continue a scenario conversation after its *prepare* failed in the sandbox.

    Only the scenario's own failure goes back (the prepare runs before any script), so the
    scenario stays independent of every candidate script.
    """
    _check_lang(lang)
    feedback = render(
        "scenario/repair.j2", kind=_KIND[lang], failure=frame_data(failure, 1500),
        os=(target or Target()).os,
    )
    return [*history, Message("assistant", answer), Message("user", feedback)]


def explain_messages(script: str, lang: str, name: str = "") -> list[Message]:
    """Ask for a plain-language walk-through of an existing script or playbook."""
    _check_lang(lang)
    kind = _KIND[lang]
    system = render("explain/system.j2", kind=kind)
    user = render(
        "explain/request.j2",
        kind=kind,
        name=frame_data(name, 200),
        script=frame_data(script, 12_000),
    )
    return [Message("system", system), Message("user", user)]
