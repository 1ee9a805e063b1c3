"""The checks read from a request's words, run for real: a right script passes each (and
none held before it), a script that does something else fails the one it got wrong.

A check command that is wrong itself would turn right scripts red, so every rule's command
runs here in the sandbox against a right and a wrong script.
"""

from __future__ import annotations

from typing import Any

import pytest

from opsgen.flow.derive import derive_scenario
from opsgen.sandbox import DryRunOptions, DryRunReport, dryrun

pytestmark = pytest.mark.docker

CASES = [
    (
        "Create a system user metrics with its home in /srv/metrics, login shell "
        "/usr/sbin/nologin, in the adm group.",
        "useradd --system -d /srv/metrics -m -s /usr/sbin/nologin -G adm metrics\n",
        "useradd --create-home -s /usr/sbin/nologin -G adm metrics\n",
        {"home of metrics is /srv/metrics", "metrics is a system user (uid below 1000)"},
    ),
    (
        "Create the directory /srv/reports owned by daemon:adm with mode 0750.",
        "install -d -o daemon -g adm -m 0750 /srv/reports\n",
        "mkdir -p /srv/reports && chmod 0755 /srv/reports\n",
        {"/srv/reports has mode 0750", "/srv/reports is owned by daemon",
         "/srv/reports has group adm"},
    ),
    (
        "Create the group auditors with GID 3100. Set net.ipv4.ip_forward to 1 permanently.",
        "groupadd -g 3100 auditors\necho 'net.ipv4.ip_forward=1' > /etc/sysctl.d/90-fw.conf\n",
        "groupadd auditors\necho 'net.ipv4.ip_forward = 0' >> /etc/sysctl.conf\n",
        {"group auditors has GID 3100", "net.ipv4.ip_forward = 1 is set persistently"},
    ),
    (
        "Add a cron job in /etc/cron.d/backup that runs /usr/local/bin/backup daily at 02:30 "
        "as root.",
        "printf '30 2 * * * root /usr/local/bin/backup\\n' > /etc/cron.d/backup\n",
        "printf '0 2 * * * root /usr/local/bin/backup\\n' > /etc/cron.d/backup\n",
        {"a cron line daily at 02:30 (`30 2 * * *`) as root running /usr/local/bin/backup in "
         "/etc/cron.d/backup"},
    ),
    (
        "Hold the logrotate package at its current version so that apt upgrades skip it.",
        "apt-mark hold logrotate\n",
        "apt-mark hold cron\n",
        {"package logrotate is held"},
    ),
    (
        "We need a shared area: create the directory /srv/reports owned by root with group "
        "adm, mode 2775 (setgid).",
        "install -d -o root -g adm -m 2775 /srv/reports\n",
        "install -d -o root -g adm /srv/reports\nchmod g+s /srv/reports\n",
        {"/srv/reports has mode 2775"},
    ),
    (
        'Make /etc/motd contain exactly one line, "Authorized access only".',
        "echo 'Authorized access only' > /etc/motd\n",
        "echo 'Authorized access only' >> /etc/motd\n",
        {"/etc/motd holds exactly the line 'Authorized access only'"},
    ),
    (
        "alice already has an account on this box. Add her to the sudo group; she keeps "
        "her other groups.",
        "usermod -aG sudo alice\n",
        "usermod -G sudo alice && usermod -G adm alice\n",
        {"alice is in the group sudo"},
    ),
    (
        "Disable logins for the account olduser: lock its password and set its shell to "
        "/usr/sbin/nologin.",
        "if id -u olduser >/dev/null 2>&1; then passwd -l olduser\n"
        "  usermod -s /usr/sbin/nologin olduser; fi\n",
        "passwd -l olduser\n",
        {"login shell of olduser is /usr/sbin/nologin"},
    ),
    (
        "Schedule /opt/reports/send.sh with cron as user reports at 07:45 Monday through "
        "Friday, in /etc/cron.d/send-reports.",
        "printf '45 7 * * 1-5 reports /opt/reports/send.sh\\n' > /etc/cron.d/send-reports\n",
        "printf '45 7 * * * reports /opt/reports/send.sh\\n' > /etc/cron.d/send-reports\n",
        {"a cron line at 07:45 Monday to Friday (`45 7 * * 1-5`) as reports running /opt/reports/send.sh in "
         "/etc/cron.d/send-reports"},
    ),
    (
        "Run /opt/monitor/check.sh from cron every 15 minutes as the monitor user.",
        "useradd monitor; echo '*/15 * * * * /opt/monitor/check.sh' | crontab -u monitor -\n",
        "useradd monitor; echo '15 * * * * /opt/monitor/check.sh' | crontab -u monitor -\n",
        {"a cron line every 15 minutes (`*/15 * * * *`) as monitor running /opt/monitor/check.sh in a crontab"},
    ),
    (
        "Switch the /opt/app/current symlink from the 2024-05-20 release to "
        "/opt/app/releases/2024-06-01.",
        "ln -sfn /opt/app/releases/2024-06-01 /opt/app/current\n",
        "rm -rf /opt/app/releases/2024-05-20\n"
        "ln -sfn /opt/app/releases/2024-06-01 /opt/app/current\n",  # a rollback needs it
        {"the previous release /opt/app/releases/2024-05-20 is still there"},
    ),
    (
        "Switch the /opt/app/current symlink to the release /opt/app/releases/2.0.",
        "ln -sfn /opt/app/releases/2.0 /opt/app/current\n",
        "ln -sf /opt/app/releases/2.0 /opt/app/current\n",  # lands inside the old release
        {"/opt/app/current is a symlink to /opt/app/releases/2.0"},
    ),
    (
        "In /etc/default/myworker, set WORKERS=8 (exactly one WORKERS line). Keep the other "
        "variables in that file.",
        "f=/etc/default/myworker; sed -i '/^WORKERS=/d' \"$f\"; echo WORKERS=8 >> \"$f\"\n",
        "echo 'WORKERS=8' > /etc/default/myworker\n",
        {"the other lines of /etc/default/myworker stay"},
    ),
    (
        "Create /etc/systemd/system/worker.service that runs /usr/local/bin/worker as user "
        "nobody, restarts it on failure, wanted by multi-user.target.",
        "printf '[Service]\\nExecStart=/usr/local/bin/worker\\nUser=nobody\\n"
        "Restart=on-failure\\n[Install]\\nWantedBy=multi-user.target\\n' "
        "> /etc/systemd/system/worker.service\n",
        "printf '[Service]\\nExecStart=/usr/local/bin/worker\\nRestart=on-failure\\n"
        "[Install]\\nWantedBy=multi-user.target\\n' > /etc/systemd/system/worker.service\n",
        {"/etc/systemd/system/worker.service runs as nobody"},
    ),
    (
        "Set PasswordAuthentication to no in /etc/ssh/sshd_config (it says yes at the "
        "moment). Change the existing setting rather than appending a new line.",
        "sed -i 's/^PasswordAuthentication .*/PasswordAuthentication no/' /etc/ssh/sshd_config\n",
        "echo 'PasswordAuthentication no' >> /etc/ssh/sshd_config\n",
        {"/etc/ssh/sshd_config has one PasswordAuthentication line"},
    ),
    (
        "Delete the files in /var/backups/db that are older than 14 days.",
        "find /var/backups/db -type f -mtime +14 -delete\n",
        "find /var/backups/db -type f -name '*.sql.gz' -mtime +14 -delete\n",
        {"a file older than 14 days in /var/backups/db is deleted"},
    ),
    (
        "gzip every .log file directly in /var/log/app that is bigger than 10 MB.",
        "find /var/log/app -maxdepth 1 -type f -name '*.log' -size +10M -exec gzip {} +\n",
        "gzip /var/log/app/*.log\n",
        {"a file not bigger than 10 MB in /var/log/app is still there"},
    ),
    (
        "Take mallory out of the sudo group. She keeps her other group memberships.",
        "gpasswd -d mallory sudo\n",
        "usermod -G '' mallory\n",
        {"mallory is still in the group opsgenkeep"},
    ),
    (
        "Lock down /etc/myapp/secret.key: owner root, group myapp, mode 0640.",
        "chown root:myapp /etc/myapp/secret.key && chmod 0640 /etc/myapp/secret.key\n",
        "chmod 0644 /etc/myapp/secret.key\n",
        {"/etc/myapp/secret.key has mode 0640", "/etc/myapp/secret.key has group myapp"},
    ),
    (
        "/etc/myapp/db.conf is world-readable. Make it owned by root with group myapp and "
        "mode 0640. Don't change what's in it.",
        "chown root:myapp /etc/myapp/db.conf && chmod 0640 /etc/myapp/db.conf\n",
        # right attributes, but the file is written again (with what was there, plus a line)
        "{ cat /etc/myapp/db.conf; echo; } > /tmp/c && install -o root -g myapp -m 0640 "
        "/tmp/c /etc/myapp/db.conf\n",
        {"the contents of /etc/myapp/db.conf stay as they were"},
    ),
]


