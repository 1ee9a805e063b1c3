"""OPS103, OPS105, OPS110: permissions and accounts that open a host up (ADV-24)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from opsgen.findings import Finding, Severity
from opsgen.validators.artifact import Artifact
from opsgen.validators.modes import Mode, parse_mode
from opsgen.validators.rule import Rule
from opsgen.validators.shell.calls import Call
from opsgen.validators.shell.index import ShellIndex
from opsgen.validators.shell.writes import write_targets, written_text

__all__ = ["SetuidBit", "UidZeroUser", "WorldWritable"]

_MODE_OPTS = {"mkdir": ("-m", "--mode"), "install": ("-m", "--mode"), "mkfifo": ("-m", "--mode")}
_UID0_LINE = re.compile(r"^[^:\s#]+:[^:\n]*:0+:", re.M)
_USER_TOOLS = frozenset({"useradd", "adduser", "usermod", "luseradd", "lusermod"})
_USER_VALUE_OPTS = frozenset(
    "-u --uid -g --gid -G --groups -d --home -s --shell -c --comment -e --expiredate -f "
    "--inactive -k --skel -K --key -p --password -R --root -P --prefix -Z --selinux-user "
    "-l --login --home-dir --ingroup --gecos".split()
)


def _modes(call: Call) -> Iterator[tuple[str, Mode]]:
    """Every mode ``call`` sets: chmod's mode, ``mkdir -m``/``install -m``."""
    if call.name == "chmod":
        opts, pos = call.opts(frozenset({"--reference"}))
        if "--reference" not in opts and pos:
            yield pos[0].value, parse_mode(pos[0].value)
        elif not pos and call.args:  # "chmod -w x": the mode looks like an option
            yield call.args[0].value, parse_mode(call.args[0].value.lstrip("-"))
    elif call.name in _MODE_OPTS:
        opts, _ = call.opts(frozenset(_MODE_OPTS[call.name]))
        value = next((opts[o] for o in _MODE_OPTS[call.name] if o in opts), "")
        if value:
            yield value, parse_mode(value)


class WorldWritable(Rule):
    """Do not make files or folders writable by every user."""

    code = "OPS103"
    name = "world-writable"
    severity = Severity.ERROR
    summary = "Do not make files or folders writable by every user (chmod 777, o+w, umask 000)."
    hint = "Grant write access to the owning user or group only (e.g. 0755 / 0640, or g+w)."
    rationale = (
        "Any local user or compromised service can then replace a config, a binary or a "
        "script that root later runs, which turns a small foothold into root. `chmod -R 777` "
        "on a system folder is a common generated 'fix' for permission errors and the classic "
        "way to break a host's security. Sticky folders like `/tmp` (mode 1777) are not flagged."
    )
    tags = ("permissions", "security")
    examples_bad = (
        "chmod 777 /etc/nginx",
        "chmod -R 777 /var/www",
        "chmod a+w /usr/local/bin/tool",
        "chmod o+w deploy.sh",
        "mkdir -m 0777 /srv/shared",
        "install -m 666 app.conf /etc/app.conf",
        "find /srv -type d -exec chmod 777 {} +",
        "umask 000",
    )
    examples_good = (
        "chmod 755 /usr/local/bin/tool",
        "chmod 1777 /srv/scratch",
        "chmod u+x deploy.sh",
        "chmod g+w /srv/shared",
        "find /workspace -perm 777 -type f -exec ls -l {} \\;",
        "umask 022",
    )

    def check_shell(self, sh: ShellIndex, art: Artifact) -> Iterator[Finding]:
        for call in sh.calls:
            for text, mode in _modes(call):
                if mode.world_writable:
                    yield self.at(art, call, f"Mode {text} makes the target writable by every "
                                  "user.", mode=text)
            if call.name == "umask" and call.args:
                v = call.args[-1].value
                if re.fullmatch(r"0*[0-7]{0,3}", v) and not int(v or "0", 8) & 0o002:
                    yield self.at(art, call, f"umask {v} makes every new file world-writable.")


class SetuidBit(Rule):
    """Do not set the setuid bit."""

    code = "OPS110"
    name = "setuid-bit"
    severity = Severity.ERROR
    summary = "Do not set the setuid bit on files."
    hint = "Use sudo rules or Linux capabilities (setcap) scoped to the one operation needed."
    rationale = (
        "A setuid-root program runs as root for whoever starts it; a setuid copy of a shell or "
        "interpreter is a permanent root backdoor (`chmod 4755 /tmp/.sh`). Setgid alone "
        "(`g+s` on shared folders) is common and not flagged."
    )
    tags = ("permissions", "persistence", "security")
    examples_bad = (
        "chmod 4755 /usr/local/bin/helper",
        "chmod u+s /bin/bash",
        "chmod +s /tmp/.x",
        "install -m 6755 helper /usr/local/bin/helper",
    )
    examples_good = ("chmod 2775 /srv/shared", "chmod g+s /srv/shared", "chmod u-s /usr/bin/at")

    def check_shell(self, sh: ShellIndex, art: Artifact) -> Iterator[Finding]:
        for call in sh.calls:
            for text, mode in _modes(call):
                if mode.setuid:
                    yield self.at(art, call, f"Mode {text} sets the setuid bit.", mode=text)


class UidZeroUser(Rule):
    """Do not create or change users to uid 0."""

    code = "OPS105"
    name = "uid-zero-user"
    severity = Severity.ERROR
    summary = "Do not create users with uid 0 (a second root account)."
    hint = "Create an unprivileged user and grant the specific rights it needs through sudo."
    rationale = (
        "Every account with uid 0 is root, whatever its name: `useradd -o -u 0 support` or a "
        "`x:x:0:0:` line appended to /etc/passwd is a classic backdoor that survives password "
        "changes to the real root account and is easy to overlook in /etc/passwd."
    )
    tags = ("accounts", "persistence", "security")
    examples_bad = (
        "useradd -o -u 0 -g 0 support",
        "usermod -o -u0 backup",
        "adduser --uid 0 admin2",
        "echo 'svc:x:0:0::/root:/bin/bash' >> /etc/passwd",
        "printf 'svc::0:0::/:/bin/sh\\n' | tee -a /etc/passwd",
    )
    examples_good = (
        "useradd -r -u 990 -s /usr/sbin/nologin app",
        "usermod -aG docker deploy",
        "echo 'app:x:990:990::/srv/app:/usr/sbin/nologin' >> /etc/passwd",
    )

    def check_shell(self, sh: ShellIndex, art: Artifact) -> Iterator[Finding]:
        for call in sh.calls:
            if call.name in _USER_TOOLS:
                opts, _ = call.opts(_USER_VALUE_OPTS)
                uid = opts.get("-u", opts.get("--uid", ""))
                if uid.isdigit() and int(uid) == 0:
                    yield self.at(art, call, f"{call.name} gives an account uid 0 (root).")
        for group in sh.pipelines():
            # printf 'x::0:0..' | tee -a /etc/passwd: the text may come from an earlier stage
            writers = [i for i, c in enumerate(group) if "/etc/passwd" in write_targets(c)]
            if writers and _UID0_LINE.search(
                "\n".join(written_text(c) for c in group[: writers[-1] + 1])
            ):
                yield self.at(art, group[writers[0]], "This adds a uid 0 account to /etc/passwd.")
