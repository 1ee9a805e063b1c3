"""Load playbook YAML with the line of every mapping and key, as ansible-lint does.

PyYAML's safe loader forgets positions; findings need them. Ansible's own tags (``!vault``,
``!unsafe``) and any other local tag load as plain values instead of failing the parse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from opsgen.yamlsafe import AliasBomb, BoundedLoader

__all__ = ["KeyMark", "LineDict", "YamlError", "load_yaml"]


@dataclass(frozen=True, slots=True)
class KeyMark:
    """Where a key and its value start (1-based), and the value's scalar style."""

    line: int
    col: int
    value_line: int
    value_col: int
    style: str | None  # "|", ">", '"', "'" or None (plain or not a scalar)


class LineDict(dict[Any, Any]):
    """A mapping that remembers its own line and where each key sits."""

    line: int = 0
    marks: dict[Any, KeyMark]

    def mark(self, key: Any) -> KeyMark:
        """The position of ``key``, or of the mapping itself when unknown."""
        return self.marks.get(key) or KeyMark(self.line, 1, self.line, 1, None)


class YamlError(Exception):
    """The text is not valid YAML; ``line``/``column`` are 1-based (0 when unknown)."""

    def __init__(self, message: str, line: int = 0, column: int = 0):
        super().__init__(message)
        self.line = line
        self.column = column


class _Loader(BoundedLoader):
    pass


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> Any:
    data = LineDict()
    data.line = node.start_mark.line + 1
    data.marks = {}
    yield data
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "found an unhashable key", key_node.start_mark
            ) from None
        data[key] = loader.construct_object(value_node, deep=True)
        km, vm = key_node.start_mark, value_node.start_mark
        style = getattr(value_node, "style", None)
        data.marks[key] = KeyMark(km.line + 1, km.column + 1, vm.line + 1, vm.column + 1, style)


def _construct_tagged(loader: _Loader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return _construct_map(loader, node)  # type: ignore[arg-type]


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
_Loader.add_multi_constructor("!", _construct_tagged)


def load_yaml(text: str) -> list[Any]:
    """All documents of ``text``; raises :class:`YamlError` with the position of the fault."""
    try:
        return [d for d in yaml.load_all(text, Loader=_Loader) if d is not None]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        parts = [p for p in (exc.context, exc.problem) if p]
        msg = "; ".join(parts) or "invalid YAML"
        if mark is None:
            return_line = return_col = 0
        else:
            return_line, return_col = mark.line + 1, mark.column + 1
        raise YamlError(msg, return_line, return_col) from None
    except AliasBomb as exc:
        raise YamlError(str(exc), exc.line, exc.column) from None
    except yaml.YAMLError as exc:
        raise YamlError(str(exc).splitlines()[0] if str(exc) else "invalid YAML") from None
    except RecursionError:
        raise YamlError("YAML nested too deeply to read") from None
