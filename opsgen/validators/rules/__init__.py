"""The built-in rule catalogue, in code order (permanent codes, never reused).

``OPS0xx`` lintability (syntax, suppressions, tools), ``OPS1xx`` shell, ``OPS2xx`` Ansible,
``OPS3xx`` secrets, ``OPS5xx`` provenance, ``OPS6xx`` scenario text (read only in a scenario's
prepare and checks). ``OPS4xx`` are dry-run outcomes and live in the sandbox package.
"""

from __future__ import annotations

from opsgen.validators.rule import Rule
from opsgen.validators.rules.ansible import (
    ModuleArguments,
    NoLogSecrets,
    ShellInsteadOfModule,
    TlsVerifyOffAnsible,
    UnknownModule,
)
from opsgen.validators.rules.ansible_policy import (
    AnsibleAuthorizedKey,
    AnsibleCron,
    AnsibleSecurityOff,
    AnsibleUidZero,
    ControllerCommand,
    RiskyFileMode,
    UnverifiedGetUrl,
)
from opsgen.validators.rules.controls import SecurityControlsOff, TlsVerifyOff
from opsgen.validators.rules.destructive import DangerousRm, ForkBomb, RawDiskWrite
from opsgen.validators.rules.hygiene import MissingStrictMode, UnverifiedDownload
from opsgen.validators.rules.meta import (
    AnsibleSyntax,
    BadSuppression,
    BashSyntax,
    LinterUnavailable,
    YamlSyntax,
)
from opsgen.validators.rules.perms import SetuidBit, UidZeroUser, WorldWritable
from opsgen.validators.rules.persistence import AuthorizedKeys, CronPersistence
from opsgen.validators.rules.provenance import InjectedInstruction, UnrequestedUrl
from opsgen.validators.rules.rce import EvalRemote, InterpreterFetchExec, PipeToShell
from opsgen.validators.rules.scenario import (
    ScenarioHostPath,
    ScenarioNetwork,
    ScenarioTampersRunner,
)
from opsgen.validators.rules.secrets import (
    CloudKey,
    EntropyString,
    HardcodedPassword,
    PrivateKey,
    UrlCredentials,
)

__all__ = ["RULES", "RULE_CODES", "get_rule"]

RULES: tuple[type[Rule], ...] = tuple(sorted((
    BadSuppression, BashSyntax, YamlSyntax, AnsibleSyntax, LinterUnavailable,
    PipeToShell, EvalRemote, WorldWritable, AuthorizedKeys, UidZeroUser, InterpreterFetchExec,
    DangerousRm, RawDiskWrite, ForkBomb, SetuidBit, CronPersistence, SecurityControlsOff,
    UnverifiedDownload, MissingStrictMode, TlsVerifyOff,
    ShellInsteadOfModule, TlsVerifyOffAnsible, NoLogSecrets, UnknownModule, RiskyFileMode,
    AnsibleAuthorizedKey, AnsibleCron, AnsibleUidZero, AnsibleSecurityOff, UnverifiedGetUrl,
    ControllerCommand, ModuleArguments,
    PrivateKey, CloudKey, UrlCredentials, HardcodedPassword, EntropyString,
    InjectedInstruction, UnrequestedUrl,
    ScenarioNetwork, ScenarioHostPath, ScenarioTampersRunner,
), key=lambda r: r.code))
RULE_CODES: frozenset[str] = frozenset(r.code for r in RULES)
_BY_CODE = {r.code: r for r in RULES}


def get_rule(code: str) -> type[Rule]:
    """The rule class for ``code`` (case-insensitive); raises ``KeyError`` if unknown."""
    try:
        return _BY_CODE[code.upper()]
    except KeyError:
        raise KeyError(f"no rule {code!r}") from None
