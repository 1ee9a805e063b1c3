"""Wrappers around external linters: bash -n, shellcheck, ansible-playbook, ansible-lint.

Each module offers a ``*_job(artifact)`` factory (passed to :meth:`Artifact.job`, which starts
it once) and a function that turns the tool's output into findings.
"""
