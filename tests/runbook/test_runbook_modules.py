"""Runbook commands -> Ansible modules (issue 11): one row per mapping, command in, task out.

Every mapper also has rows that must stay ``shell``: the mapping is only right when the
module does what the command does, so an option it does not know keeps the command as is.
"""

from __future__ import annotations

import yaml

from opsgen.runbook import convert_runbook, parse_runbook
from opsgen.runbook.modules import MAPPERS, pieces, to_modules
from opsgen.runbook.plan import Item

APT, FILE, SVC = "ansible.builtin.apt", "ansible.builtin.file", "ansible.builtin.service"
SYSTEMD = "ansible.builtin.systemd_service"
VARS = {"SERVICE": "service", "DIR": "dir"}

MAPPED = {
    # apt-get / apt
    "apt-get install -y nginx curl": (APT, {"name": ["nginx", "curl"], "state": "present"}),
    "apt install -y --no-install-recommends jq": (
        APT, {"name": ["jq"], "state": "present", "install_recommends": False}),
    "apt-get -y remove nginx": (APT, {"name": ["nginx"], "state": "absent"}),
    "apt-get -y purge nginx": (APT, {"name": ["nginx"], "state": "absent", "purge": True}),
    "apt-get update": (APT, {"update_cache": True}),
    "apt-get -y autoremove": (APT, {"autoremove": True}),
    "apt-get clean": (APT, {"clean": True}),
    "sudo apt-get install -yq nginx=1.22.1-9": (
        APT, {"name": ["nginx=1.22.1-9"], "state": "present"}),
    # systemctl / service
    "systemctl enable --now nginx": (SYSTEMD, {"name": "nginx", "enabled": True,
                                               "state": "started"}),
    "systemctl restart nginx.service": (SYSTEMD, {"name": "nginx.service", "state": "restarted"}),
    "systemctl stop nginx": (SYSTEMD, {"name": "nginx", "state": "stopped"}),
    "systemctl disable nginx": (SYSTEMD, {"name": "nginx", "enabled": False}),
    "systemctl daemon-reload": (SYSTEMD, {"daemon_reload": True}),
    "service nginx reload": (SVC, {"name": "nginx", "state": "reloaded"}),
    'service "${SERVICE}"-worker restart': (SVC, {"name": "{{ service }}-worker",
                                                  "state": "restarted"}),
    # users and groups
    "useradd -r -m -d /srv/app -s /usr/sbin/nologin -G adm,www-data app": (
        "ansible.builtin.user", {"name": "app", "create_home": True, "system": True,
                                 "home": "/srv/app", "shell": "/usr/sbin/nologin",
                                 "groups": ["adm", "www-data"]}),
    "useradd deploy": ("ansible.builtin.user", {"name": "deploy", "create_home": False}),
    "groupadd -r -g 990 app": ("ansible.builtin.group", {"name": "app", "system": True,
                                                          "gid": "990"}),
    # files
    "mkdir -p /srv/app": (FILE, {"path": "/srv/app", "state": "directory"}),
    "mkdir -p -m 750 /srv/app": (FILE, {"path": "/srv/app", "state": "directory",
                                        "mode": "0750"}),
    'mkdir -p "${DIR}"': (FILE, {"path": "{{ dir }}", "state": "directory"}),
    "chmod 0640 /etc/app.conf": (FILE, {"path": "/etc/app.conf", "mode": "0640"}),
    "chown app:adm /var/log/app": (FILE, {"path": "/var/log/app", "owner": "app",
                                          "group": "adm"}),
    "chown :adm /var/log/app": (FILE, {"path": "/var/log/app", "group": "adm"}),
    "ln -s /opt/app/2.0 /opt/app/current": (FILE, {"src": "/opt/app/2.0",
                                                   "dest": "/opt/app/current", "state": "link"}),
    "ln -sfn /opt/app/2.0 /opt/app/current": (
        FILE, {"src": "/opt/app/2.0", "dest": "/opt/app/current", "state": "link",
               "force": True}),
    "cp /etc/app.conf /etc/app.conf.bak": (
        "ansible.builtin.copy", {"src": "/etc/app.conf", "dest": "/etc/app.conf.bak",
                                 "remote_src": True}),
    # lines in files
    "sed -i 's/^PermitRootLogin.*/PermitRootLogin no/' /etc/ssh/sshd_config": (
        "ansible.builtin.lineinfile", {"path": "/etc/ssh/sshd_config",
                                       "regexp": "^PermitRootLogin.*",
                                       "line": "PermitRootLogin no", "backrefs": True}),
    "sed -i 's|^max_connections =.*|max_connections = 200|' /etc/db.conf": (
        "ansible.builtin.lineinfile", {"path": "/etc/db.conf", "regexp": "^max_connections =.*",
                                       "line": "max_connections = 200", "backrefs": True}),
    'echo "vm.swappiness=10" >> /etc/sysctl.d/90-app.conf': (
        "ansible.builtin.lineinfile", {"path": "/etc/sysctl.d/90-app.conf",
                                       "line": "vm.swappiness=10", "create": True}),
    "echo '30 2 * * 1 root /usr/local/bin/prune --old' >> /etc/cron.d/prune": (
        "ansible.builtin.cron", {"name": "prune: /usr/local/bin/prune --old",
                                 "cron_file": "/etc/cron.d/prune", "user": "root",
                                 "job": "/usr/local/bin/prune --old", "minute": "30",
                                 "hour": "2", "day": "*", "month": "*", "weekday": "1"}),
}  # fmt: skip

