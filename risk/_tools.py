"""Which `tools:` entry of a policy gives a tool its default effects: names and globs.

Agents name the same generic tool differently (`Bash`, `run_terminal_cmd`, `execute_command`,
`mcp__shell__run`), so a policy's `tools:` keys may be shell-style globs and are matched
without regard to case. An exact, same-case key wins; then an exact key in another case;
then the first glob, in the order the policy lists them. A name that matches nothing is an
unknown tool, which fails closed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from interlock.risk._regex import compile_glob

__all__ = ["ToolTable", "is_glob", "match_tool"]

_V = TypeVar("_V")
_GLOB_CHARS = frozenset("*?[")
# Tool names are few; the bound only stops a stream of invented names growing the cache.
_CACHE_LIMIT = 4096


def is_glob(name: str) -> bool:
    return not _GLOB_CHARS.isdisjoint(name)


class ToolTable(dict[str, _V]):
    """A policy's `tools:` mapping (exact keys, as written) that also resolves aliases."""

    def __init__(self, entries: Mapping[str, _V]) -> None:
        super().__init__(entries)
        self._lower: dict[str, _V] = {}
        for key, value in entries.items():
            if not is_glob(key):
                self._lower.setdefault(key.lower(), value)
        self._globs = [
            (compile_glob([key], ignore_case=True), value)
            for key, value in entries.items()
            if is_glob(key)
        ]
        self._cache: dict[str, _V | None] = {}

    def match(self, name: str) -> _V | None:
        """The entry for `name`: exact key, then any case, then the first matching glob."""
        if name in self._cache:
            return self._cache[name]
        found = self.get(name)
        if found is None:
            found = self._lower.get(name.lower())
        if found is None:
            found = next((value for test, value in self._globs if test(name)), None)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[name] = found
        return found


def match_tool(tools: Mapping[str, _V], name: str) -> _V | None:
    """`tools`' entry for `name` (see the module docstring); any mapping will do."""
    table = tools if isinstance(tools, ToolTable) else ToolTable(tools)
    return table.match(name)
