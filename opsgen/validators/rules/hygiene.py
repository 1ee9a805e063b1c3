"""OPS113, OPS114: unverified downloads and scripts that keep going after a failure."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from opsgen.findings import Finding, Severity
from opsgen.validators.artifact import Artifact
from opsgen.validators.rule import Rule
from opsgen.validators.shell.calls import INLINE_FLAGS, Call
from opsgen.validators.shell.index import ShellIndex

__all__ = ["MissingStrictMode", "UnverifiedDownload"]

#: names of files that get executed, installed or unpacked
RUNNABLE = re.compile(
    r"\.(sh|bash|run|bin|deb|rpm|apk|tar|tgz|tbz2?|txz|zip|whl|jar|appimage|msi|exe|pkg|py|pl|"
    r"rb|gz|xz|bz2|zst|7z)$", re.I,
)
_CURL_VALUES = frozenset(
    "-o --output -d --data --data-raw --data-binary -H --header -u --user -X --request -A "
    "--user-agent -e --referer -b --cookie -c --cookie-jar -T --upload-file -w --write-out "
    "--connect-timeout -m --max-time --retry -x --proxy -r --range -F --form --cacert --cert "
    "--key -E -K --config --output-dir".split()
)
_WGET_VALUES = frozenset(
    "-O --output-document -P --directory-prefix -o --output-file -a -t --tries -T --timeout "
    "-U --user-agent --header -e --user --password -i --input-file".split()
)
_USERS = frozenset({"dpkg", "rpm", "apt", "apt-get", "yum", "dnf", "zypper", "tar", "unzip",
                    "bsdtar", "7z", "pip", "pip3", "install", "cpio", "source", "."}) | frozenset(
    INLINE_FLAGS)
_UNPACKERS = frozenset({"tar", "unzip", "bsdtar", "cpio", "dpkg", "rpm"})
_VERIFIERS = re.compile(r"(sha(1|224|256|384|512)|md5|b2)sum|shasum|gpgv?|cosign|minisign|"
                        r"slsa-verifier|openssl|rpm")


@dataclass(frozen=True, slots=True)
class _Download:
    call: Call
    path: str

    @property
    def base(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def named_by(self, value: str) -> bool:
        return bool(self.base) and (value == self.path or value.rsplit("/", 1)[-1] == self.base)


def _url_base(words: list[str]) -> str:
    url = next((w for w in words if "://" in w), "")
    return url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] if url else ""


def _download(call: Call) -> _Download | None:
    """The file a curl/wget call saves, if it saves one (not ``-o -``/``-O-``)."""
    if call.name == "curl":
        opts, pos = call.opts(_CURL_VALUES)
        path = opts.get("-o") or opts.get("--output") or ""
        if not path and ("-O" in opts or "--remote-name" in opts):
            path = _url_base([w.value for w in pos])
    elif call.name == "wget":
        opts, pos = call.opts(_WGET_VALUES)
        path = opts.get("-O") or opts.get("--output-document") or _url_base([w.value for w in pos])
    else:
        return None
    return _Download(call, path) if path and path != "-" else None


class UnverifiedDownload(Rule):
    """Verify downloaded programs, packages and archives before using them."""

    code = "OPS113"
    name = "unverified-download"
    severity = Severity.WARNING
    summary = "Verify a checksum or signature before running, installing or unpacking a download."
    hint = ('Pin the expected digest and check it: echo "<sha256>  file" | sha256sum -c -, or '
            "verify a signature with gpg --verify.")
    rationale = (
        "A download is only as trustworthy as the server, the mirror and the network path on "
        "the day the script runs. A pinned checksum makes the script fail instead of "
        "installing whatever it received; the dry-run cannot check this because the sandbox "
        "has no network. Plain data files (text, JSON) are not flagged."
    )
    tags = ("supply-chain",)
    examples_bad = (
        "curl -fsSLo /tmp/install.sh https://example.invalid/install.sh\nbash /tmp/install.sh",
        "wget https://example.invalid/tool-1.2.tar.gz\ntar xzf tool-1.2.tar.gz",
        "curl -L -o /usr/local/bin/tool https://example.invalid/tool\n"
        "chmod +x /usr/local/bin/tool",
        "curl -fsSL https://example.invalid/app.deb -o app.deb && dpkg -i app.deb",
        "curl -fsSL https://example.invalid/src.tgz | tar xz -C /opt",
    )
    examples_good = (
        "curl http://example.com/textfile.txt -o /system/textfile.txt",
        "curl -fsSLo tool.tgz https://example.invalid/tool.tgz\n"
        'echo "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08  tool.tgz" '
        "| sha256sum -c -\ntar xzf tool.tgz",
        "curl -s https://api.example.invalid/v1/status | jq .",
    )

    def check_shell(self, sh: ShellIndex, art: Artifact) -> Iterator[Finding]:
        downloads = [d for d in map(_download, sh.calls) if d is not None]
        if downloads:
            by_name = _calls_by_file_name(sh)
            verified = {b for v in sh.calls if _VERIFIERS.fullmatch(v.name)
                        for b in _verified_names(v)}
            for d in downloads:
                if d.base in verified or "*" in verified:
                    continue
                use = self._use(d, by_name.get(d.base, []))
                if use:
                    yield self.at(art, d.call, f"{d.path} is downloaded and {use} without a "
                                  "checksum or signature check.", path=d.path)
        for group in sh.pipelines():
            unpacked_later = False
            for c in reversed(group):
                if c.name in ("curl", "wget") and unpacked_later:
                    yield self.at(art, c, f"A {c.name} download is unpacked straight from the "
                                  "network, so it cannot be verified.")
                unpacked_later |= c.name in _UNPACKERS

    @staticmethod
    def _use(d: _Download, calls: list[Call]) -> str:
        for call in calls:
            if call is d.call:
                continue
            if call.name_word is not None and d.named_by(call.name_word.value):
                return "run"
            if any(d.named_by(w.value) for w in call.args):
                if call.name in _USERS:
                    return "run, installed or unpacked"
                if call.name == "chmod" and "x" in (call.args[0].value if call.args else ""):
                    return "made executable"
        return "saved as a program or package" if RUNNABLE.search(d.path) else ""


def _calls_by_file_name(sh: ShellIndex) -> dict[str, list[Call]]:
    """Calls indexed by the base names of the words they use (one pass, not one per file)."""
    index: dict[str, list[Call]] = {}
    for call in sh.calls:
        words = [*call.args, *([call.name_word] if call.name_word else [])]
        for base in {w.value.rsplit("/", 1)[-1] for w in words}:
            index.setdefault(base, []).append(call)
    return index


def _verified_names(call: Call) -> set[str]:
    """File names a checksum or signature tool checks ("*" for a checksum list: -c)."""
    values = [w.value for w in call.args]
    if {"-c", "--check", "--verify"} & set(values):
        return {"*"}
    return {v.rsplit("/", 1)[-1] for v in values}


_SET_NAMES = {"errexit": "e", "nounset": "u", "pipefail": "p"}
_POSIX_SH = frozenset({"sh", "dash", "ash"})


class MissingStrictMode(Rule):
    """Start bash scripts with ``set -euo pipefail``."""

    code = "OPS114"
    name = "missing-strict-mode"
    severity = Severity.WARNING
    summary = "Start the script with set -euo pipefail."
    hint = "Add `set -euo pipefail` after the shebang (POSIX sh: `set -eu`)."
    rationale = (
        "Without errexit a failed step is ignored and the next one runs on a broken state "
        "(a failed `cd` followed by `rm -rf *`); without nounset a typo in a variable name "
        "expands to nothing; without pipefail `curl … | tar x` succeeds when the download "
        "failed. One-line commands are not flagged; scripts with a shebang or several "
        "commands are."
    )
    tags = ("robustness",)
    langs = ("bash",)
    examples_bad = (
        "#!/bin/bash\ncd /srv/app\nrm -rf build",
        "#!/bin/bash\nset -e\ncurl -fsS https://x.invalid/a | tar x",
        "apt-get update\napt-get install -y nginx",
    )
    examples_good = (
        "#!/usr/bin/env bash\nset -euo pipefail\ncd /srv/app",
        "#!/bin/bash\nset -o errexit -o nounset -o pipefail\nls",
        "#!/bin/sh\nset -eu\nls",
        "#!/bin/bash -eu\nset -o pipefail\nls",
        "ls -la /tmp | wc -l",
    )

    def check(self, art: Artifact) -> Iterator[Finding]:
        sh = art.shell
        if sh is None:
            return
        first = art.lines[0] if art.lines else ""
        shebang = first.split()[1:] if first.startswith("#!") else []
        interp = (first[2:].split() or [""])[0].rsplit("/", 1)[-1]
        if interp == "env" and shebang:
            interp = shebang.pop(0)
        lines = {c.line for g in sh.groups(sh.root) for c in g}
        if not first.startswith("#!") and len(lines) < 2:
            return
        have = {ch for flag in shebang if flag.startswith("-") for ch in flag[1:]}
        for call in sh.calls:
            if call.name == "set":
                have |= _set_flags([w.value for w in call.args])
        need = {"e", "u"} if interp in _POSIX_SH else {"e", "u", "p"}
        missing = [m for m in "eup" if m in need - have]
        if missing:
            names = {"e": "errexit", "u": "nounset", "p": "pipefail"}
            yield self.finding(art, 1, 1, f"Start the script with set -euo pipefail (missing: "
                               f"{', '.join(names[m] for m in missing)}).")


def _set_flags(values: list[str]) -> set[str]:
    have: set[str] = set()
    for i, v in enumerate(values):
        if v.startswith("-") and not v.startswith("--"):
            have |= set(v[1:]) - {"o"}
            if "o" in v and i + 1 < len(values):
                have |= {_SET_NAMES.get(values[i + 1], "")}
    return have - {""}