STAYS_SHELL = (
    "apt-get install nginx",  # no -y: apt-get stops at its question
    "apt-get -y purge linux-headers-*",  # a glob: the shell expands it first
    "apt-get -y --allow-downgrades install nginx",  # an option the table does not know
    "apt-get -y upgrade",
    "apt-get install -y $PKG",  # an unquoted variable: word splitting
    'apt-get install -y "$(cat list)"',
    "systemctl restart nginx php-fpm",  # two units
    "systemctl --no-block restart nginx",
    "systemctl status nginx",
    "service nginx status",  # only looks
    "service --status-all",
    "useradd -o -u 0 toor",  # -o: not understood, so not guessed
    "useradd -s/bin/sh app",  # a value glued to its flag
    "mkdir /srv/app",  # no -p: fails when it exists, the module would not
    "mkdir -p srv/app",  # relative: depends on the shell's cwd
    "mkdir -p /a /b",
    "chmod -R 750 /srv/app",
    "chmod u+x /usr/local/bin/x",
    "chown -R app /srv/app",
    "cp -a /srv/a /srv/b",  # keeps owners and times: the module does not
    "cp -r /srv/a /srv/b",  # into an existing directory: the module differs
    "cp a.conf /etc/",
    "ln -sf /opt/app/2.0 /opt/app/current",  # on a link to a directory: creates inside it
    "ln /a /b",
    "sed -i 's/foo/bar/' /etc/app.conf",  # not a KEY line
    "sed -i 's/^KEY.*/OTHER=1/' /etc/app.conf",  # the new line is another key's
    "sed -i.bak 's/^KEY.*/KEY=1/' /etc/app.conf",
    "sed -i 's/^KEY.*/KEY=\\1/' /etc/app.conf",
    "echo -e 'a\\tb' >> /etc/app.conf",
    "echo x > /etc/app.conf",  # overwrites: not a line in the file
    "echo x >> /etc/a >> /etc/b",
    'echo \'{{ lookup("pipe", "id") }}\' >> /etc/app.conf',  # Ansible would template it
    "sysctl -w vm.swappiness=10",  # ansible.posix is not in the sandbox image
    "rm -rf /tmp/x",
    "reboot",
    "apt-get update | tee /tmp/log",
    "apt-get update || true",
    "apt-get update; apt-get -y autoremove",
)


def test_each_mapped_command_becomes_its_module_task():
    for command, (module, args) in MAPPED.items():
        tasks = to_modules(command, VARS)
        assert [(t.module, t.args) for t in tasks] == [(module, args)], command
        assert tasks[0].command == command


def test_commands_the_table_does_not_fully_understand_stay_shell():
    for command in STAYS_SHELL:
        assert to_modules(command, VARS) == (), command


def test_every_mapper_has_a_row():
    mapped = {c.split()[1] if c.startswith("sudo ") else c.split()[0] for c in MAPPED}
    assert set(MAPPERS) <= mapped | {"apt"}


def test_an_and_chain_maps_only_when_every_part_does():
    tasks = to_modules("apt-get clean && apt-get -y autoremove")
    assert [t.args for t in tasks] == [{"clean": True}, {"autoremove": True}]
    assert to_modules("apt-get clean && find /var/cache -delete") == ()


def test_a_parameter_maps_only_when_it_is_a_declared_one_in_double_quotes():
    assert to_modules('service "${OTHER}" restart', VARS) == ()
    assert to_modules("service ${SERVICE} restart", VARS) == ()  # unquoted: word splitting
    assert to_modules("service '${SERVICE}' restart", VARS) == ()  # literal text, not a value


def _run(text: str, line: int = 1, user: str = "") -> Item:
    return Item("run", text, "", line, user)


