"""ansible-lint's own fix mode, in the tools sandbox: the style findings a program can fix.

A small model writes ``mode: 0644``, ``become: yes`` and ``copy:``; asking it to repair
them costs a generation each and it may break something else on the way. ansible-lint
fixes them itself (``--fix`` with its transforms), so opsgen runs that before the lint and
asks the model only about what needs judgement. Three rules keep it honest:

- **Where.** ansible-lint loads the playbook, and loading runs Jinja lookups, so it runs
  only in the tools sandbox (:mod:`opsgen.validators.isolation`), never on this host; the
  visible Jinja is swapped for unique placeholders first and put back afterwards (the
  lint's second wall, :func:`~opsgen.validators.adapters.ansible.neutralize`).
- **Only the safe transforms** (:data:`TRANSFORMS`): YAML layout, truthy values, octal
  values, document start (``yaml``), full module names (``fqcn``), ``name`` first
  (``key-order``). ``no-free-form``, ``name[casing]`` and the Jinja ones rewrite values.
- **Never a change of meaning.** ansible-lint's YAML is 1.1 as ruamel reads it, not as
  Ansible does: it turns ``name: Y`` into ``name: true`` and ``owner: 0755`` into
  ``"0755"`` (measured, 26.10.1). So the fixed text is loaded and compared with the
  original; the only differences allowed are a builtin module named in full, key order,
  and a ``mode`` integer written as its octal string (``420`` → ``"0644"``, the same file
  mode to Ansible). Anything else and the whole fix is dropped, with the reason.

ansible-lint's transforms sometimes need a second pass (``key-order`` after ``fqcn``
renamed the key), so the sandbox runs ``--fix`` until the file stops changing (at most
:data:`PASSES` times): the result is a fixed point, and fixing it again changes nothing.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import yaml

from opsgen.validators.ansible.tasks import is_playbook
from opsgen.validators.isolation import (
    CONTAINED_WORKDIR,
    ToolCall,
    ToolOutput,
    ToolSandbox,
    contained_env,
)
from opsgen.yamlsafe import safe_load_all

__all__ = ["PASSES", "TRANSFORMS", "FixResult", "fix_argv", "fix_playbook"]

#: ansible-lint transforms that only change how the YAML is written, never what it says
TRANSFORMS = ("yaml", "fqcn", "key-order")
#: ``--fix`` runs until the file stops changing, at most this often
PASSES = 3
#: how the sandbox call is named (and how a missing sandbox is reported)
TOOL = "ansible-lint --fix"
_TIMEOUT = 180.0  # three passes of ansible-lint on a busy machine
_MARK = "opsgen-fix-jinja-"
#: visible Jinja, as :func:`~opsgen.validators.adapters.ansible.neutralize` finds it
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
_PASS = re.compile(r"^opsgen-fix pass (\d+) exit (\d+)$", re.M)
#: plain scalars PyYAML reads as booleans, other than the two yaml[truthy] keeps
_TRUTHY = re.compile(r"^(?:yes|Yes|YES|no|No|NO|True|TRUE|False|FALSE|on|On|ON|off|Off|OFF)$")


@dataclass(frozen=True, slots=True)
class FixResult:
    """What the fix did.

    Attributes:
        text: the fixed text; the input unchanged when nothing was applied.
        fixes: one line per transform that changed something, for the review.
        skipped: why the fix was not applied ("" when it ran, changed or not).
    """

    text: str
    fixes: tuple[str, ...] = ()
    skipped: str = ""


@dataclass
class _Tally:
    """The differences between the original and the fixed data, allowed or not."""

    fqcn: list[str] = field(default_factory=list)
    modes: list[str] = field(default_factory=list)
    reordered: int = 0
    problems: list[str] = field(default_factory=list)


def fix_argv(target: str) -> tuple[str, ...]:
    """The sandbox command: ``ansible-lint --fix`` on ``target`` until it stops changing
    (each pass's exit code on stderr), then the file on stdout."""
    lint = (f"ansible-lint --offline --nocolor -q --project-dir {CONTAINED_WORKDIR} "
            f"--fix={','.join(TRANSFORMS)} {target}")
    script = (f'i=0; while [ "$i" -lt {PASSES} ]; do i=$((i+1)); '
              f'cp {target} "$HOME/before.yml"; {lint} >/dev/null 2>&1; '
              'echo "opsgen-fix pass $i exit $?" >&2; '
              f'cmp -s "$HOME/before.yml" {target} && break; done; cat {target}')
    return ("sh", "-c", script)


def fix_playbook(text: str, sandbox: ToolSandbox) -> FixResult:
    """Run ansible-lint's safe transforms on ``text`` in ``sandbox``; keep the result only
    when it means what ``text`` means (see the module docstring)."""
    try:
        docs = safe_load_all(text)
    except yaml.YAMLError:
        return FixResult(text, skipped="the YAML does not load (the lint says where)")
    if _MARK in text:
        return FixResult(text, skipped=f"the text contains opsgen's placeholder {_MARK!r}")
    masked, jinja = _mask(text)
    target = "playbook.yml" if is_playbook(docs) else "tasks/main.yml"
    out = _run(sandbox, masked, target)
    problem = _failed(out)
    if problem:
        return FixResult(text, skipped=problem)
    fixed = _unmask(out.stdout, jinja)
    if fixed is None:
        return FixResult(text, skipped="the fix moved Jinja opsgen could not put back")
    if fixed == text:
        return FixResult(text)
    tally = _Tally()
    try:
        _compare(docs, safe_load_all(fixed), "", tally)
    except (yaml.YAMLError, RecursionError) as exc:
        tally.problems.append(f"the fixed text does not load ({type(exc).__name__})")
    if tally.problems:
        return FixResult(text, skipped="it would change what the playbook means: "
                         + "; ".join(tally.problems[:3]))
    return FixResult(fixed, _describe(text, fixed, tally))


def _mask(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Each visible Jinja expression swapped for a unique placeholder, and the pairs
    (placeholder, expression) in order, as the lint neutralizes its copy.

    A placeholder keeps the expression's quotes and escapes (``'{{ x("a") }}'`` becomes
    ``'opsgen-fix-jinja-0-""x'``), so the formatter picks the same quoting for it as for
    the real text; where it re-quotes a placeholder anyway, the placeholder is no longer
    found verbatim and the fix is dropped rather than guessed.
    """
    found: list[tuple[str, str]] = []

    def swap(match: re.Match[str]) -> str:
        quotes = "".join(re.findall(r"\\.|[\"']", match.group(), re.S))
        token = f"{_MARK}{len(found)}-{quotes}x"
        found.append((token, match.group()))
        return token

    return _JINJA.sub(swap, text), found


def _unmask(text: str, jinja: list[tuple[str, str]]) -> str | None:
    """The placeholders replaced by their Jinja again; None when one is lost or repeated."""
    for token, expr in jinja:
        if text.count(token) != 1 and "''" in token and not re.search(r'["\\]', expr):
            # the formatter wrote 'a ''b''' as "a 'b'": the same string, so the same Jinja
            # with its quotes unescaped (the meaning check still compares the data)
            token, expr = token.replace("''", "'"), expr.replace("''", "'")
        if text.count(token) != 1:
            return None
        text = text.replace(token, expr)
    return None if _MARK in text else text


def _run(sandbox: ToolSandbox, masked: str, target: str) -> ToolOutput:
    files = {target: masked.encode(), "ansible.cfg": b"# empty: no user or project config\n"}
    batch = sandbox.start(files, [ToolCall(TOOL, fix_argv(target), _TIMEOUT)], contained_env())
    try:
        return batch.wait().get(TOOL) or ToolOutput("missing", detail="no answer")
    finally:
        batch.close()


def _failed(out: ToolOutput) -> str:
    """Why the sandbox's answer cannot be used ("" when it can)."""
    if out.status != "ok":
        return out.detail or f"ansible-lint --fix did not run ({out.status})"
    codes = [int(code) for _n, code in _PASS.findall(out.stderr)]
    if out.returncode != 0 or not codes:
        return f"the fix command failed (exit {out.returncode})"
    bad = [c for c in codes if c not in (0, 2, 8)]  # 2: findings left; 8: all fixed
    if bad:
        return f"ansible-lint --fix failed (exit {bad[0]})"
    if not out.stdout.strip():
        return "ansible-lint --fix returned an empty file"
    return ""


def _compare(a: Any, b: Any, where: str, tally: _Tally, key: Any = None) -> None:
    """Record in ``tally`` how ``b`` (fixed) differs from ``a`` (original)."""
    if len(tally.problems) > 3:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        _compare_maps(a, b, where, tally)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            tally.problems.append(f"{where or 'the document'} has {len(b)} items, not {len(a)}")
            return
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _compare(x, y, f"{where}[{i}]", tally)
    elif (key == "mode" and type(a) is int and isinstance(b, str)
          and re.fullmatch(r"0[0-7]+", b) and int(b, 8) == a):
        tally.modes.append(b)  # YAML 1.1 read 0644 as 420: the same file mode, now quoted
    elif type(a) is not type(b) or a != b:
        tally.problems.append(f"{where or 'the document'}: {a!r} became {b!r}")


def _compare_maps(a: dict[Any, Any], b: dict[Any, Any], where: str, tally: _Tally) -> None:
    names: dict[Any, Any] = {}
    for k in a:
        full = f"ansible.builtin.{k}" if isinstance(k, str) else None
        if k in b:
            names[k] = k
        elif full is not None and full in b and full not in a:
            names[k] = full
            tally.fqcn.append(k)
        else:
            tally.problems.append(f"{where or 'the document'}: key {k!r} is gone")
            return
    if len(a) != len(b):
        tally.problems.append(f"{where or 'the document'}: keys were added")
        return
    if [names[k] for k in a] != list(b):
        tally.reordered += 1
    for k in a:
        _compare(a[k], b[names[k]], f"{where}.{k}" if where else str(k), tally, key=k)


def _odd_booleans(text: str) -> int:
    """Plain scalars Ansible reads as booleans but not spelled ``true``/``false``."""
    try:
        return sum(1 for t in yaml.scan(text, Loader=yaml.SafeLoader)
                   if isinstance(t, yaml.ScalarToken) and t.plain and _TRUTHY.match(t.value))
    except yaml.YAMLError:
        return 0


def _layout(text: str) -> tuple[Counter[int], int, int]:
    """What a reformat changes and the value transforms do not: indentation, single quotes,
    blank lines."""
    lines = text.splitlines()
    indents = Counter(len(x) - len(x.lstrip(" ")) for x in lines if x.strip())
    return indents, text.count("'"), sum(1 for x in lines if not x.strip())


def _describe(text: str, fixed: str, tally: _Tally) -> tuple[str, ...]:
    """One line per transform that changed something."""
    lines = []
    truthy = _odd_booleans(text) - _odd_booleans(fixed)
    if truthy > 0:
        lines.append(f"wrote {truthy} truthy value(s) as true/false (yaml[truthy])")
    if tally.modes:
        lines.append(f"quoted {len(tally.modes)} octal file mode(s), e.g. mode: "
                     f"{tally.modes[0]} → \"{tally.modes[0]}\" (yaml[octal-values])")
    if tally.fqcn:
        names = ", ".join(f"{n} → ansible.builtin.{n}" for n in sorted(set(tally.fqcn)))
        lines.append(f"wrote {len(tally.fqcn)} builtin module name(s) in full: {names} (fqcn)")
    if tally.reordered:
        lines.append(f"reordered the keys of {tally.reordered} task(s) or play(s), name first "
                     "(key-order)")
    if not text.lstrip().startswith("---") and fixed.lstrip().startswith("---"):
        lines.append("added the YAML document start '---' (yaml[document-start])")
    if _layout(text) != _layout(fixed):
        lines.append("reformatted indentation, quoting and spacing (yaml)")
    if not lines:
        lines.append("reformatted the YAML (yaml)")
    return tuple(f"ansible-lint --fix: {line}" for line in lines)
