"""YAML from untrusted text, without the "billion laughs": aliases are counted before use.

PyYAML's safe loader builds an alias as a shared reference, so loading a 1 KiB document
whose nine levels each repeat the level below nine times costs nothing; every consumer
that walks or serialises it (ansible-lint, a JSON dump, our task iterator) then pays for
the full expansion: measured on main, ``opsgen lint`` spent 120 s and 2.4 GB on such a
playbook before it reported exit 0. :class:`BoundedLoader` measures the expanded size of
each composed document first and refuses it with :class:`AliasBomb` when it is over the
bounds, so no part of opsgen reads such a document further.
"""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["MAX_ALIASES", "MAX_EXPANDED_NODES", "AliasBomb", "BoundedLoader", "safe_load",
           "safe_load_all"]

#: how many nodes a document may describe once its aliases are expanded. A playbook of a
#: few thousand tasks is well under this; a "billion laughs" document describes billions.
MAX_EXPANDED_NODES = 200_000
#: how many alias uses (``*name``) one document may contain at all
MAX_ALIASES = 10_000


class AliasBomb(yaml.YAMLError):
    """A document whose aliases expand past the bounds; ``line``/``column`` are 1-based."""

    def __init__(self, message: str, line: int = 0, column: int = 0):
        super().__init__(message)
        self.line = line
        self.column = column


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def expanded_size(root: yaml.Node) -> tuple[int, int]:
    """(nodes once every alias is expanded, alias uses) of the graph under ``root``.

    Sizes are memoised per node, so ten nested levels of ``[*a, *a, ...]`` cost ten steps,
    not ten billion; a recursive alias (an anchor used inside itself) counts as over the
    bound. Iterative, so a deeply nested document cannot exhaust the stack. Sizes are
    capped just past :data:`MAX_EXPANDED_NODES`, so the sums stay small integers.
    """
    over = MAX_EXPANDED_NODES + 1
    sizes: dict[int, int] = {}
    aliases = 0
    seen: set[int] = set()
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            sizes[key] = min(over, 1 + sum(sizes.get(id(c), over) for c in _children(node)))
            continue
        if key in seen:
            aliases += 1
            if key in on_path:
                return over, aliases
            continue
        seen.add(key)
        on_path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(_children(node)))
    return sizes.get(id(root), 1), aliases


class BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses a document past :data:`MAX_EXPANDED_NODES`
    expanded nodes or :data:`MAX_ALIASES` alias uses, before constructing anything."""

    def construct_document(self, node: yaml.Node) -> Any:
        size, aliases = expanded_size(node)
        if size > MAX_EXPANDED_NODES or aliases > MAX_ALIASES:
            raise AliasBomb(
                f"YAML aliases expand this document past {MAX_EXPANDED_NODES:,} nodes "
                f"({aliases:,} alias uses): refused unread ('billion laughs')",
                node.start_mark.line + 1, node.start_mark.column + 1)
        return super().construct_document(node)


def safe_load(text: str) -> Any:
    """``yaml.safe_load`` with the alias bounds (raises :class:`AliasBomb`, a YAMLError)."""
    return yaml.load(text, Loader=BoundedLoader)  # noqa: S506 - a SafeLoader subclass


def safe_load_all(text: str) -> list[Any]:
    """``yaml.safe_load_all`` with the alias bounds, as a list."""
    return list(yaml.load_all(text, Loader=BoundedLoader))
