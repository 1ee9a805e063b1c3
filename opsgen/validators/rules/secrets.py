"""OPS301 to OPS305: secrets found by detect-secrets (ADV-25), never shown in clear.

One secret often trips several detectors (an AWS secret key is also a "keyword" and a
high-entropy string); it is reported once, under the most specific code.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from opsgen.findings import Finding, Severity
from opsgen.validators.artifact import Artifact
from opsgen.validators.rule import Example, Rule

if TYPE_CHECKING:  # importing detect-secrets costs ~130 ms: only Artifact.secrets does it
    from opsgen.validators.secrets import SecretHit

__all__ = ["CloudKey", "EntropyString", "HardcodedPassword", "PrivateKey", "UrlCredentials"]

_KIND_CODE = {"Private Key": "OPS301", "Basic Auth Credentials": "OPS303",
              "Secret Keyword": "OPS304", "Base64 High Entropy String": "OPS305"}
_HINT = ("Remove the secret and rotate it; read it at run time from a vault, an environment "
         "variable or a root-only file (Ansible: Vault plus no_log).")
_RATIONALE = (
    "A secret in a script ends up in review tools, git history, logs and every copy of the "
    "file, and cannot be revoked from there. opsgen redacts the value everywhere it shows "
    "findings (terminal, JSON, SARIF); the file itself still holds it."
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
                yield self.finding(art, hit.line, hit.col, f"Hard-coded {hit.kind} "
                                   f"(detect-secrets {hit.plugin}).", detector=hit.plugin)


class PrivateKey(_SecretRule):
    """Do not embed private keys."""

    code = "OPS301"
    name = "private-key"
    summary = "Do not embed private keys."
    examples_bad = ("cat > /root/.ssh/id_rsa <<'EOF'\n-----BEGIN RSA PRIVATE KEY-----\n"
                    "MIIEowIBAAKCAQEAx\n-----END RSA PRIVATE KEY-----\nEOF",)
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
        Example("- hosts: all\n  environment:\n    AWS_ACCESS_KEY_ID: AKIAIOSFODNN7EXAMPLE\n"
                "  tasks: []\n", "ansible"),
    )
    examples_good = ('export AWS_ACCESS_KEY_ID="$(cat /run/secrets/aws_key_id)"',)


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
                            "ansible"))
    examples_good = ('DB_PASSWORD="$(cat /run/secrets/db)"', 'password="$DB_PASS"',
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
