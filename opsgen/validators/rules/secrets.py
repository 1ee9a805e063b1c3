"""OPS301 to OPS305: secrets found by detect-secrets (ADV-25), never shown in clear.

detect-secrets is helped by opsgen's own patterns (:data:`opsgen.redact.PATTERNS`) for
what it misses in ops scripts: passwords on command lines (``mysql -pSECRET``,
``curl -u user:pw``, ``sshpass -p``, ``--password=``), unquoted ``KEY=value`` secrets,
fine-grained GitHub tokens, bearer headers. The views redact with the same patterns, so
a secret hidden from a reviewer is always also a finding.

One secret often trips several detectors (an AWS secret key is also a "keyword" and a
high-entropy string); it is reported once, under the most specific code.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from opsgen.findings import Finding, Severity
from opsgen.validators.artifact import Artifact
from opsgen.validators.rule import Example, Rule

if TYPE_CHECKING:  # importing detect-secrets costs ~130 ms: only Artifact.secrets does it
    from opsgen.secretscan import SecretHit

__all__ = ["CloudKey", "EntropyString", "HardcodedPassword", "PrivateKey", "UrlCredentials"]

_KIND_CODE = {"Private Key": "OPS301", "Basic Auth Credentials": "OPS303",
              "Secret Keyword": "OPS304", "Command-line Password": "OPS304",
              "Base64 High Entropy String": "OPS305"}
_HINT = ("Remove the secret and rotate it; read it at run time from a vault, an environment "
         "variable or a root-only file (Ansible: Vault plus no_log).")
_RATIONALE = (
    "A secret in a script ends up in review tools, git history, logs and every copy of the "
    "file, and cannot be revoked from there. opsgen redacts it wherever it shows the script, "
    "run output or findings (terminal, HTML, JSON, SARIF, stored evidence, exports' "
    "manifests, the audit log); the approved file itself still holds it."
)


def classified(art: Artifact) -> list[tuple[str, SecretHit]]:
    """(code, hit) with one entry per secret: the most specific code wins."""
    best: dict[tuple[int, str], tuple[str, SecretHit]] = {}
    for hit in art.secrets:
        code = _KIND_CODE.get(hit.kind, "OPS302")
        key = (hit.line, hit.value)
        if key not in best or code < best[key][0]:
            best[key] = (code, hit)
    return list(best.values())


class _SecretRule(Rule):
    severity = Severity.ERROR
    hint = _HINT
    rationale = _RATIONALE
    tags = ("secrets", "security")
    source = "detect-secrets"
    applies = "the whole text of bash scripts and Ansible playbooks"

    def check(self, art: Artifact) -> Iterator[Finding]:
        for code, hit in classified(art):
            if code == self.code:
                found = self.finding(art, hit.line, hit.col,
                                     f"Hard-coded {hit.kind} ({hit.source}).", detector=hit.plugin)
                # a hit of opsgen's own patterns is not detect-secrets' word
                yield found if hit.source.startswith("detect-secrets") else replace(
                    found, source="opsgen")


class PrivateKey(_SecretRule):
    """Do not embed private keys."""

    code = "OPS301"
    name = "private-key"
    summary = "Do not embed private keys."
    examples_bad = ("cat > /root/.ssh/id_rsa <<'EOF'\n-----BEGIN RSA PRIVATE KEY-----\n"
                    "MIIEowIBAAKCAQEAx\n-----END RSA PRIVATE KEY-----\nEOF",
                    "cat > /etc/ssl/private/app.key <<'EOF'\n-----BEGIN ENCRYPTED PRIVATE KEY-----"
                    "\nMIIFHDBOBgkqhkiG9w0BBQ0wQTApBgkqhkiG9w0BBQwwHAQI\n"
                    "-----END ENCRYPTED PRIVATE KEY-----\nEOF")
    examples_good = ("ssh-keygen -t ed25519 -N '' -f /root/.ssh/id_ed25519",)


class CloudKey(_SecretRule):
    """Do not embed cloud keys and API tokens."""

    code = "OPS302"
    name = "api-key-or-token"
    summary = "Do not embed cloud keys or API tokens."
    examples_bad = (
        "export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
        "export GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "curl -H 'Authorization: Bearer xoxb-123456789012-123456789012-abcdefghijklmnopqrstuvwx' "
        "https://slack.com/api/x",
        "export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "echo github_pat_11ABCDEFG0123456789abc_0123456789abcdefghij | gh auth login "
        "--with-token",
        "curl -fsS -H 'Authorization: Bearer 9c1f0e2d7b3a4c5d6e7f8a9b0c1d2e3f' "
        "https://api.example.invalid/v1/deploy",
        Example("- hosts: all\n  environment:\n    AWS_ACCESS_KEY_ID: AKIAIOSFODNN7EXAMPLE\n"
                "  tasks: []\n", "ansible"),
    )
    examples_good = ('export AWS_ACCESS_KEY_ID="$(cat /run/secrets/aws_key_id)"',
                     'curl -fsS -H "Authorization: Bearer $API_TOKEN" '
                     "https://api.example.invalid/v1/deploy")


class UrlCredentials(_SecretRule):
    """Do not put credentials in URLs."""

    code = "OPS303"
    name = "credentials-in-url"
    summary = "Do not put a password in a URL."
    examples_bad = ("curl -fsS https://admin:S3cretPassw0rd@repo.example.invalid/pkg.tgz -o p",
                    "git clone https://deploy:hunter2hunter2@git.example.invalid/app.git")
    examples_good = ("curl -fsS --netrc-file /root/.netrc https://repo.example.invalid/p -o p",
                     "git clone https://git.example.invalid/app.git")


class HardcodedPassword(_SecretRule):
    """Do not hard-code passwords."""

    code = "OPS304"
    name = "hardcoded-password"
    summary = "Do not hard-code passwords or secrets."
    examples_bad = ('DB_PASSWORD="hunter2hunter2"',
                    Example("- hosts: all\n  vars:\n    db_password: 'Winter2024!'\n  tasks: []\n",
                            "ansible"),
                    "export APP_SECRET=Zx81kq0pLmn3Qw",
                    "mysql -u root -pS3cretPass appdb < schema.sql",
                    "mysqldump --password=S3cretPass --all-databases > all.sql",
                    "curl -fsS -u admin:S3cretPass https://repo.example.invalid/pkg.tgz -o pkg.tgz",
                    "sshpass -p S3cretPass ssh deploy@db1.example.invalid uptime")
    examples_good = ('DB_PASSWORD="$(cat /run/secrets/db)"', 'password="$DB_PASS"',
                     "mysql -u root -p appdb < schema.sql",
                     'curl -fsS -u "$REPO_USER:$REPO_PASS" https://repo.example.invalid/p -o p',
                     "password_file=/etc/app/db.pass",
                     "sshpass -f /root/.db.pass ssh deploy@db1.example.invalid uptime",
                     Example("- hosts: all\n  vars:\n    db_password: \"{{ vault_db_password }}\"\n"
                             "  tasks: []\n", "ansible"))


class EntropyString(_SecretRule):
    """Review long random-looking strings: they are often keys."""

    code = "OPS305"
    name = "high-entropy-string"
    severity = Severity.WARNING
    summary = "Review this random-looking string: it may be a key or token."
    examples_bad = ('SIGNING="q8J2mX9vK4pL7wR3nT6yB1cF5hG0dZsAeUiOoPjQkMl="',)
    examples_good = ('CHECKSUM="9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"',
                     'echo "Deploying to production"')
