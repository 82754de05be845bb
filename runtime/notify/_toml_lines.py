"""Where a key of a TOML file is, so an error can say `file:line`.

`tomllib` gives values without positions. The notify file is small and written by hand, so a
line scan that follows `[table]` headers finds the line of `key = ...` in a table (or the
header itself) for the plain layout the documented example uses; anything fancier (inline
tables, dotted keys) falls back to the nearest header it can find, or to no line at all.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["TomlLines"]

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(r"""^\s*("(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_-]+)\s*=""")


def _split_dotted(path: str) -> tuple[str, ...]:
    parts: list[str] = []
    for m in re.finditer(r"""\s*("(?:[^"\\]|\\.)*"|'[^']*'|[^.\s]+)\s*(?:\.|$)""", path):
        part = m.group(1)
        parts.append(part[1:-1] if part[:1] in "\"'" else part)
    return tuple(parts)


def _unquote(key: str) -> str:
    return key[1:-1] if key[:1] in "\"'" else key


class TomlLines:
    """Line numbers (1-based) of the table headers and keys of one TOML text."""

    def __init__(self, text: str) -> None:
        self._headers: dict[tuple[str, ...], int] = {}
        self._keys: dict[tuple[str, ...], int] = {}
        table: tuple[str, ...] = ()
        for number, line in enumerate(text.splitlines(), start=1):
            header = _HEADER.match(line)
            if header:
                table = _split_dotted(header.group(1))
                self._headers.setdefault(table, number)
                continue
            key = _KEY.match(line)
            if key:
                self._keys.setdefault((*table, _unquote(key.group(1))), number)

    def line(self, path: Sequence[str]) -> int | None:
        """The line of the key or table at `path` (e.g. `("channels", "ops", "url_env")`), else
        of its closest enclosing table that has a line."""
        at = tuple(path)
        while at:
            found = self._keys.get(at) or self._headers.get(at)
            if found is not None:
                return found
            at = at[:-1]
        return None
