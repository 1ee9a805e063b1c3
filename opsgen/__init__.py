"""opsgen: generate, lint, dry-run, review and export ops automation.

Stages are small functions over plain dataclasses::

    request -> script -> findings -> dry-run report -> review -> approval -> export

The subpackages ``generator``, ``validators`` and ``sandbox`` never import each other; the
orchestration modules beside them do.
"""

from __future__ import annotations

__version__ = "0.1.0"
