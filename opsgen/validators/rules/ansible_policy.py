"""OPS205 to OPS211: the shell policy rules, for Ansible modules, and Ansible's own.

``chmod 777`` (OPS103) has an Ansible twin in ``file: mode=0777``, ``echo key >>
authorized_keys`` (OPS104) in ``authorized_key:``, and so on. Shell and command tasks are
already covered by the OPS1xx rules, which read their command lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from opsgen.findings import Finding, Severity
from opsgen.validators.ansible.tasks import PLAY, Task, yaml_bool
from opsgen.validators.artifact import Artifact
from opsgen.validators.modes import parse_mode
from opsgen.validators.rule import Rule
from opsgen.validators.rules.controls import DISABLING_TEXT, SECURITY_UNITS
from opsgen.validators.rules.hygiene import RUNNABLE
from opsgen.validators.rules.persistence import CRON_PATH

__all__ = ["AnsibleAuthorizedKey", "AnsibleCron", "AnsibleSecurityOff", "AnsibleUidZero",
           "ControllerCommand", "RiskyFileMode", "UnverifiedGetUrl"]

_WRITERS = frozenset({"copy", "template", "lineinfile", "blockinfile", "file", "get_url",
                      "assemble", "replace", "ini_file", "unarchive", "archive"})
_SERVICES = frozenset({"service", "systemd", "systemd_service", "sysvinit"})


def _dest(task: Task) -> str:
    return str(task.args.get("dest") or task.args.get("path") or task.args.get("name") or "")


def _present(task: Task) -> bool:
    return str(task.args.get("state", "present")).lower() != "absent"


class RiskyFileMode(Rule):
    """Do not give files world-writable or setuid modes."""

    code = "OPS205"
    name = "risky-file-mode"
    severity = Severity.ERROR
    summary = "Do not set world-writable or setuid modes on files (mode: 0777, 4755, o+w)."
    hint = "Use a mode that grants write to the owner or group only (0644, 0755, 0640)."
    rationale = "The Ansible twin of OPS103 and OPS110; see those pages for why."
    tags = ("permissions", "security")
    langs = ("ansible",)
    examples_bad = (
        PLAY + "    - name: d\n      ansible.builtin.file:\n        path: /srv/x\n"
        "        state: directory\n        mode: \"0777\"\n",
        PLAY + "    - name: f\n      copy: src=a dest=/usr/local/bin/a mode=4755\n",
        PLAY + "    - name: g\n      template:\n        src: a.j2\n        dest: /etc/a\n"
        "        mode: u=rw,o+w\n",
    )
    examples_good = (
        PLAY + "    - name: d\n      ansible.builtin.file:\n        path: /srv/x\n"
        "        state: directory\n        mode: \"0755\"\n",
        PLAY + "    - name: t\n      file: path=/srv/tmp state=directory mode=1777\n",
    )

    def check_task(self, task: Task, art: Artifact) -> Iterator[Finding]:
        mode = task.args.get("mode")
        if mode is None or isinstance(mode, bool) or not isinstance(mode, (int, str)):
            return
        m = parse_mode(mode)
        shown = oct(mode)[2:].rjust(4, "0") if isinstance(mode, int) else mode
        if m.world_writable or m.setuid:
            what = "setuid" if m.setuid else "world-writable"
            yield self.finding(art, task.arg_line("mode"), 0,
                               f"{task.short}: mode {shown} is {what}.", mode=str(shown))


class AnsibleAuthorizedKey(Rule):
    """Do not add SSH keys to authorized_keys from a generated playbook."""

    code = "OPS206"
    name = "ansible-authorized-key"
    severity = Severity.ERROR
    summary = "Do not add SSH keys to authorized_keys from a generated playbook."
    hint = ("Manage SSH access through your identity process; if this key is intended, "
            "suppress with a reason naming its owner.")
    rationale = "The Ansible twin of OPS104; see that page for why."
    exceptions = "Deliberate key rollouts: suppress with a reason that names the key's owner."
    tags = ("persistence", "security")
    langs = ("ansible",)
    examples_bad = (
        PLAY + "    - name: k\n      ansible.posix.authorized_key:\n        user: root\n"
        "        key: ssh-ed25519 AAAA op@x\n",
        PLAY + "    - name: k\n      lineinfile:\n        path: /root/.ssh/authorized_keys\n"
        "        line: ssh-rsa AAAA x\n",
    )
    examples_good = (
        PLAY + "    - name: k\n      ansible.posix.authorized_key:\n        user: old\n"
        "        key: ssh-rsa AAAA x\n        state: absent\n",
    )

    def check_task(self, task: Task, art: Artifact) -> Iterator[Finding]:
        if task.short == "authorized_key" and _present(task):
            yield self.at(art, task, "authorized_key adds an SSH login key.")
        elif task.short in _WRITERS and "authorized_keys" in _dest(task) and _present(task):
            yield self.at(art, task, f"{task.short} writes into authorized_keys.")


class AnsibleCron(Rule):
    """Review cron jobs added by a playbook."""

    code = "OPS207"
    name = "ansible-cron"
    severity = Severity.WARNING
    summary = "Review new cron jobs: they keep running after the playbook is gone."
    hint = "If the job is intended, suppress with a reason saying what it is for."
    rationale = "The Ansible twin of OPS111; see that page for why."
    exceptions = "Requested jobs (a nightly backup): suppress with a reason."
    tags = ("persistence",)
    langs = ("ansible",)
    examples_bad = (
        PLAY + "    - name: c\n      ansible.builtin.cron:\n        name: x\n"
        "        job: /opt/x.sh\n",
        PLAY + "    - name: c\n      copy:\n        dest: /etc/cron.d/x\n"
        "        content: \"* * * * * root /opt/x\\n\"\n",
    )
    examples_good = (
        PLAY + "    - name: c\n      ansible.builtin.cron:\n        name: x\n"
        "        state: absent\n",
    )

    def check_task(self, task: Task, art: Artifact) -> Iterator[Finding]:
        if task.short == "cron" and _present(task):
            yield self.at(art, task, "cron adds a scheduled job.")
        elif task.short in _WRITERS and CRON_PATH.search(_dest(task)) and _present(task):
            yield self.at(art, task, f"{task.short} writes a cron job.")


class AnsibleUidZero(Rule):
    """Do not create users with uid 0."""

    code = "OPS208"
    name = "ansible-uid-zero"
    severity = Severity.ERROR
    summary = "Do not create users with uid 0 (a second root account)."
    hint = "Create an unprivileged user and grant it specific rights through sudo."
    rationale = "The Ansible twin of OPS105; see that page for why."
    tags = ("accounts", "persistence", "security")
    langs = ("ansible",)
    examples_bad = (
        PLAY + "    - name: u\n      ansible.builtin.user:\n        name: support\n"
        "        uid: 0\n        non_unique: true\n",
    )
    examples_good = (
        PLAY + "    - name: u\n      ansible.builtin.user:\n        name: app\n"
        "        uid: 990\n",
    )

    def check_task(self, task: Task, art: Artifact) -> Iterator[Finding]:
        uid = str(task.args.get("uid", "")).strip()
        if task.short == "user" and uid.isdigit() and int(uid) == 0:
            yield self.finding(art, task.arg_line("uid"), 0, "user gives an account uid 0.")


class AnsibleSecurityOff(Rule):
    """Do not disable the firewall, SELinux or AppArmor."""

    code = "OPS209"
    name = "ansible-security-off"
    severity = Severity.ERROR
    summary = "Do not disable the firewall, SELinux or AppArmor."
    hint = "Open the one port, boolean or path that is needed instead."
    rationale = "The Ansible twin of OPS112; see that page for why."
    tags = ("security",)
    langs = ("ansible",)
    examples_bad = (
        PLAY + "    - name: s\n      ansible.posix.selinux:\n        state: disabled\n",
        PLAY + "    - name: f\n      community.general.ufw:\n        state: disabled\n",
        PLAY + "    - name: f\n      ansible.builtin.systemd_service:\n        name: firewalld\n"
        "        state: stopped\n        enabled: false\n",
        PLAY + "    - name: i\n      ansible.builtin.iptables:\n        flush: true\n",
        PLAY + "    - name: c\n      lineinfile:\n        path: /etc/selinux/config\n"
        "        regexp: ^SELINUX=\n        line: SELINUX=permissive\n",
    )
    examples_good = (
        PLAY + "    - name: s\n      ansible.posix.selinux:\n        policy: targeted\n"
        "        state: enforcing\n",
        PLAY + "    - name: f\n      service: name=firewalld state=restarted\n",
    )

    def check_task(self, task: Task, art: Artifact) -> Iterator[Finding]:
        why = _security_off(task)
        if why:
            yield self.at(art, task, why)


def _security_off(task: Task) -> str:
    a: dict[str, Any] = task.args
    state = str(a.get("state", "")).lower()
    if task.short == "selinux" and state in ("disabled", "permissive"):
        return f"selinux: state {state} turns SELinux enforcement off."
    if task.short == "ufw" and state == "disabled":
        return "ufw: state disabled turns the firewall off."
    unit = str(a.get("name", "")).removesuffix(".service")
    if task.short in _SERVICES and unit in SECURITY_UNITS and (
        state == "stopped" or yaml_bool(a.get("enabled")) is False
        or yaml_bool(a.get("masked")) is True
    ):
        return f"{task.short} stops or disables {unit}."
    if task.short == "iptables" and (yaml_bool(a.get("flush")) is True or (
        str(a.get("policy", "")).upper() == "ACCEPT" and a.get("chain") in ("INPUT", "FORWARD")
    )):
        return "iptables flushes the rules or opens the default policy."
    if any(isinstance(v, str) and DISABLING_TEXT.search(v) for v in a.values()):
        return f"{task.short} writes a setting that disables SELinux or AppArmor."
    return ""


class UnverifiedGetUrl(Rule):
    """Give a checksum for downloaded programs, packages and archives."""

    code = "OPS210"
    name = "unverified-get-url"
    severity = Severity.WARNING
    summary = "Give a checksum for downloaded programs, packages and archives."
    hint = "Add checksum: sha256:<digest> to get_url, or download with get_url then unarchive."
    rationale = "The Ansible twin of OPS113; see that page for why."
    tags = ("supply-chain",)
    langs = ("ansible",)
    examples_bad = (
        PLAY + "    - name: g\n      ansible.builtin.get_url:\n        url: https://x.invalid/"
        "tool.tar.gz\n        dest: /tmp/tool.tar.gz\n",
        PLAY + "    - name: g\n      get_url: url=https://x.invalid/tool dest=/usr/local/bin/"
        "tool mode=0755\n",
        PLAY + "    - name: u\n      unarchive:\n        src: https://x.invalid/a.tgz\n"
        "        dest: /opt\n        remote_src: true\n",
        PLAY + "    - name: p\n      apt:\n        deb: https://x.invalid/a.deb\n",
    )
    examples_good = (
        PLAY + "    - name: g\n      ansible.builtin.get_url:\n        url: https://x.invalid/"
        "tool.tar.gz\n        dest: /tmp/tool.tar.gz\n        checksum: sha256:9f86d0\n",
        PLAY + "    - name: g\n      get_url: url=https://x.invalid/motd.txt dest=/etc/motd\n",
    )

    def check_task(self, task: Task, art: Artifact) -> Iterator[Finding]:
        a = task.args
        if task.short == "get_url" and not a.get("checksum"):
            dest, url = str(a.get("dest", "")), str(a.get("url", ""))
            mode = a.get("mode")
            executable = isinstance(mode, (int, str)) and parse_mode(mode).executable
            if RUNNABLE.search(dest) or RUNNABLE.search(url.split("?")[0]) or executable:
                yield self.at(art, task, "get_url downloads a program or archive without a "
                              "checksum.")
        elif task.short == "unarchive" and "://" in str(a.get("src", "")):
            yield self.at(art, task, "unarchive downloads and unpacks without a checksum.")
        elif task.short == "apt" and "://" in str(a.get("deb", "")):
            yield self.at(art, task, "apt installs a downloaded .deb without a checksum.")


_CONTROLLER_COMMAND = re.compile(
    r"\b(?:lookup|query|q)\s*\(\s*['\"](?:ansible\.builtin\.)?(?:pipe|lines)['\"]")


class ControllerCommand(Rule):
    """Do not run commands on the control node from a template (``lookup('pipe', ...)``)."""

    code = "OPS211"
    name = "controller-command"
    severity = Severity.ERROR
    summary = "Do not run commands on the control node from a template."
    hint = ("Run the command on the target with ansible.builtin.command and register its "
            "output, or pass the value in as a variable.")
    rationale = (
        "Lookups run where Ansible runs, not on the managed host: lookup('pipe', CMD) and "
        "lookup('lines', CMD) run CMD on the operator's machine, as the operator, whenever "
        "the playbook is loaded, even for a syntax check. In vars_files or an import path "
        "they run before any task. A generated or converted playbook has no reason to do "
        "that, and it is the easiest way for injected text to reach the operator's machine. "
        "The check reads the parsed YAML, so escapes such as \\u007B do not hide it."
    )
    tags = ("rce", "security")
    langs = ("ansible",)
    applies = "every string of a playbook or task file"
    examples_bad = (
        "- hosts: all\n  vars_files:\n    - \"\\u007B\\u007B lookup('pipe', 'id') "
        "\\u007D\\u007D\"\n  tasks: []\n",
        PLAY + "    - name: d\n      ansible.builtin.debug:\n        msg: \"{{ query('ansible."
        "builtin.lines', 'cat /etc/shadow') }}\"\n",
    )
    examples_good = (
        PLAY + "    - name: d\n      ansible.builtin.debug:\n        msg: \"{{ lookup('env', "
        "'HOME') }}\"\n",
        PLAY + "    - name: c\n      ansible.builtin.command: id\n      register: who\n"
        "      changed_when: false\n",
    )

    def check(self, art: Artifact) -> Iterator[Finding]:
        for line, col, text in _strings(art.yaml_docs or []):
            m = _CONTROLLER_COMMAND.search(text)
            if m:
                yield self.finding(art, line, col, f"{m.group(0).split('(')[0].strip()}"
                                   "(...) runs a command on the control node when the "
                                   "playbook loads.")


def _strings(docs: list[Any]) -> Iterator[tuple[int, int, str]]:
    """Every string (keys too) in the documents, with the line of the value it is in.

    Iterative and visiting each node once: aliases share nodes, and the loader already
    refused documents whose aliases expand too far.
    """
    seen: set[int] = set()
    stack: list[tuple[Any, int, int]] = [(d, 1, 1) for d in reversed(docs)]
    while stack:
        node, line, col = stack.pop()
        if isinstance(node, str):
            yield line, col, node
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, dict):
            marks = getattr(node, "marks", {})
            for key, value in node.items():
                mark = marks.get(key)
                kl, kc = (mark.line, mark.col) if mark else (line, col)
                vl, vc = (mark.value_line, mark.value_col) if mark else (line, col)
                stack.append((value, vl, vc))
                stack.append((key, kl, kc))
        elif isinstance(node, list):
            stack.extend((item, line, col) for item in reversed(node))
