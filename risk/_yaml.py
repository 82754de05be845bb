"""YAML loading that remembers the line of every value, for precise policy errors.

A policy file is read before anything checks it, so its shape is bounded first, in one pass
over the parser's events (libyaml's when PyYAML has it): at most `MAX_NESTING` levels of
collections, no alias inside the node it names (a loop), and at most `MAX_NODES` values once
aliases are expanded (a billion-laughs bomb is refused long before that). Each breach is
one `PolicyError` naming the line. Anchors and aliases are otherwise allowed: the bundled
policy uses them to share its read-only checks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from interlock.risk.errors import PolicyError

__all__ = ["MAX_NESTING", "MAX_NODES", "Lines", "load_located", "read_text"]

MAX_NESTING = 64
MAX_NODES = 100_000
# Before the parser sees the text: PyYAML's pure-Python scanner slows down sharply with
# depth (5,000 nested brackets take over 30 s), so gross nesting is refused from the raw text.
_MAX_INDENT = 512
_Event = yaml.Event
_OPEN = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSE = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Maps a path of keys/indices to the 1-based line where that value starts.
Lines = dict[tuple[str | int, ...], int]


def load_located(text: str, source: str) -> tuple[Any, Lines]:
    """Parse YAML text into plain Python values plus a line table.

    Only the safe scalar types are produced; duplicate keys are an error because YAML would
    otherwise keep the last one silently.
    """
    try:
        _check_text(text, source)
        _check_events(text, source)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except RecursionError:  # belt and braces: the checks above keep nesting far from this
        msg = f"the YAML nests too deeply to read; {_FLATTEN}"
        raise PolicyError(msg, source=source) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        if "nesting depth" in problem:  # libyaml's own limit
            msg = f"the YAML nests more than {MAX_NESTING} levels deep; {_FLATTEN}"
        else:
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


_FLATTEN = "a policy needs only a few levels; flatten this part of the file."


def _check_text(text: str, source: str) -> None:
    """Refuse gross nesting (brackets, indentation) before the parser works on it."""
    depth = 0
    for n, line in enumerate(text.splitlines(), 1):
        stripped = line.lstrip(" ")
        dashes = len(stripped) - len(stripped.lstrip("- "))
        if len(line) - len(stripped) + dashes > _MAX_INDENT:
            msg = f"the YAML is indented more than {_MAX_INDENT} columns deep; {_FLATTEN}"
            raise PolicyError(msg, source=source, line=n)
        if "[" in line or "{" in line or depth:
            # Brackets inside quotes count too: an over-count only errs on absurd files.
            depth = max(0, depth + line.count("[") + line.count("{"))
            if depth > 4 * MAX_NESTING:
                msg = f"the YAML nests more than {MAX_NESTING} levels deep; {_FLATTEN}"
                raise PolicyError(msg, source=source, line=n)
            depth = max(0, depth - line.count("]") - line.count("}"))


def _check_events(text: str, source: str) -> None:
    """Nesting depth, alias loops and alias expansion, from the parser's events."""
    stack: list[list[Any]] = []  # open collections: [anchor, expanded size]
    sizes: dict[str, int] = {}  # anchor -> expanded size of the finished node it names
    total = 0

    def fail(message: str, event: _Event) -> None:
        line = event.start_mark.line + 1 if event.start_mark else None
        raise PolicyError(message, source=source, line=line)

    for event in yaml.parse(text, Loader=_LOADER):
        size = 0
        if isinstance(event, _OPEN):
            if len(stack) >= MAX_NESTING:
                fail(f"the YAML nests more than {MAX_NESTING} levels deep; {_FLATTEN}", event)
            stack.append([event.anchor, 1])
            total += 1
        elif isinstance(event, _CLOSE):
            anchor, size = stack.pop()
            if anchor is not None:
                sizes[anchor] = size
        elif isinstance(event, yaml.ScalarEvent):
            size = 1
            if event.anchor is not None:
                sizes[event.anchor] = 1
        elif isinstance(event, yaml.AliasEvent):
            if any(entry[0] == event.anchor for entry in stack):
                msg = (
                    f"the alias *{event.anchor} is inside the node &{event.anchor} it repeats, "
                    "so it never ends. Replace it with the value it should have."
                )
                fail(msg, event)
            size = sizes.get(event.anchor or "", 1)  # an unknown anchor: the composer says so
        else:
            continue
        if not isinstance(event, _OPEN):
            if stack:
                stack[-1][1] += size
            if not isinstance(event, _CLOSE):
                total += size
        if total > MAX_NODES:
            msg = (
                f"the YAML expands to more than {MAX_NODES:,} values through its aliases "
                "(an alias bomb?). Write the values out, or repeat smaller nodes."
            )
            fail(msg, event)


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
