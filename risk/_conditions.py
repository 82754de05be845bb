"""Compiles a rule's `when:` block into fast checks over an action's facts.

A check returns True or False, or raises `Missing` when it needs a fact the action does not
provide. The engine turns an otherwise-matching rule with a missing fact into a review: it
fails closed rather than guessing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from interlock.risk._regex import PatternError, compile_glob, compile_regex
from interlock.risk._session_types import Session

__all__ = [
    "ABSENT",
    "DAYS",
    "WHEN_KEYS",
    "Check",
    "Facts",
    "Freeze",
    "Missing",
    "WhenError",
    "as_list",
    "compile_predicate",
    "compile_template",
    "get_path",
    "globs",
    "set_check",
    "set_match",
]


class Missing(Exception):  # a signal, not an error the user sees
    """A rule needs a fact the action does not provide."""

    def __init__(self, fact: str) -> None:
        super().__init__(fact)
        self.fact = fact


class WhenError(Exception):
    """A malformed condition; `path` is relative to the `when` block."""

    def __init__(self, message: str, path: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.path = path


ABSENT = object()


@dataclass(slots=True)
class Facts:
    """Everything a rule may look at, computed once per assessment."""

    tool: str
    agent: str | None
    environment: str | None
    effects: frozenset[str] | None
    signals: frozenset[str]
    reversible: bool | None
    args: Mapping[str, Any]
    resource: Mapping[str, Any] | None
    credential: Mapping[str, Any] | None
    credential_wide: bool | None
    now: datetime
    active_freezes: tuple[str, ...]
    session: Session | None = None
    memo: dict[Any, Any] = field(default_factory=dict)
    """Scratch for checks that share work within this one assessment (an argument's tokens)."""


@dataclass(frozen=True, kw_only=True)
class Freeze:  # not slotted: cached_property needs an instance __dict__
    """A change freeze: a local-time window in a timezone, optionally for some environments."""

    name: str
    timezone: str
    start: datetime
    end: datetime
    environments: frozenset[str] = frozenset()

    @cached_property
    def _utc_window(self) -> tuple[datetime, datetime]:
        # Converted once: this runs on every assessment of a matching environment.
        tz = ZoneInfo(self.timezone)
        return (
            self.start.replace(tzinfo=tz).astimezone(UTC),
            self.end.replace(tzinfo=tz).astimezone(UTC),
        )

    def active(self, now: datetime, environment: str | None) -> bool:
        if self.environments and environment not in self.environments:
            return False
        start, end = self._utc_window
        return start <= now < end


Check = Callable[[Facts], bool]

WHEN_KEYS = (
    "tool",
    "agent",
    "environment",
    "effects",
    "signals",
    "reversible",
    "args",
    "resource",
    "credential",
    "in_freeze",
    "time",
    "session",
    "any",
    "not",
)
PREDICATE_OPS = (
    "equals",
    "not_equals",
    "in",
    "not_in",
    "regex",
    "glob",
    "gt",
    "gte",
    "lt",
    "lte",
    "exists",
    "contains",
)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def as_list(value: Any, path: tuple[str | int, ...], what: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    msg = f"{what} must be a string or a non-empty list of strings, got {value!r}."
    raise WhenError(msg, path)


def globs(value: Any, path: tuple[str | int, ...], what: str) -> Callable[[str | None], bool]:
    pats = as_list(value, path, what)
    try:
        match = compile_glob(pats)
    except PatternError as exc:
        raise WhenError(str(exc), path) from None
    return lambda s: s is not None and match(s)


def set_match(
    value: Any, path: tuple[str | int, ...], what: str, allowed: Mapping[str, Any] | None
) -> tuple[str, frozenset[str]]:
    if isinstance(value, dict):
        if len(value) != 1 or next(iter(value)) not in ("any", "all", "none"):
            msg = f"{what} takes a list, or one of {{any: [...]}}, {{all: [...]}}, {{none: [...]}}."
            raise WhenError(msg, path)
        mode, items = next(iter(value.items()))
        names = as_list(items, (*path, mode), what)
    else:
        mode, names = "any", as_list(value, path, what)
    if allowed is not None:
        bad = [n for n in names if n not in allowed]
        if bad:
            shown = ", ".join(sorted(allowed))
            msg = f"unknown {what} {bad}; allowed: {shown}."
            raise WhenError(msg, path)
    return mode, frozenset(names)


def set_check(mode: str, wanted: frozenset[str], got: frozenset[str]) -> bool:
    if mode == "any":
        return not wanted.isdisjoint(got)
    if mode == "all":
        return wanted <= got
    return wanted.isdisjoint(got)


def get_path(root: Any, dotted: str) -> Any:
    cur = root
    for part in dotted.split("."):
        if isinstance(cur, dict | MappingProxyType):
            cur = cur.get(part, ABSENT)
        elif isinstance(cur, list | tuple) and part.lstrip("-").isdigit():
            idx = int(part)
            cur = cur[idx] if -len(cur) <= idx < len(cur) else ABSENT
        elif isinstance(cur, Mapping):
            cur = cur.get(part, ABSENT)
        else:
            return ABSENT
        if cur is ABSENT:
            return ABSENT
    return cur


_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_.]*)\}")
_ROOTS = ("tool", "agent", "environment", "args", "resource", "credential")


