"""OPS201 to OPS204: Ansible tasks that should use a module, leak secrets or cannot run."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from typing import Any

from opsgen.findings import Finding, Severity
from opsgen.validators.adapters.ansible import module_docs, unknown_modules
from opsgen.validators.ansible.tasks import PLAY, Task, builtin_fqcn, yaml_bool
from opsgen.validators.artifact import Artifact
from opsgen.validators.rule import Rule
from opsgen.validators.shell.index import ShellIndex

__all__ = ["ModuleArguments", "NoLogSecrets", "ShellInsteadOfModule", "TlsVerifyOffAnsible",
           "UnknownModule"]

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
    # `service X status` and `service --status-all` only read: no module does that better
    "service": ("ansible.builtin.service", frozenset(
        {"start", "stop", "restart", "reload", "force-reload", "try-restart"})),
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
        PLAY + "    - name: Status\n      ansible.builtin.command: service nginx status\n"
        "      changed_when: false\n",
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
        "the task; the syntax check stops at the first one, this rule names them all, each "
        "with the nearest real module, or, for a module named after a shell command "
        "(`ansible.builtin.gzip`, `tar`, `sed`, `crontab`), the built-in modules and options "
        "that do that job."
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
        if not unknown:
            return
        builtins = list(module_docs(art) or {})
        for task in art.tasks:
            if task.module in unknown:
                instead = COMMAND_MODULES.get(task.short)
                near = None if instead else _nearest_module(task.module, builtins)
                guess = (f" There is no {task.short} module: {instead}" if instead
                         else f" Did you mean {near}?" if near else "")
                yield self.at(art, task, f"couldn't resolve module/action '{task.module}'.{guess}",
                              module=task.module)


#: Modules the models name after a shell command (``ansible.builtin.gzip``), and what does
#: that job with the modules ansible-core has. A name close to a real module
#: (``systemd_unit``) gets that module instead; this table is for the names no spelling
#: distance finds. Rows whose module really exists in ansible.builtin are never used (a
#: test checks the table against the tools image's ansible-doc).
COMMAND_MODULES: dict[str, str] = {
    "gzip": "ansible.builtin.command with `cmd: gzip -- FILE` and `creates: FILE.gz` "
            "compresses a file once (loop over a find's `files` for many).",
    "gunzip": "ansible.builtin.command with `cmd: gunzip -- FILE.gz` and `creates: FILE`.",
    "tar": "ansible.builtin.unarchive with `remote_src: true` unpacks an archive; to make "
           "one, ansible.builtin.command with `cmd: tar -czf ARCHIVE DIR` and `creates: "
           "ARCHIVE`.",
    "zip": "ansible.builtin.command with `cmd: zip -r ARCHIVE DIR` and `creates: ARCHIVE`.",
    "unzip": "ansible.builtin.unarchive with `src`, `dest` and `remote_src: true`.",
    "chmod": "ansible.builtin.file with `path` and `mode`.",
    "chown": "ansible.builtin.file with `path`, `owner` and `group`.",
    "mkdir": "ansible.builtin.file with `path` and `state: directory`.",
    "ln": "ansible.builtin.file with `src`, `dest` and `state: link`.",
    "rm": "ansible.builtin.file with `path` and `state: absent`.",
    "touch": "ansible.builtin.file with `path` and `state: touch`.",
    "cp": "ansible.builtin.copy with `src`, `dest` and `remote_src: true`.",
    "sed": "ansible.builtin.lineinfile (one line: `regexp` and `line`) or "
           "ansible.builtin.replace (`regexp` and `replace`).",
    "curl": "ansible.builtin.get_url (a file) or ansible.builtin.uri (an HTTP call).",
    "wget": "ansible.builtin.get_url with `url` and `dest`.",
    "crontab": "ansible.builtin.cron with `name`, `minute`, `hour` and `job` (`cron_file` "
               "for a file in /etc/cron.d).",
    "sysctl": "ansible.builtin.copy of a file in /etc/sysctl.d (`content: \"KEY = VALUE\\n\"`), "
              "then ansible.builtin.command with `cmd: sysctl -p FILE` (ansible.posix is "
              "not installed).",
    "visudo": "ansible.builtin.copy to /etc/sudoers.d/NAME with `mode: \"0440\"` and "
              "`validate: visudo -cf %s`.",
    "logrotate": "ansible.builtin.copy to /etc/logrotate.d/NAME with the rules in `content`.",
    "timer": "ansible.builtin.copy of NAME.timer and NAME.service to /etc/systemd/system, "
             "then ansible.builtin.systemd with `name: NAME.timer`, `daemon_reload: true`, "
             "`enabled: true`.",
}


def _nearest_module(name: str, builtins: list[str]) -> str | None:
    """The built-in module whose name is closest to an unknown one (``apt_package`` ->
    ``ansible.builtin.apt``), by the short names."""
    short = {fqcn.rsplit(".", 1)[-1]: fqcn for fqcn in builtins}
    wanted = name.rsplit(".", 1)[-1]
    near = difflib.get_close_matches(wanted, list(short), n=1, cutoff=0.6)
    if not near:
        near = [s for s in sorted(short, key=len, reverse=True)
                if len(s) >= 3 and wanted.startswith(s)][:1]
    return short[near[0]] if near else None


#: options that make a module take arbitrary words or keys (command's free form, set_fact)
_FREE = frozenset({"free_form", "free-form", "key_value"})
_SHOWN = 24  # valid options listed in a message at most


def _templated(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _same(value: Any, choice: Any) -> bool:
    if isinstance(choice, bool) or isinstance(value, bool):
        return yaml_bool(value) is yaml_bool(choice) and yaml_bool(value) is not None
    return str(value) == str(choice)


class ModuleArguments(Rule):
    """Give built-in modules only options they have, with values they accept."""

    code = "OPS212"
    name = "module-arguments"
    severity = Severity.ERROR
    summary = "A built-in module is given an option it does not have or a value it refuses."
    hint = ("Use the option names and values in the message (ansible-doc MODULE lists them); "
            "the task fails with exactly this error when it runs.")
    rationale = (
        "About a quarter of generated playbooks' failures are wrong module options or values "
        "(`ansible.builtin.file` with `state: present`, `copy` with `permissions:`). Ansible "
        "finds them only when the task runs, and a syntax check or ansible-lint passes them. "
        "The option tables come from the ansible-core the tools sandbox runs (ansible-doc), "
        "so the check knows exactly what that version accepts: option names and aliases, "
        "`choices`, and required options."
    )
    tags = ("syntax",)
    langs = ("ansible",)
    applies = "tasks of ansible.builtin modules (FQCN or short name)"
    examples_bad = (
        PLAY + "    - name: f\n      ansible.builtin.file:\n        path: /srv/x\n"
        "        state: present\n",
        PLAY + "    - name: c\n      ansible.builtin.copy:\n        dest: /etc/motd\n"
        "        content: hi\n        permissions: '0644'\n",
        PLAY + "    - name: u\n      user:\n        shell: /bin/false\n",
    )
    examples_good = (
        PLAY + "    - name: f\n      ansible.builtin.file:\n        path: /srv/x\n"
        "        state: directory\n        mode: '0750'\n",
        PLAY + "    - name: u\n      ansible.builtin.user:\n        name: app\n"
        "        state: \"{{ wanted }}\"\n",
        PLAY + "    - name: c\n      ansible.builtin.command: id\n      changed_when: false\n",
        PLAY + "    - name: s\n      ansible.builtin.set_fact:\n        anything: 1\n",
    )

    def check(self, art: Artifact) -> Iterator[Finding]:
        docs = module_docs(art) if art.tasks else None
        if docs is None:
            return  # no tools sandbox: OPS005 says so
        for task in art.tasks:
            fqcn = builtin_fqcn(task.module)
            spec = docs.get(fqcn) if fqcn else None
            if isinstance(spec, dict):
                yield from self._check_task(art, task, str(fqcn), spec.get("options") or {})

    def _check_task(self, art: Artifact, task: Task, fqcn: str,
                    options: dict[str, Any]) -> Iterator[Finding]:
        names = {name: name for name in options}
        for name, opt in options.items():
            names.update((alias, name) for alias in opt.get("aliases") or ())
        free = bool(_FREE & options.keys())
        args = {k: v for k, v in task.args.items() if k != "_raw_params"}
        for key, value in args.items():
            canon = names.get(str(key))
            if canon is None:
                if not free:
                    yield self.finding(art, task.arg_line(key), 0,
                                       self._unknown(fqcn, str(key), options, names),
                                       module=fqcn, option=str(key))
                continue
            choices = options[canon].get("choices")
            if (isinstance(choices, list) and choices and not _templated(value)
                    and isinstance(value, (str, int, bool))
                    and not any(_same(value, c) for c in choices)):
                yield self.finding(
                    art, task.arg_line(key), 0,
                    f"value of {key} must be one of: {', '.join(map(str, choices))}; "
                    f"got {value!r} ({fqcn}).", module=fqcn, option=str(key))
        raw = task.free_form or str(task.args.get("_raw_params", ""))
        if _templated(raw):
            return  # arguments built at run time: nothing more to know
        for name, opt in options.items():
            if not opt.get("required") or name in _FREE:
                continue
            if name in args or any(a in args for a in opt.get("aliases") or ()):
                continue
            yield self.at(art, task, f"{fqcn} needs the option {name}; it is missing.",
                          module=fqcn, option=name)

    @staticmethod
    def _unknown(fqcn: str, key: str, options: dict[str, Any], names: dict[str, str]) -> str:
        near = difflib.get_close_matches(key, list(names), n=1, cutoff=0.6)
        valid = sorted(options)
        shown = ", ".join(valid[:_SHOWN]) + (" ..." if len(valid) > _SHOWN else "")
        guess = f"; did you mean {near[0]}?" if near else ""
        idiom = _IDIOMS.get((fqcn.rsplit(".", 1)[-1], key), "")
        return f"{fqcn} has no option {key}{guess} (valid: {shown}).{idiom}"


#: What a model usually means by an option a module does not have, when the module cannot
#: do it at all: the idiom that does (said in the finding, so the repair prompt carries it).
_IDIOM_TEXTS: dict[tuple[str, frozenset[str]], str] = {
    ("find", frozenset({"state", "delete", "remove", "action", "exec", "compress"})):
        " find only lists files: `register:` its result, then act on each with another "
        "module in `loop: \"{{ found.files }}\"` (e.g. ansible.builtin.file with `path: "
        "\"{{ item.path }}\"` and `state: absent` to delete them).",
    ("file", frozenset({"age", "older_than", "patterns", "pattern", "mtime", "contains"})):
        " file acts on one path: select the files with ansible.builtin.find (age, patterns, "
        "recurse), `register:` it, and loop over `found.files` with file `path: \"{{ "
        "item.path }}\"`.",
    ("lineinfile", frozenset({"content", "lines", "text"})):
        " lineinfile writes one `line:` (with `regexp:` for the line it replaces); to write a "
        "whole file use ansible.builtin.copy with `content:`.",
    ("file", frozenset({"content", "text", "line"})):
        " file does not write text: use ansible.builtin.copy with `dest:` and `content:`.",
}
#: (module short name, option) -> the idiom to name in the finding.
_IDIOMS: dict[tuple[str, str], str] = {
    (module, option): text for (module, options), text in _IDIOM_TEXTS.items()
    for option in options
}
