"""Terminal-only commands: each turned into what it means, or stopped as a manual step."""

from __future__ import annotations

import pytest

from opsgen.runbook.interactive import assess

RUN = [
    ("ssh -p 2222 admin@web1 'df -h | sort'", "df -h | sort", "runs on admin@web1"),
    (
        "knife ssh roles:fe 'ps -eo pid,etimes= | wc -l'",
        "ps -eo pid,etimes= | wc -l",
        "knife ssh on every node matching 'roles:fe'",
    ),
    (  # double-quoted remote command: \$1 reaches awk as $1, as on the remote shell
        "bundle exec knife ssh -a ip 'roles:R' \"awk '{print \\$1}' f\"",
        "awk '{print $1}' f",
        "roles:R",
    ),
    ("sudo less /var/log/syslog", "cat /var/log/syslog", "a pager waits"),
    ("ps aux | less", "ps aux", "dropped the pager"),
    ("tail -f /var/log/x", "tail -n 100 /var/log/x", "never ends"),
    ("journalctl -fu nginx", "journalctl -n 100 -u nginx --no-pager", "never ends"),
    ("sudo tail -n 20 -F f | grep e", "tail -n 20 f | grep e", "never ends"),
    ("watch -n 5 'df -h'", "df -h", "runs it once"),
    ("top", "top -b -n 1", "batch snapshot"),
    ("ping example.com", "ping -c 3 example.com", "3 probes"),
    (
        "sudo apt-get clean && sudo apt-get autoremove",
        "apt-get clean && apt-get -y autoremove",
        "added -y: apt-get would wait for a confirmation",
    ),
    (
        "dpkg-reconfigure openssh-server",
        "dpkg-reconfigure -f noninteractive openssh-server",
        "noninteractive",
    ),
    ("kubectl exec -it web-0 -- ls /data", "ls /data", "runs in pod web-0"),
    ("sudo -u git git fsck", "runuser -u git -- git fsck", "runuser -u git"),
    ("sudo -H service x restart", "service x restart", "dropped sudo"),
    ("xargs sudo kill", "xargs sudo kill", ""),  # not a prefix: left as the runbook wrote it
    ("psql -c 'select 1'", "psql -c 'select 1'", ""),
]


@pytest.mark.parametrize(("command", "text", "note"), RUN)
def test_runs_with_its_meaning(command, text, note):
    verdict = assess(command)
    assert (verdict.kind, verdict.text) == ("run", text)
    assert note in verdict.note


OTHER = [
    ("ssh web1", "context", "", "logs in to web1"),
    ("gds govuk connect ssh -e production backend", "context", "", "logs in with gds"),
    ('oc debug "node/$NODE_NAME"', "context", "", "debug shell"),
    ("chroot /host", "context", "", "chroot shell"),
    ("exit", "context", "", "leaves its session"),
    ("sudo -i", "become", "root", "must run as root"),
    ("su -", "become", "root", ""),
    ("sudo su - aptly", "become", "aptly", ""),
    ("sudo -u git", "become", "git", ""),
    ("sudo su gitlab-customers -s /bin/bash", "become", "gitlab-customers", ""),
    ("sudo -H -u git bash", "become", "git", ""),
    ("vim /etc/hosts", "manual", "", "edit /etc/hosts by hand"),
    ("crontab -e", "manual", "", "by hand"),
    ("knife data bag edit vault keys", "manual", "", "opens an editor"),
    ("sudo ncdu /var", "manual", "", "interactive full-screen"),
    ("htop", "manual", "", "interactive"),
    ("psql", "manual", "", "interactive session"),
    ("sudo gitlab-psql", "manual", "", "interactive session"),
    ("kubectl exec -it web-0 -- bash", "manual", "", "interactive session"),
    ("knife node delete web1", "manual", "", "operator workstation"),
    ("gsutil rm -r gs://bucket/x", "manual", "", "operator workstation"),
    ("for i in 1 2; do ssh h$i uptime; done", "manual", "", "ssh inside a compound"),
    ("for i in $A; do gsutil rm gs://b/$i; done", "manual", "", "operator workstation"),
    ("cat x | sudo -i", "manual", "", "switches user"),
]


@pytest.mark.parametrize(("command", "kind", "user", "note"), OTHER)
def test_does_not_run_blindly(command, kind, user, note):
    verdict = assess(command)
    assert (verdict.kind, verdict.user, verdict.text) == (kind, user, "")
    assert note in verdict.note
