"""OPS201 to OPS204: Ansible tasks that should use a module, leak secrets or cannot run."""

from __future__ import annotations

import re
from collections.abc import Iterator

from opsgen.findings import Finding, Severity
from opsgen.validators.adapters.ansible import unknown_modules
from opsgen.validators.ansible.tasks import PLAY, Task, yaml_bool
from opsgen.validators.artifact import Artifact
from opsgen.validators.rule import Rule
from opsgen.validators.shell.index import ShellIndex

__all__ = ["NoLogSecrets", "ShellInsteadOfModule", "TlsVerifyOffAnsible", "UnknownModule"]

# command -> (module, subcommands that change state; empty = any use)
_MODULES: dict[str, tuple[str, frozenset[str]]] = {
    **dict.fromkeys(("apt", "apt-get", "aptitude"), ("ansible.builtin.apt", frozenset())),
    **dict.fromkeys(("yum", "dnf"), ("ansible.builtin.dnf", frozenset())),
    "zypper": ("community.general.zypper", frozenset()),
    "apk": ("community.general.apk", frozenset({"add", "del", "update", "upgrade"})),
    **dict.fromkeys(("pip", "pip3"), ("ansible.builtin.pip", frozenset({"install", "uninstall"}))),
    "systemctl": ("ansible.builtin.systemd_service", frozenset(
        {"start", "stop", "restart", "reload", "enable", "disable", "mask", "unmask",
         "daemon-reload"})),
    "service": ("ansible.builtin.service", frozenset()),
    **dict.fromkeys(("useradd", "usermod", "userdel", "adduser", "deluser"),
                    ("ansible.builtin.user", frozenset())),
    **dict.fromkeys(("groupadd", "groupmod", "groupdel", "addgroup"),
                    ("ansible.builtin.group", frozenset())),
    **dict.fromkeys(("mkdir", "rmdir", "touch", "ln", "chown", "chmod", "chgrp", "rm"),
                    ("ansible.builtin.file", frozenset())),
    "cp": ("ansible.builtin.copy", frozenset()),
    **dict.fromkeys(("curl", "wget"), ("ansible.builtin.get_url", frozenset())),
    "git": ("ansible.builtin.git", frozenset({"clone", "pull", "checkout", "fetch"})),
    **dict.fromkeys(("tar", "unzip"), ("ansible.builtin.unarchive", frozenset())),
    "crontab": ("ansible.builtin.cron", frozenset()),
    **dict.fromkeys(("mount", "umount"), ("ansible.posix.mount", frozenset())),
    "sysctl": ("ansible.posix.sysctl", frozenset({"-w", "--write"})),
    **dict.fromkeys(("hostname", "hostnamectl"), ("ansible.builtin.hostname", frozenset())),
    "modprobe": ("community.general.modprobe", frozenset()),
    "timedatectl": ("community.general.timezone", frozenset({"set-timezone"})),
    "ufw": ("community.general.ufw", frozenset()),
    "firewall-cmd": ("ansible.posix.firewalld", frozenset()),
    "iptables": ("ansible.builtin.iptables", frozenset()),
    "sed": ("ansible.builtin.lineinfile or ansible.builtin.replace", frozenset({"-i"})),
    "reboot": ("ansible.builtin.reboot", frozenset()),
}
#: set-up commands before the real one: "set -o pipefail && apt-get ..." is still apt-get
_PREAMBLE = frozenset({"set", "cd", "export", "source", ".", ":", "true", "umask"})
_SECRET_KEY = re.compile(
    r"(^|_)(password|passwd|passphrase|secret|token|api_?key|access_?key|secret_?key|"
    r"private_?key|client_?secret)$", re.I,
)
_NOT_SECRET = frozenset({"update_password", "password_lock", "token_type"})
_SECRET_IN_CMD = re.compile(r"(?i)(--?(password|passwd|token|secret)\b|"
                            r"\b(password|passwd|token|secret|api_?key)\s*[=:])")


class ShellInsteadOfModule(Rule):
    """Use the Ansible module instead of running its command through shell."""

    code = "OPS201"
    name = "shell-instead-of-module"
    severity = Severity.WARNING
    summary = "Use the Ansible module instead of shell/command for this task."
    hint = "Rewrite the task with the module named in the message."
    rationale = (
        "Modules are idempotent, report 'changed' truthfully, support --check and --diff, and "
        "validate their arguments; a shell command does none of this, so dry-runs and "
        "re-runs cannot be trusted."
    )
    tags = ("idempotency",)
    langs = ("ansible",)
    examples_bad = (
        PLAY + "    - name: Install nginx\n      ansible.builtin.shell: apt-get install -y "
        "nginx\n",
        PLAY + "    - name: Restart\n      ansible.builtin.command: systemctl restart nginx\n",
        PLAY + "    - name: Dir\n      command:\n        cmd: mkdir -p /srv/app\n",
        PLAY + "    - name: Up\n      shell: set -o pipefail && cd /srv && git pull origin main\n",
        PLAY + "    - name: Fetch\n      shell: curl -fsSLo /tmp/a.tgz https://x.invalid/a.tgz\n",
    )
    examples_good = (
        PLAY + "    - name: Install nginx\n      ansible.builtin.apt:\n        name: nginx\n",
        PLAY + "    - name: Status\n      ansible.builtin.command: systemctl is-active nginx\n"
        "      changed_when: false\n",
        PLAY + "    - name: Version\n      ansible.builtin.command: nginx -v\n",
    )

    def check(self, art: Artifact) -> Iterator[Finding]:
        for sh, task in art.shells:
            if task is not None and task.short in ("shell", "command"):
                yield from self._check(sh, task, art)

    def _check(self, sh: ShellIndex, task: Task, art: Artifact) -> Iterator[Finding]:
        top = (c for g in sh.groups(sh.root) for c in g)
        call = next((c for c in top if c.name not in _PREAMBLE), None)
        if call is None or call.name not in _MODULES:
            return
        module, verbs = _MODULES[call.name]
        if verbs and not verbs & {w.value for w in call.args}:
            return
        yield self.at(art, task, f"Use {module} instead of running {call.name} through "
                      f"{task.short}.", module=module)


