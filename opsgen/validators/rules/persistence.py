"""OPS104, OPS111: ways a script makes itself (or someone) come back later (ADV-24)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from opsgen.findings import Finding, Severity
from opsgen.validators.artifact import Artifact
from opsgen.validators.rule import Rule
from opsgen.validators.shell.index import ShellIndex
from opsgen.validators.shell.writes import write_targets

__all__ = ["CRON_PATH", "AuthorizedKeys", "CronPersistence"]

#: cron's own folders and files
CRON_PATH = re.compile(r"/etc/cron(tab\b|\.d/|\.(hourly|daily|weekly|monthly)/)|/var/spool/cron")


class AuthorizedKeys(Rule):
    """Do not add SSH keys to authorized_keys."""

    code = "OPS104"
    name = "authorized-keys"
    severity = Severity.ERROR
    summary = "Do not add SSH keys to authorized_keys from a generated script."
    hint = ("Manage SSH access through your identity or configuration management process; if "
            "this key is intended, suppress with a reason naming its owner.")
    rationale = (
        "A line appended to `authorized_keys` grants whoever holds the private key a login "
        "that survives password changes, reboots and the removal of the script. It is the "
        "most common persistence step in real intrusions, and easy to miss in a long script."
    )
    exceptions = "Deliberate key rollouts: suppress with a reason that names the key's owner."
    tags = ("persistence", "security")
    examples_bad = (
        "echo 'ssh-ed25519 AAAAC3Nza... op@laptop' >> /root/.ssh/authorized_keys",
        "cat key.pub | tee -a ~/.ssh/authorized_keys",
        "cp /tmp/keys /home/deploy/.ssh/authorized_keys",
        "ssh-copy-id -i key.pub root@db1",
        "sed -i '$a ssh-rsa AAAA... x' /root/.ssh/authorized_keys",
    )
    examples_good = (
        "chmod 600 ~/.ssh/authorized_keys",
        "wc -l ~/.ssh/authorized_keys",
        "ssh-keygen -t ed25519 -f ~/.ssh/id_ed25519 -N ''",
    )

    def check_shell(self, sh: ShellIndex, art: Artifact) -> Iterator[Finding]:
        for call in sh.calls:
            if call.name in ("ssh-copy-id", "ssh-import-id"):
                yield self.at(art, call, f"{call.name} installs a key into authorized_keys.")
            elif any("authorized_keys" in t for t in write_targets(call)):
                yield self.at(art, call, "This writes an SSH key into authorized_keys.")


class CronPersistence(Rule):
    """Flag new cron jobs: they run later, unattended, outside the reviewed run."""

    code = "OPS111"
    name = "cron-persistence"
    severity = Severity.WARNING
    summary = "Review new cron jobs: they keep running after the script is gone."
    hint = ("Prefer a systemd timer or your configuration management; if the job is intended, "
            "suppress with a reason saying what it is for.")
    rationale = (
        "A cron entry keeps running code long after the reviewed script finished; attackers use "
        "it to come back, and a generated one that was not asked for is a red flag. It is also "
        "a normal ops task, so this is a warning to look at, not an error."
    )
    exceptions = "Requested jobs (a nightly backup): suppress with a reason."
    tags = ("persistence",)
    examples_bad = (
        "echo '*/5 * * * * root /opt/x.sh' > /etc/cron.d/x",
        "(crontab -l; echo '@reboot /tmp/.x') | crontab -",
        "cp job /etc/cron.daily/job",
        "echo '0 3 * * * /usr/bin/backup' >> /var/spool/cron/crontabs/root",
        "crontab /tmp/jobs.txt",
    )
    examples_good = ("crontab -l", "ls /etc/cron.d", "crontab -r", "cat /etc/crontab")

    def check_shell(self, sh: ShellIndex, art: Artifact) -> Iterator[Finding]:
        for call in sh.calls:
            if call.name == "crontab":
                opts, _ = call.opts(frozenset({"-u"}))
                if not ({"-l", "-r", "-e", "-i"} & opts.keys()):
                    yield self.at(art, call, "crontab installs a new cron table.")
            elif any(CRON_PATH.search(t) for t in write_targets(call)):
                yield self.at(art, call, "This writes a cron job.")
