"""OPS112, OPS115: switching off the host's defences (firewall, MAC, TLS verification)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from opsgen.findings import Finding, Severity
from opsgen.validators.artifact import Artifact
from opsgen.validators.rule import Rule
from opsgen.validators.shell.calls import Call
from opsgen.validators.shell.index import ShellIndex
from opsgen.validators.shell.writes import written_text

__all__ = ["DISABLING_TEXT", "SECURITY_UNITS", "SecurityControlsOff", "TlsVerifyOff"]

SECURITY_UNITS = frozenset({"firewalld", "ufw", "iptables", "ip6tables", "nftables", "apparmor",
                            "auditd", "netfilter-persistent", "fail2ban"})
#: text that turns SELinux or AppArmor off wherever it is written
DISABLING_TEXT = re.compile(
    r"SELINUX\s*=\s*(disabled|permissive)|\b(selinux|apparmor|enforcing)=0\b", re.I
)
_STOP_VERBS = frozenset({"stop", "disable", "mask", "kill"})


def _units(values: list[str]) -> set[str]:
    return {v.removesuffix(".service") for v in values} & SECURITY_UNITS


def _disables(call: Call) -> str:
    values = [w.value for w in call.args]
    first = values[0] if values else ""
    if call.name == "ufw" and first == "disable":
        return "ufw disable turns the firewall off."
    if call.name == "systemctl" and _STOP_VERBS & set(values) and _units(values):
        return f"systemctl stops or disables {', '.join(sorted(_units(values)))}."
    if call.name in ("service", "chkconfig", "update-rc.d") and _units(values[:1]) and (
        {"stop", "off", "disable", "remove"} & set(values[1:])
    ):
        return f"{call.name} stops or disables {first}."
    if call.name in ("iptables", "ip6tables") and ({"-F", "--flush"} & set(values) or (
        {"-P", "--policy"} & set(values) and "ACCEPT" in values
        and {"INPUT", "FORWARD"} & set(values)
    )):
        return f"{call.name} flushes the firewall rules or opens the default policy."
    if call.name == "nft" and "flush" in values and "ruleset" in values:
        return "nft flush ruleset removes every firewall rule."
    if call.name == "setenforce" and first.lower() in ("0", "permissive"):
        return "setenforce 0 switches SELinux to permissive mode."
    if call.name in ("aa-teardown", "aa-disable", "aa-complain") or (
        call.name == "apparmor_parser" and {"-R", "--remove"} & set(values)
    ):
        return f"{call.name} unloads or relaxes AppArmor profiles."
    if DISABLING_TEXT.search(written_text(call)):
        return "This writes a setting that disables SELinux or AppArmor."
    return ""


class SecurityControlsOff(Rule):
    """Do not disable the firewall, SELinux or AppArmor."""

    code = "OPS112"
    name = "security-controls-off"
    severity = Severity.ERROR
    summary = "Do not disable the firewall, SELinux or AppArmor."
    hint = ("Open the one port or allow the one path that is needed (a firewall rule, an "
            "SELinux boolean or file context, an AppArmor profile update).")
    rationale = (
        "Turning a whole defence off is the usual generated answer to 'permission denied' or "
        "'connection refused', and it silently exposes every other service on the host. The "
        "change outlives the task it was meant to unblock."
    )
    tags = ("security",)
    examples_bad = (
        "ufw disable",
        "systemctl disable --now firewalld",
        "systemctl stop apparmor.service",
        "service iptables stop",
        "iptables -F",
        "iptables -P INPUT ACCEPT",
        "nft flush ruleset",
        "setenforce 0",
        "sed -i 's/^SELINUX=enforcing/SELINUX=disabled/' /etc/selinux/config",
        "aa-teardown",
    )
    examples_good = (
        "ufw allow 443/tcp",
        "systemctl restart firewalld",
        "iptables -A INPUT -p tcp --dport 443 -j ACCEPT",
        "setenforce 1",
        "getenforce",
        "setsebool -P httpd_can_network_connect 1",
    )

    def check_shell(self, sh: ShellIndex, art: Artifact) -> Iterator[Finding]:
        for call in sh.calls:
            why = _disables(call)
            if why:
                yield self.at(art, call, why)


class TlsVerifyOff(Rule):
    """Do not turn off TLS certificate verification."""

    code = "OPS115"
    name = "tls-verify-off"
    severity = Severity.WARNING
    summary = "Do not turn off TLS certificate verification."
    hint = "Install the right CA certificate (or pass it with --cacert) instead."
    rationale = (
        "`curl -k`, `wget --no-check-certificate` and `GIT_SSL_NO_VERIFY=1` accept any "
        "certificate, so anyone on the network path can replace what is downloaded, which "
        "is remote code execution for anything that is later run or installed."
    )
    tags = ("security", "supply-chain")
    examples_bad = (
        "curl -fsSLk https://repo.example.invalid/key.gpg -o key.gpg",
        "curl --insecure https://example.invalid/api",
        "wget --no-check-certificate https://example.invalid/x.tar.gz",
        "git -c http.sslVerify=false clone https://git.example.invalid/repo",
        "GIT_SSL_NO_VERIFY=1 git pull",
        "pip install --trusted-host pypi.example.invalid app",
    )
    examples_good = (
        "curl -fsSL --cacert /etc/ssl/internal-ca.pem https://example.invalid/x -o x",
        "wget https://example.invalid/x.tar.gz",
        "git clone https://git.example.invalid/repo",
    )

    def check_shell(self, sh: ShellIndex, art: Artifact) -> Iterator[Finding]:
        for call in sh.calls:
            opts, _ = call.opts()
            values = {w.value.lower() for w in call.args}
            bad = (
                (call.name == "curl" and ("-k" in opts or "--insecure" in opts))
                or (call.name == "wget" and "--no-check-certificate" in opts)
                or (call.name == "git" and "http.sslverify=false" in values)
                or (call.name in ("pip", "pip3") and "--trusted-host" in opts)
                or any(w.value.startswith("GIT_SSL_NO_VERIFY=") and not w.value.endswith("=")
                       for w in call.cmd.assignments)
            )
            if bad:
                yield self.at(art, call, f"{call.name or 'This'} skips TLS certificate checks.")