class TlsVerifyOffAnsible(Rule):
    """Do not set validate_certs to false."""

    code = "OPS202"
    name = "validate-certs-off"
    severity = Severity.WARNING
    summary = "Do not set validate_certs: false."
    hint = "Install the right CA certificate on the managed host (or set ca_path) instead."
    rationale = (
        "With certificate checks off, anyone on the network path can substitute what "
        "get_url, uri, apt_key or pip download, which is code execution for anything later "
        "installed. The shell equivalent is OPS115."
    )
    tags = ("security", "supply-chain")
    langs = ("ansible",)
    examples_bad = (
        PLAY + "    - name: Get\n      ansible.builtin.get_url:\n        url: https://x.invalid"
        "/a\n        dest: /tmp/a\n        validate_certs: false\n",
        PLAY + "    - name: Call\n      uri: url=https://x.invalid validate_certs=no\n",
    )
    examples_good = (
        PLAY + "    - name: Get\n      ansible.builtin.get_url:\n        url: https://x.invalid"
        "/a\n        dest: /tmp/a\n        validate_certs: true\n",
    )

    def check_task(self, task: Task, art: Artifact) -> Iterator[Finding]:
        for key, value in task.args.items():
            if str(key).endswith("validate_certs") and yaml_bool(value) is False:
                yield self.finding(art, task.arg_line(str(key)), 0,
                                   f"{task.short}: {key} is off, so TLS certificates are not "
                                   "checked.")


class NoLogSecrets(Rule):
    """Set no_log: true on tasks that handle passwords, tokens or keys."""

    code = "OPS203"
    name = "secret-without-no-log"
    severity = Severity.ERROR
    summary = "Set no_log: true on tasks that pass passwords, tokens or keys."
    hint = "Add `no_log: true` to the task (and keep the value in Ansible Vault)."
    rationale = (
        "Ansible prints module arguments on failure, with -v, and to every callback and log "
        "(AWX/Tower job output, ARA, syslog). A password passed to a task without `no_log` "
        "ends up in all of them, even when it came from Vault."
    )
    tags = ("secrets", "security")
    langs = ("ansible",)
    examples_bad = (
        PLAY + "    - name: User\n      ansible.builtin.user:\n        name: app\n"
        "        password: \"{{ vault_app_pw | password_hash('sha512') }}\"\n",
        PLAY + "    - name: DB user\n      community.mysql.mysql_user:\n        name: app\n"
        "        login_password: \"{{ db_root_pw }}\"\n",
        PLAY + "    - name: Login\n      ansible.builtin.shell: mysql -u root "
        "--password={{ pw }} -e 'select 1'\n",
    )
    examples_good = (
        PLAY + "    - name: User\n      ansible.builtin.user:\n        name: app\n"
        "        password: \"{{ vault_app_pw | password_hash('sha512') }}\"\n      no_log: true\n",
        PLAY + "    - name: User\n      ansible.builtin.user:\n        name: app\n"
        "        update_password: on_create\n",
    )

    def check_task(self, task: Task, art: Artifact) -> Iterator[Finding]:
        if task.no_log:
            return
        for key, value in task.args.items():
            k = str(key)
            if k == "_raw_params" or k == "cmd":
                if isinstance(value, str) and _SECRET_IN_CMD.search(value):
                    yield self.at(art, task, "The command passes a secret; without no_log it is "
                                  "logged.")
                    return
            elif k not in _NOT_SECRET and _SECRET_KEY.search(k) and value not in (None, ""):
                yield self.finding(art, task.arg_line(k), 0, f"{task.short}: {k} is logged "
                                   "because the task has no no_log: true.")
                return


class UnknownModule(Rule):
    """Use modules that the installed ansible-core and collections provide."""

    code = "OPS204"
    name = "unknown-module"
    severity = Severity.ERROR
    summary = "The module cannot be resolved by the installed ansible-core and collections."
    hint = ("Fix the name (use the FQCN, e.g. ansible.builtin.copy) or install the collection: "
            "ansible-galaxy collection install <namespace.collection>.")
    rationale = (
        "Language models invent plausible module names (`ansible.builtin.apt_package`, "
        "`community.general.systemd`). Ansible fails on them only when the play reaches "
        "the task; the syntax check stops at the first one, this rule names them all."
    )
    tags = ("syntax",)
    langs = ("ansible",)
    examples_bad = (
        PLAY + "    - name: x\n      ansible.builtin.apt_package:\n        name: nginx\n",
        PLAY + "    - name: x\n      nginx_site: name=default state=absent\n",
    )
    examples_good = (
        PLAY + "    - name: x\n      ansible.builtin.apt:\n        name: nginx\n"
        "    - name: y\n      debug: msg=hi\n",
    )

    def check(self, art: Artifact) -> Iterator[Finding]:
        unknown = unknown_modules(art)
        for task in art.tasks:
            if task.module in unknown:
                yield self.at(art, task, f"couldn't resolve module/action '{task.module}'.",
                              module=task.module)
