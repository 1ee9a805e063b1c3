"""OPS107, OPS108, OPS109: commands that destroy a system in one line."""

from __future__ import annotations

import re
from collections.abc import Iterator

from opsgen.findings import Finding, Severity
from opsgen.validators.artifact import Artifact
from opsgen.validators.rule import Rule
from opsgen.validators.shell.calls import Call
from opsgen.validators.shell.index import ShellIndex
from opsgen.validators.shell.model import Word
from opsgen.validators.shell.writes import write_targets

__all__ = ["SYSTEM_DIRS", "DangerousRm", "ForkBomb", "RawDiskWrite"]

SYSTEM_DIRS = frozenset(
    "/ /bin /boot /dev /etc /home /lib /lib32 /lib64 /libx32 /media /mnt /opt /proc /root "
    "/run /sbin /srv /sys /usr /var /usr/bin /usr/lib /usr/local /usr/sbin /usr/share "
    # Shared scratch and state folders: "prune /var/tmp" must never become rm -rf /var/tmp.
    "/var/lib /tmp /var/tmp /var/log /var/cache /var/spool /var/mail /var/backups".split()
)
_ALWAYS_BAD = frozenset({"*", ".*", ".", "..", "./*", "../*", "~", "~/*", "~/.*", "/*", "/.*",
                         "$HOME", "${HOME}", "$HOME/*", "${HOME}/*"})
_LEADING_VAR = re.compile(
    r"\$(?:\{(?P<b>[A-Za-z_]\w*|\d+|[@*])(?P<op>[^}]*)\}|(?P<n>[A-Za-z_]\w*|\d|[@*]))(?P<rest>.*)",
    re.S,
)
_GUARD_OPS = (":?", ":-", ":=", "?", "-", "=")


class DangerousRm(Rule):
    """Do not rm -r the root, home, cwd, a system folder or an unchecked variable path."""

    code = "OPS107"
    name = "dangerous-rm"
    severity = Severity.ERROR
    summary = "Do not rm -r /, ~, *, a system folder, or a path built from an unchecked variable."
    hint = ("Delete exactly what must go: to clean a folder, delete old entries inside it "
            "(`find DIR -mindepth 1 -mtime +7 -delete`), never the folder itself; guard a "
            'variable path with "${DIR:?}" so an empty value stops the script instead of '
            "deleting from /.")
    rationale = (
        "`rm -rf \"$DIR\"/*` with an empty or unset `DIR` becomes `rm -rf /*` (Steam for Linux "
        "shipped exactly this bug in 2015). A bare `*` or `.` deletes whatever the current "
        "folder happens to be, and system folders cannot be recovered without a backup."
    )
    exceptions = "A variable that is checked before use (`: \"${DIR:?}\"`) is not flagged."
    tags = ("destructive",)
    examples_bad = (
        "rm -rf /",
        "rm -rf --no-preserve-root /",
        "sudo rm -fr /*",
        "rm -rf ~",
        "rm -r *",
        'rm -rf "$LOGDIR"/*',
        "rm -rf $TMP_DIR/cache",
        'rm -rf "${BUILD}/"',
        "while read -r d; do rm -rf \"$d\"/old; done < dirs.txt",
        "rm -rf /etc",
        "rm -rf /usr/lib/",
        'rm -rf "$1/"*',
    )
    examples_good = (
        "rm -rf /var/tmp/build",
        'rm -rf "${LOGDIR:?}"/*',
        'LOGDIR=/var/log/app\nrm -rf "$LOGDIR"/*.gz',
        'TMP=$(mktemp -d)\nrm -rf "$TMP"/*',
        'for d in /tmp/a /tmp/b; do rm -rf "$d"/*; done',
        '[ -n "$DIR" ] || exit 1\nrm -rf "$DIR"/cache',
        "rm -f /tmp/*.log",
        "yes y | rm -r /system/*.txt",
        'rm -rf "$DIR"',
        'rm -rf "$HOME/.cache/pip"',
    )

    def check_shell(self, sh: ShellIndex, art: Artifact) -> Iterator[Finding]:
        safe: set[str] | None = None
        for call in sh.calls:
            if call.name != "rm":
                continue
            opts, targets = call.opts()
            if not ({"-r", "-R", "--recursive"} & opts.keys()):
                continue
            if "--no-preserve-root" in opts:
                yield self.at(art, call, "rm --no-preserve-root removes the root file system.")
                continue
            if safe is None:
                safe = _safe_vars(sh)
            for word in targets:
                why = _danger(word, safe)
                if why:
                    yield self.at(art, word, f"rm -r {why}.", target=word.value)


def _danger(word: Word, safe: set[str]) -> str:
    v = re.sub(r"/{2,}", "/", word.value)
    if not v:
        return ""
    if v in _ALWAYS_BAD:
        return f"of {v} deletes far more than intended"
    stripped = v.rstrip("/") or "/"
    if stripped in SYSTEM_DIRS or (v.endswith("/*") and v[:-2] in SYSTEM_DIRS):
        folder = v[:-2] if v.endswith("/*") else stripped
        return (
            f"of the system folder {stripped}; to clean it, delete old entries inside it, "
            f"e.g. `find {folder} -mindepth 1 -mtime +7 -delete`"
        )
    m = _LEADING_VAR.fullmatch(v)
    if m and m.group("rest").startswith("/"):
        var = m.group("b") or m.group("n") or ""
        op = m.group("op") or ""
        if var not in safe and not op.startswith(_GUARD_OPS):
            return f"of {v}: if ${var} is empty this deletes from /"
    return ""


