"""The bash parser: what rules see of a script (words, positions, nested code)."""

from __future__ import annotations

import random

import pytest

from opsgen.validators.shell.index import ShellIndex
from opsgen.validators.shell.parser import parse


def calls(text: str) -> list[tuple[str, list[str]]]:
    return [(c.name, [w.value for w in c.args]) for c in ShellIndex(parse(text)).calls]


def test_pipeline_and_positions() -> None:
    script = parse("echo a |\n  grep b && ls -l 2>/dev/null")
    (p1, p2) = script.pipelines
    assert [c.words[0].value for c in p1.commands] == ["echo", "grep"]
    assert (p1.commands[1].line, p1.commands[1].col) == (2, 3)
    assert p2.commands[0].redirects[0].op == "2>"
    assert p2.commands[0].redirects[0].target.value == "/dev/null"


@pytest.mark.parametrize(("text", "value"), [
    ("c''url", "curl"), ('cu"rl"', "curl"), ("\\curl", "curl"),
    ("$'\\x63url'", "curl"), ("$'\\143url'", "curl"), ('"$HOME"/x', "$HOME/x"),
])
def test_word_values_resolve_quotes_and_escapes(text: str, value: str) -> None:
    assert parse(text).pipelines[0].commands[0].words[0].value == value


def test_wrappers_are_stripped() -> None:
    assert calls("sudo -u root -E env A=1 nice -n 5 /usr/bin/curl x")[0] == ("curl", ["x"])
    assert calls("timeout 10 bash s.sh")[0] == ("bash", ["s.sh"])
    assert calls("command -v curl")[0] == ("command", ["-v", "curl"])


def test_nested_code_is_found() -> None:
    names = {n for n, _ in calls(
        'x=$(curl a); y=`wget b`; diff <(ls) f; bash -c "nc -l 1"; '
        "find . -exec chmod 777 {} +; cat <<EOF | sh\n$(id)\nEOF\n")}
    assert {"curl", "wget", "ls", "nc", "chmod", "id"} <= names


def test_heredoc_body_is_skipped_but_kept() -> None:
    script = parse("cat <<'EOF' > /etc/x\nrm -rf /\nEOF\necho done\n")
    assert [p.commands[0].words[0].value for p in script.pipelines] == ["cat", "echo"]
    r = script.pipelines[0].commands[0].redirects[0]
    assert r.heredoc == "rm -rf /" and r.heredoc_line == 2


def test_compound_commands_keep_inner_commands() -> None:
    text = ("if [[ -n $A && -d $B ]]; then rm x; fi\nfor f in a b; do echo $f; done\n"
            "case $1 in\n  start|go) run;;\n  *) usage ;;\nesac\nf() { inner; }\n")
    names = [n for n, _ in calls(text)]
    assert names == ["[[", "rm", "echo", "run", "usage", "inner"]
    assert parse(text).loop_vars == {"f"}


def test_set_and_array_assignment() -> None:
    cmd = parse("arr=(a b) X=1 env").pipelines[0].commands[0]
    assert [a.value for a in cmd.assignments] == ["arr=(a b)", "X=1"]


@pytest.mark.parametrize("text", [
    "", "'unterminated", '"unterminated $(', "$(((", "<<EOF", "case", "))))", "{ ; } |",
    "$(" * 200 + "x", "`" * 7, "\\", "a=(", "${x", "for", "f() (", "[[ a && ",
])
def test_garbage_never_raises(text: str) -> None:
    ShellIndex(parse(text))


def test_random_input_never_raises() -> None:
    rng = random.Random(7)
    alphabet = "ab $(){}[]<>|&;'\"`\\\n#=*~-/0123456789"
    for _ in range(300):
        ShellIndex(parse("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))))
