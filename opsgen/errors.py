"""The one exception tree of opsgen: failures of the tool itself, never outcomes of a script.

A script that fails, times out or floods its output is a *result* (see ``opsgen.sandbox``);
an exception means opsgen could not do the job. This module imports nothing from the
package, so every module may import it (pip's rule for its own ``exceptions.py``)::

    OpsError                       exit 1  (generic)
    ├── InputError                 exit 3  bad file or request: missing, empty, binary, too big
    ├── ConfigError                exit 3  bad configuration or option value
    ├── SandboxError               exit 4
    │   ├── SandboxUnavailable     exit 4  no Docker engine answers
    │   ├── ImageMissing           exit 4  the sandbox image is not built
    │   └── PolicyViolation        exit 4  a container setting that would weaken the sandbox
    ├── GenerationError            exit 5
    │   ├── ModelUnavailable       exit 5  weights or runtime missing
    │   └── UnparseableOutput      exit 5  the model returned nothing usable
    └── ExportError                exit 6
        ├── SignOffMissing         exit 6  not approved, or approved bytes changed
        └── DirtyWorktree          exit 6  the target repository is not safe to write to

The CLI maps each to its exit code and prints ``error[reference]: message`` plus the hint, in
one place (``opsgen.cli.main``). Exit code 1 is also used for "the check found errors", 2 for
command-line usage errors and 130 for Ctrl-C.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DirtyWorktree",
    "ExportError",
    "GenerationError",
    "ImageMissing",
    "InputError",
    "ModelUnavailable",
    "OpsError",
    "PolicyViolation",
    "SandboxError",
    "SandboxUnavailable",
    "SignOffMissing",
    "UnparseableOutput",
]


class OpsError(Exception):
    """Base of every error opsgen reports to a user as one line.

    Args:
        message: one sentence saying what went wrong.
        hint: what the user can do about it.
        reference: a stable kebab-case name, shown and usable in scripts.
    """

    reference = "ops-error"
    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None, reference: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if reference is not None:
            self.reference = reference


class InputError(OpsError):
    """A file or request the user gave cannot be used (missing, empty, binary, too large)."""

    reference = "bad-input"
    exit_code = 3


class ConfigError(OpsError):
    """A configuration value or option is invalid."""

    reference = "bad-config"
    exit_code = 3


class SandboxError(OpsError):
    """The sandbox could not run a script at all."""

    reference = "sandbox-error"
    exit_code = 4


class SandboxUnavailable(SandboxError):
    """No Docker engine answered."""

    reference = "docker-unavailable"


class ImageMissing(SandboxError):
    """The sandbox image does not exist on the engine."""

    reference = "image-missing"


class PolicyViolation(SandboxError):
    """A container setting would weaken the sandbox (mounts, privileged, host network...)."""

    reference = "policy-violation"


class GenerationError(OpsError):
    """The language model could not produce a script."""

    reference = "generation-failed"
    exit_code = 5


class ModelUnavailable(GenerationError):
    """Model weights or the runtime to run them are missing."""

    reference = "model-unavailable"


class UnparseableOutput(GenerationError):
    """The model answered, but nothing usable as a script came back."""

    reference = "unparseable-output"


class ExportError(OpsError):
    """An artifact could not be exported."""

    reference = "export-refused"
    exit_code = 6


class SignOffMissing(ExportError):
    """The change is not approved, or its bytes no longer match what was approved."""

    reference = "sign-off-missing"


class DirtyWorktree(ExportError):
    """The target repository is in a state we must not write into."""

    reference = "dirty-worktree"