#: the prepare makes the file as root: that part of the request holds already (vacuous, so
#: not counted), while its group and mode do not
ALREADY = {"/etc/myapp/secret.key is owned by root", "/etc/myapp/db.conf is owned by root"}


def _keeps(name: str) -> bool:
    """A check of what must stay: it holds before the script by design (shown as vacuous,
    and it fails if the script breaks it); one KEY line is such a check where the prepare
    put the key in the file."""
    return (" still " in name or name.endswith((" stay", " stay as they were"))
            or " has one " in name
            or " still there" in name or name in ALREADY)


def _dry(client: Any, script: str, request: str) -> DryRunReport:
    scenario = derive_scenario(request)
    return dryrun(f"set -euo pipefail\n{script}", "bash", DryRunOptions(timeout=60),
                  scenario=scenario, client=client)


@pytest.mark.parametrize(("request_text", "right", "wrong", "caught"), CASES,
                         ids=[c[0][:30] for c in CASES])
def test_right_passes_wrong_is_caught(docker_client: Any, no_leaks: None, request_text: str,
                                      right: str, wrong: str, caught: set[str]) -> None:
    good = _dry(docker_client, right, request_text)
    assert good.runs and good.runs[0].status == "passed", good.runs[0].stderr
    assert good.checks and all(c.passed and (_keeps(c.name) or not c.vacuous)
                               for c in good.checks), [
        (c.name, c.before, c.after, c.output) for c in good.checks]
    bad = _dry(docker_client, wrong, request_text)
    failed = {c.name for c in bad.checks if not c.passed}
    assert failed & caught, [(c.name, c.after) for c in bad.checks]