def compile_template(text: str) -> Callable[[Facts], str]:
    """Turn a rule's reason into a function of the facts; `{resource.id}` style placeholders.

    Compiled once per rule, because rendering runs on every matching assessment.
    """
    pieces: list[str | tuple[str, str]] = []
    pos = 0
    for m in _PLACEHOLDER.finditer(text):
        root, _, rest = m.group(1).partition(".")
        if root not in _ROOTS:
            continue  # left as written: a brace in prose is not an error
        pieces.append(text[pos : m.start()])
        pieces.append((root, rest))
        pos = m.end()
    if not pieces:
        return lambda _f: text
    pieces.append(text[pos:])

    def render(f: Facts) -> str:
        out = []
        for piece in pieces:
            if isinstance(piece, str):
                out.append(piece)
                continue
            root, rest = piece
            value = getattr(f, root)
            if rest and value is not None:
                value = get_path(value, rest)
            out.append("?" if value is None or value is ABSENT else _show(value))
        return "".join(out)

    return render


def _show(value: Any) -> str:
    if isinstance(value, frozenset | set | list | tuple):
        return ", ".join(sorted(map(str, value)))
    return str(value)


def compile_predicate(spec: Any, path: tuple[str | int, ...]) -> Callable[[Any], bool]:
    """`spec` is a plain value (equality) or a one-key mapping naming an operator."""
    if not isinstance(spec, dict):
        return lambda v: v is not ABSENT and v == spec
    if len(spec) != 1 or next(iter(spec)) not in PREDICATE_OPS:
        msg = f"a predicate is a value or one of {{{', '.join(PREDICATE_OPS)}}}: got {spec!r}."
        raise WhenError(msg, path)
    op, arg = next(iter(spec.items()))
    p = (*path, op)
    if op == "equals":
        return lambda v: v is not ABSENT and v == arg
    if op == "not_equals":
        return lambda v: v is not ABSENT and v != arg
    if op in ("in", "not_in"):
        if not isinstance(arg, list):
            msg = f"`{op}` takes a list of values, got {arg!r}."
            raise WhenError(msg, p)
        choices = list(arg)
        if op == "in":
            return lambda v: v is not ABSENT and v in choices
        return lambda v: v is not ABSENT and v not in choices
    if op in ("regex", "glob"):
        if not isinstance(arg, str):
            msg = f"`{op}` takes a string pattern, got {arg!r}."
            raise WhenError(msg, p)
        try:
            if op == "regex":
                search = compile_regex(arg, ignore_case=True)
            else:
                search = compile_glob([arg], ignore_case=True)
        except PatternError as exc:
            raise WhenError(str(exc), p) from None
        return lambda v: isinstance(v, str) and search(v)
    if op in ("gt", "gte", "lt", "lte"):
        if isinstance(arg, bool) or not isinstance(arg, int | float):
            msg = f"`{op}` takes a number, got {arg!r}."
            raise WhenError(msg, p)
        import operator

        cmp: Callable[[Any, Any], bool] = {
            "gt": operator.gt,
            "gte": operator.ge,
            "lt": operator.lt,
            "lte": operator.le,
        }[op]
        return lambda v: isinstance(v, int | float) and not isinstance(v, bool) and cmp(v, arg)
    if op == "exists":
        if not isinstance(arg, bool):
            msg = f"`exists` takes true or false, got {arg!r}."
            raise WhenError(msg, p)
        return lambda v: (v is not ABSENT and v is not None) == arg
    # contains: substring of a string, or member of a list/set
    return lambda v: (
        (isinstance(v, str) and isinstance(arg, str) and arg in v)
        or (isinstance(v, list | tuple | frozenset | set) and arg in v)
    )
