"""Code blocks to commands: prompts, output, heredocs, continuations, other languages."""

from __future__ import annotations

from opsgen.runbook.models import CodeBlock
from opsgen.runbook.snippets import from_block


def block(text: str, info: str = "", start: int = 10) -> CodeBlock:
    return CodeBlock(text, info, start, start + text.count("\n") - 1)


def test_prompt_block_keeps_commands_and_leaves_out_output():
    snip = from_block(block(
        "$ ps -ef | grep defunct\nroot 2735 1 0 Jun08 ? 00:02:09 [prometheus] <defunct>\n", "bash"
    ))  # fmt: skip
    assert [(c.text, c.line_start) for c in snip.commands] == [("ps -ef | grep defunct", 10)]
    assert snip.left_out == ((11, "output shown in the runbook"),)


def test_user_at_host_prompts_root_prompts_and_comments():
    snip = from_block(block(
        "user@aptly:~$ sudo su - aptly\n# If the package exists, remove it\n"
        "aptly@aptly:~$ aptly repo show gitlab-utils\nName: gitlab-utils\n"
        "$ oc debug node/x\n# lsof -n\n"
    ))  # fmt: skip
    assert [line.kind for line in snip.lines] == [
        "command", "comment", "command", "command", "command"
    ]  # fmt: skip
    assert snip.lines[1].text == "If the package exists, remove it"
    assert snip.lines[4].text == "lsof -n"  # a root prompt after a debug shell
    assert [n for n, _ in snip.left_out] == [13]


def test_untagged_block_guesses_per_line_and_reports_the_rest():
    snip = from_block(block("sudo lsblk\nNAME MAJ:MIN RM SIZE\nsda 8:0 0 100G 0 disk\n"))
    assert [c.text for c in snip.commands] == ["sudo lsblk"]
    assert [n for n, why in snip.left_out if why == "not a command"] == [11, 12]


def test_continuation_and_heredoc_make_one_command():
    snip = from_block(block(
        "cp -a /a \\\n  /b\ncat > /etc/x <<'EOF'\nnot a command\nEOF\necho done\n", "bash"
    ))  # fmt: skip
    assert [(c.line_start, c.line_end) for c in snip.commands] == [(10, 11), (12, 14), (15, 15)]
    assert snip.commands[1].text.endswith("not a command\nEOF")


def test_other_languages_and_unclosed_fences_never_run():
    promql = from_block(block("node_filesystem_free_bytes\n", "promql"))
    assert (promql.runnable, promql.reason) == (False, "a promql block, not shell")
    unclosed = from_block(CodeBlock("rm -rf /\n", "bash", 3, 9, closed=False))
    assert not unclosed.runnable and not unclosed.lines