def test_pieces_merge_update_with_install_and_mkdir_with_its_mode_and_owner():
    items = (
        _run("apt-get update", 1),
        _run("apt-get install -y nginx", 2),
        Item("comment", "the web root", "", 3),
        _run("mkdir -p /srv/www", 4),
        _run("chmod 750 /srv/www", 5),
        _run("chown www-data:www-data /srv/www", 6),
        _run("nginx -t", 7),
    )
    found = pieces(items, {})
    assert [(p.tasks[0].module, p.tasks[0].args) for p in found if p.tasks] == [
        (APT, {"name": ["nginx"], "state": "present", "update_cache": True}),
        (FILE, {"path": "/srv/www", "state": "directory", "mode": "0750",
                "owner": "www-data", "group": "www-data"}),
    ]  # fmt: skip
    assert [i.text for i in found[-1].items] == ["nginx -t"] and not found[-1].tasks
    assert sum(len(p.items) for p in found) == len(items)  # nothing lost, nothing doubled


def test_a_block_that_changes_the_shell_is_not_split():
    items = (_run("cd /srv/app"), _run("mkdir -p /srv/app/tmp"), _run("./bin/setup"))
    assert [p.tasks for p in pieces(items, {})] == [()]
    items = (_run("export LANG=C"), _run("apt-get -y autoremove"))
    assert [p.tasks for p in pieces(items, {})] == [()]


def test_commands_run_as_another_user_stay_in_their_shell_task():
    assert [p.tasks for p in pieces((_run("mkdir -p /srv/x", user="git"),), {})] == [()]


def test_playbook_uses_the_modules_and_keeps_the_trace(tmp_path):
    text = (
        "# Install the app\n\n1. Install:\n\n```bash\nsudo apt-get update\n"
        "sudo apt-get install -y nginx\nsudo systemctl enable --now nginx\n"
        "sudo service <service> restart\n```\n"
    )
    script = convert_runbook(parse_runbook(text, "install.md"), "ansible").script
    (play,) = yaml.safe_load(script.replace("!unsafe", ""))
    tasks = play["tasks"][2:]  # the root check and the parameter assert first
    assert [next(k for k in t if k.startswith("ansible.")) for t in tasks] == [APT, SYSTEMD, SVC]
    assert tasks[0][APT] == {"name": ["nginx"], "state": "present", "update_cache": True}
    assert tasks[2][SVC] == {"name": "{{ service }}", "state": "restarted"}
    assert tasks[2]["name"] == "Step 1: service <SERVICE> restart (install.md:9)"
    assert "# opsgen: apt-get install -y nginx -> ansible.builtin.apt" not in script
    assert "# opsgen: apt-get update && apt-get install -y nginx -> ansible.builtin.apt" in script
    assert "ansible.builtin.shell" not in script
    # no command is left outside its task: every other line is YAML or a comment
    assert all(not line.strip() or line.lstrip().startswith(("#", "-", "  ")) or ":" in line
               for line in script.splitlines())  # fmt: skip
    assert "\n    apt-get install" not in script


def test_corpus_playbooks_use_modules_for_the_mapped_commands(load):
    """The real runbooks: every 'service X restart/start/stop' and 'apt-get -y autoremove'
    becomes its module; the commands left to shell are the ones the table refuses."""
    expect = {
        "gitlab-com-runbooks/docs/customers/disk-space.md": [(APT, {"clean": True}),
                                                             (APT, {"autoremove": True})],
        "gitlab-com-runbooks/docs/monitoring/filesystem_alerts.md": [
            (SVC, {"name": "influxdb", "state": "restarted"}), (APT, {"autoremove": True})],
        "govuk-developer-docs/source/manual/alerts/high-zombie-procs.html.md": [
            (SVC, {"name": "imminence", "state": "restarted"})],
        "govuk-developer-docs/source/manual/alerts/check-process-running.html.md": [
            (SVC, {"name": "{{ service }}", "state": "started"}),
            (SVC, {"name": "{{ service }}-procfile-worker", "state": "restarted"}),
            (SVC, {"name": "{{ service }}", "state": "restarted"})],
        "gitlab-com-runbooks/docs/uncategorized/disable-chef-runs-on-a-vm.md": [
            (SVC, {"name": "chef-client", "state": "stopped"}),
            (SVC, {"name": "chef-client", "state": "started"})],
    }  # fmt: skip
    for path, modules in expect.items():
        script = convert_runbook(load(path), "ansible").script
        (play,) = yaml.safe_load(script.replace("!unsafe", ""))
        found = [(k, t[k]) for t in play["tasks"] for k in t
                 if k.startswith("ansible.builtin.") and k not in (
                     "ansible.builtin.shell", "ansible.builtin.command",
                     "ansible.builtin.assert")]  # fmt: skip
        assert found == modules, path
        variables = {name.upper(): name for name in play.get("vars", {})}
        left = [line for t in play["tasks"] if "ansible.builtin.shell" in t
                for line in t["ansible.builtin.shell"]["cmd"].splitlines()[1:]
                if line and not line.startswith("#")]  # fmt: skip
        assert left and all(to_modules(line, variables) == () for line in left), path