def _safe_vars(sh: ShellIndex) -> set[str]:
    """Variables known to be non-empty: literal assignments, mktemp, loop vars, checked ones."""
    safe = set(sh.loop_vars) | {"HOME", "PWD"}
    for call in sh.calls:
        words = list(call.cmd.assignments)
        if call.name in ("local", "export", "declare", "readonly", "typeset"):
            words.extend(w for w in call.args if "=" in w.value)
        for w in words:
            name, _, value = w.value.partition("=")
            literal = value and "$" not in value and "`" not in value
            if literal or "mktemp" in value or ":?" in value or ":-" in value:
                safe.add(name.rstrip("+"))
    for m in re.finditer(r"\$\{(\w+):?\?|-[nzd]\s+\"?\$\{?(\w+)", sh.source):
        safe.add(m.group(1) or m.group(2))
    return safe


#: block devices: disks, partitions, RAID, device-mapper and LVM volumes, loop, floppy
_BLOCK_DEV = re.compile(
    r"/dev/((s|h|v|xv)d[a-z]+\d*|nvme\d+n\d+(p\d+)?|mmcblk\d+(p\d+)?|md\d+|dm-\d+|loop\d+|"
    r"fd\d+|sr\d+|nbd\d+|zram\d+|mapper/.+|disk/.+|"
    r"(?!(pts|pty|fd|shm|tcp|udp|net|input|snd|bus|char|cpu|dri|hugepages|mqueue)/)[\w.-]+/[\w.-]+)"
)
_WIPERS = frozenset({"mkfs", "mke2fs", "mkswap", "mkdosfs", "mkntfs", "wipefs", "blkdiscard",
                     "sfdisk"})


class RawDiskWrite(Rule):
    """Do not format, wipe or write raw block devices."""

    code = "OPS108"
    name = "raw-disk-write"
    severity = Severity.ERROR
    summary = "Do not format, wipe or write to raw disk devices."
    hint = "Work on files and mounted file systems; leave disk layout to provisioning tools."
    rationale = (
        "`dd of=/dev/sda`, `mkfs`, `wipefs` or a redirect into `/dev/nvme0n1` destroy a whole "
        "disk at once, and the device name a script guesses is not always the disk the "
        "operator thinks of. The sandbox has no real disks, so a dry-run cannot show the damage."
    )
    tags = ("destructive",)
    examples_bad = (
        "dd if=/dev/zero of=/dev/sda bs=1M",
        "mkfs.ext4 /dev/sdb1",
        "wipefs -a /dev/nvme0n1",
        "cat image.iso > /dev/sdc",
        "shred -n 3 /dev/sda",
        "sgdisk --zap-all /dev/sdb",
        "parted -s /dev/sdb mklabel gpt",
    )
    examples_good = (
        "dd if=/dev/zero of=/tmp/swapfile bs=1M count=64",
        "cmd > /dev/null 2>&1",
        "dd if=/dev/urandom of=/dev/stdout bs=16 count=1 | base64",
        "lsblk /dev/sda",
        "shred -u /tmp/secret.txt",
        "parted -s /dev/sdb print",
    )

    def check_shell(self, sh: ShellIndex, art: Artifact) -> Iterator[Finding]:
        for call in sh.calls:
            why = _disk_action(call)
            if why:
                yield self.at(art, call, why)


def _disk_action(call: Call) -> str:
    base = call.name.split(".", 1)[0]
    values = [w.value for w in call.args]
    devices = [v for v in values if _BLOCK_DEV.fullmatch(v)]
    if base in _WIPERS:
        return f"{call.name} erases or formats a disk."
    if call.name == "sgdisk" and {"-Z", "--zap-all", "-o", "--clear"} & set(values):
        return "sgdisk wipes the partition table."
    if call.name == "parted" and {"mklabel", "rm", "mkpart", "resizepart"} & set(values):
        return "parted rewrites the partition table."
    if call.name in ("shred", "cryptsetup") and devices:
        return f"{call.name} destroys the data on {devices[0]}."
    for target in write_targets(call):
        if _BLOCK_DEV.fullmatch(target):
            return f"This writes raw data to the device {target}."
    return ""


_BOMBS = (
    re.compile(r"([\w:.\-]+)\s*\(\s*\)\s*\{\s*\1\s*\|\s*\1\s*&"),
    re.compile(r"function\s+([\w:.\-]+)\s*(?:\(\s*\))?\s*\{\s*\1\s*\|\s*\1\s*&"),
    re.compile(r"\$0\s*\|\s*\$0\s*&"),
    re.compile(r"\bfork\s+while\s+fork\b"),
    re.compile(r"while\s+(?:True|1)\s*:\s*os\.fork\(\)"),
)


class ForkBomb(Rule):
    """Do not define a function that pipes itself into itself in the background."""

    code = "OPS109"
    name = "fork-bomb"
    severity = Severity.ERROR
    summary = "Do not write fork bombs."
    hint = "Remove the self-replicating function; it has no legitimate use in automation."
    rationale = (
        "`:(){ :|:& };:` and its renamed variants spawn processes until the process table is "
        "full and the host stops responding. The sandbox caps processes (OPS407), but a "
        "fork bomb in a reviewed script is sabotage or a badly broken generation."
    )
    tags = ("destructive",)
    examples_bad = (
        ":(){ :|:& };:",
        "bomb() { bomb | bomb & }; bomb",
        "function boom { boom|boom& }\nboom",
        "perl -e 'fork while fork'",
        "python3 -c 'import os\nwhile True: os.fork()'",
    )
    examples_good = (
        "worker() { echo working; }\nworker &\nwait",
        "f() { g | h & }",
    )

    def check_shell(self, sh: ShellIndex, art: Artifact) -> Iterator[Finding]:
        for pattern in _BOMBS:
            for m in pattern.finditer(sh.source):
                line = sh.line_base + sh.source.count("\n", 0, m.start())
                yield self.finding(art, line, 0)
                return
