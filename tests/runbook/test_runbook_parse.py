"""Parsing: steps, code blocks and inline commands with their source lines, on real runbooks.

The expected numbers were read by hand from the files in ../shared/bench/runbooks.
"""

from __future__ import annotations

from pathlib import Path

from opsgen.runbook import parse_runbook, read_runbook

RENAME = "gitlab-com-runbooks/docs/uncategorized/rename-nodes.md"
CHECK = "govuk-developer-docs/source/manual/alerts/check-process-running.html.md"
APTLY = "gitlab-com-runbooks/docs/uncategorized/aptly.md"


def test_every_corpus_runbook_parses_with_the_manifest_code_block_count(corpus, manifest):
    for entry in manifest:
        text = read_runbook(corpus / entry["file"])
        runbook = parse_runbook(text, entry["file"])
        lines = len(text.splitlines())
        assert runbook.steps, entry["file"]
        assert sum(len(s.code_blocks) for s in runbook.steps) == entry["code_blocks"]
        previous = 0
        for number, step in enumerate(runbook.steps, start=1):
            assert step.number == number
            assert previous <= step.line_start <= step.line_end <= lines
            previous = step.line_start
            for block in step.code_blocks:
                assert step.line_start <= block.line_start <= block.line_end <= step.line_end


def test_rename_nodes_numbered_steps_and_the_fence_that_breaks_the_list(load):
    runbook = load(RENAME)
    assert runbook.title == "Renaming Nodes"
    assert len(runbook.steps) == 16
    first = runbook.steps[1]
    assert (first.kind, first.heading, first.line_start) == ("ordered", "Steps to Rename", 7)
    assert [c.text for c in first.inline_commands] == ["knife node delete example.gitlab.com"]
    assert first.inline_commands[0].line == 7
    # "1. Bootstrap the node with Chef." then a fence at column 0 (lines 13-15): CommonMark
    # ends the list there, but the block belongs to the item, and keeps its own lines.
    bootstrap = runbook.steps[6]
    assert bootstrap.text == "Bootstrap the node with Chef."
    assert (bootstrap.line_start, bootstrap.line_end) == (12, 15)
    (block,) = bootstrap.code_blocks
    assert (block.line_start, block.line_end, block.info) == (14, 14, "")
    assert block.text.startswith("knife bootstrap 12.34.56.78")
    assert not runbook.steps[2].has_commands  # "Remove /etc/chef/client.pem from the node."


def test_front_matter_gives_the_title_and_no_setext_heading(load):
    runbook = load(CHECK)
    assert runbook.title == "Check process running"
    assert runbook.steps[0].heading == ""  # the closing --- did not make a heading
    restart = runbook.steps[3]
    assert restart.heading == "Restarting the service"
    assert (restart.line_start, restart.line_end) == (31, 51)
    assert [(b.info, b.line_start) for b in restart.code_blocks] == [
        ("bash", 34),
        ("bash", 40),
        ("bash", 46),
    ]
    assert [(c.text, c.line) for c in restart.inline_commands] == [
        ("cd /data/vhost/{SERVICE NAME}/", 50)
    ]


def test_mentions_and_glossary_items_are_not_commands(load):
    disk = load("govuk-developer-docs/source/manual/alerts/low-available-disk-space.html.md")
    inline = [c.text for s in disk.steps for c in s.inline_commands]
    assert "find -type d" not in inline  # "`find -type d` - find all directories": glossary
    assert "sudo du -hc --max-depth=1 <mountpoint>" in inline
    inodes = load("govuk-developer-docs/source/manual/alerts/low-available-disk-inodes.html.md")
    spans = [c.text for s in inodes.steps for c in s.inline_commands]
    assert "df -i" not in spans  # "if the `df -i` command identified": a mention
    assert "find /" not in spans  # "Change the `find /` to ...": describes an edit


def test_unclosed_fence_is_kept_but_marked_and_warned(tmp_path: Path):
    text = "# T\n\nRun `sudo service x status`.\n\n```bash\nsudo service x restart\nprose\n"
    runbook = parse_runbook(text, "t.md")
    (block,) = runbook.steps[-1].code_blocks
    assert block.closed is False
    assert runbook.warnings == (
        "line 5: a code fence is never closed, so lines 6-7 were read as code; they are not"
        " converted",
    )


def test_blockquote_inline_code_is_a_quotation_not_an_instruction():
    runbook = parse_runbook("> run `sudo rm -rf /srv` to fix it\n\nok\n", "q.md")
    assert all(not s.inline_commands for s in runbook.steps)
