"""YAML loading that remembers the line of every value, for precise policy errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from interlock.risk.errors import PolicyError

__all__ = ["Lines", "load_located"]

# Maps a path of keys/indices to the 1-based line where that value starts.
Lines = dict[tuple[str | int, ...], int]


def load_located(text: str, source: str) -> tuple[Any, Lines]:
    """Parse YAML text into plain Python values plus a line table.

    Only the safe scalar types are produced; duplicate keys are an error because YAML would
    otherwise keep the last one silently.
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        msg = f"YAML syntax error: {problem}. Check indentation, quotes and colons."
        raise PolicyError(msg, source=source, line=line) from None
    except yaml.YAMLError as exc:
        msg = f"YAML could not be read: {exc}"
        raise PolicyError(msg, source=source) from None
    if node is None:
        msg = "the policy file is empty; it needs at least `name:` and `rules:`."
        raise PolicyError(msg, source=source, line=1)
    lines: Lines = {}
    return _convert(node, (), lines, source), lines


def _convert(node: yaml.Node, path: tuple[str | int, ...], lines: Lines, source: str) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                msg = "mapping keys must be plain words."
                raise PolicyError(msg, source=source, line=key_node.start_mark.line + 1)
            key = str(_scalar(key_node, source))
            if key in out:
                msg = f"duplicate key {key!r}; each key may appear once."
                raise PolicyError(msg, source=source, line=key_node.start_mark.line + 1)
            out[key] = _convert(value_node, (*path, key), lines, source)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(v, (*path, i), lines, source) for i, v in enumerate(node.value)]
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node, source)
    msg = f"unsupported YAML node {type(node).__name__}."
    raise PolicyError(msg, source=source, line=node.start_mark.line + 1)


def _scalar(node: yaml.ScalarNode, source: str) -> Any:
    try:
        return yaml.SafeLoader(node.value).construct_object(node, deep=True)
    except yaml.YAMLError as exc:
        msg = f"value {node.value!r} could not be read: {exc}"
        raise PolicyError(msg, source=source, line=node.start_mark.line + 1) from None
    except Exception as exc:  # a constructor such as timestamp can raise ValueError
        msg = f"value {node.value!r} could not be read: {exc}"
        raise PolicyError(msg, source=source, line=node.start_mark.line + 1) from None


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        msg = f"policy file not found: {path}. Pass an existing YAML file."
        raise PolicyError(msg) from None
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"policy file {path} could not be read: {exc}"
        raise PolicyError(msg) from None
