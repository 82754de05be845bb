"""Compiles a rule's `when:` block into fast checks over an action's facts.

A check returns True or False, or raises `Missing` when it needs a fact the action does not
provide. The engine turns an otherwise-matching rule with a missing fact into a review: it
fails closed rather than guessing.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time
from functools import cached_property
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "WHEN_KEYS",
    "Check",
    "Facts",
    "Freeze",
    "Missing",
    "WhenError",
    "compile_template",
    "compile_when",
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


_ABSENT = object()


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
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _as_list(value: Any, path: tuple[str | int, ...], what: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    msg = f"{what} must be a string or a non-empty list of strings, got {value!r}."
    raise WhenError(msg, path)


def _globs(value: Any, path: tuple[str | int, ...], what: str) -> Callable[[str | None], bool]:
    pats = _as_list(value, path, what)
    rx = re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in pats))
    return lambda s: s is not None and rx.match(s) is not None


def _set_match(
    value: Any, path: tuple[str | int, ...], what: str, allowed: Mapping[str, Any] | None
) -> tuple[str, frozenset[str]]:
    if isinstance(value, dict):
        if len(value) != 1 or next(iter(value)) not in ("any", "all", "none"):
            msg = f"{what} takes a list, or one of {{any: [...]}}, {{all: [...]}}, {{none: [...]}}."
            raise WhenError(msg, path)
        mode, items = next(iter(value.items()))
        names = _as_list(items, (*path, mode), what)
    else:
        mode, names = "any", _as_list(value, path, what)
    if allowed is not None:
        bad = [n for n in names if n not in allowed]
        if bad:
            shown = ", ".join(sorted(allowed))
            msg = f"unknown {what} {bad}; allowed: {shown}."
            raise WhenError(msg, path)
    return mode, frozenset(names)


def _set_check(mode: str, wanted: frozenset[str], got: frozenset[str]) -> bool:
    if mode == "any":
        return not wanted.isdisjoint(got)
    if mode == "all":
        return wanted <= got
    return wanted.isdisjoint(got)


def _get_path(root: Any, dotted: str) -> Any:
    cur = root
    for part in dotted.split("."):
        if isinstance(cur, dict | MappingProxyType):
            cur = cur.get(part, _ABSENT)
        elif isinstance(cur, list | tuple) and part.lstrip("-").isdigit():
            idx = int(part)
            cur = cur[idx] if -len(cur) <= idx < len(cur) else _ABSENT
        elif isinstance(cur, Mapping):
            cur = cur.get(part, _ABSENT)
        else:
            return _ABSENT
        if cur is _ABSENT:
            return _ABSENT
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
                value = _get_path(value, rest)
            out.append("?" if value is None or value is _ABSENT else _show(value))
        return "".join(out)

    return render


def _show(value: Any) -> str:
    if isinstance(value, frozenset | set | list | tuple):
        return ", ".join(sorted(map(str, value)))
    return str(value)


def compile_predicate(spec: Any, path: tuple[str | int, ...]) -> Callable[[Any], bool]:
    """`spec` is a plain value (equality) or a one-key mapping naming an operator."""
    if not isinstance(spec, dict):
        return lambda v: v is not _ABSENT and v == spec
    if len(spec) != 1 or next(iter(spec)) not in PREDICATE_OPS:
        msg = f"a predicate is a value or one of {{{', '.join(PREDICATE_OPS)}}}: got {spec!r}."
        raise WhenError(msg, path)
    op, arg = next(iter(spec.items()))
    p = (*path, op)
    if op == "equals":
        return lambda v: v is not _ABSENT and v == arg
    if op == "not_equals":
        return lambda v: v is not _ABSENT and v != arg
    if op in ("in", "not_in"):
        if not isinstance(arg, list):
            msg = f"`{op}` takes a list of values, got {arg!r}."
            raise WhenError(msg, p)
        choices = list(arg)
        if op == "in":
            return lambda v: v is not _ABSENT and v in choices
        return lambda v: v is not _ABSENT and v not in choices
    if op in ("regex", "glob"):
        if not isinstance(arg, str):
            msg = f"`{op}` takes a string pattern, got {arg!r}."
            raise WhenError(msg, p)
        try:
            rx = re.compile(arg if op == "regex" else fnmatch.translate(arg), re.IGNORECASE)
        except re.error as exc:
            msg = f"invalid regular expression {arg!r}: {exc}."
            raise WhenError(msg, p) from None
        return lambda v: isinstance(v, str) and rx.search(v) is not None
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
        return lambda v: (v is not _ABSENT and v is not None) == arg
    # contains: substring of a string, or member of a list/set
    return lambda v: (
        (isinstance(v, str) and isinstance(arg, str) and arg in v)
        or (isinstance(v, list | tuple | frozenset | set) and arg in v)
    )


def _path_checks(
    block: Any, path: tuple[str | int, ...], root: str, strict_missing: bool
) -> list[Check]:
    if not isinstance(block, dict) or not block:
        msg = f"`{root}` takes a mapping of field paths to predicates, got {block!r}."
        raise WhenError(msg, path)
    checks: list[Check] = []
    for key, spec in block.items():
        pred = compile_predicate(spec, (*path, key))
        tests_existence = isinstance(spec, dict) and "exists" in spec
        checks.append(_make_path_check(root, key, pred, strict_missing and not tests_existence))
    return checks


def _make_path_check(
    root: str, key: str, pred: Callable[[Any], bool], strict_missing: bool
) -> Check:
    fact = f"{root}.{key}"

    def check(f: Facts) -> bool:
        base = f.args if root == "args" else f.resource
        if base is None:
            # No resource at all: the action is not about a resource of that type or id, but a
            # rule asking for an attribute cannot be answered.
            if key in ("type", "id"):
                return False
            raise Missing(root)
        value = _get_path(base, key)
        if value is _ABSENT and strict_missing:
            raise Missing(fact)
        return pred(value)

    return check


def compile_when(
    when: Any,
    path: tuple[str | int, ...] = (),
    *,
    signals: Mapping[str, Any],
    effects: Mapping[str, Any],
    freezes: Mapping[str, Freeze],
) -> list[Check]:
    """All checks of one `when` block; the rule matches when every check holds."""
    if not isinstance(when, dict) or not when:
        msg = f"`when` takes a non-empty mapping of conditions; allowed: {', '.join(WHEN_KEYS)}."
        raise WhenError(msg, path)
    checks: list[Check] = []
    for key, value in when.items():
        p = (*path, key)
        if key == "tool":
            m = _globs(value, p, "tool")
            checks.append(_attr_check("tool", m))
        elif key == "agent":
            m = _globs(value, p, "agent")
            checks.append(_attr_check("agent", m))
        elif key == "environment":
            envs = frozenset(_as_list(value, p, "environment"))

            def env_check(f: Facts, envs: frozenset[str] = envs) -> bool:
                if f.environment is None:
                    msg = "environment"
                    raise Missing(msg)
                return f.environment in envs

            checks.append(env_check)
        elif key == "effects":
            mode, wanted = _set_match(value, p, "effects", effects)

            def eff_check(f: Facts, mode: str = mode, wanted: frozenset[str] = wanted) -> bool:
                if f.effects is None:
                    msg = "effects"
                    raise Missing(msg)
                return _set_check(mode, wanted, f.effects)

            checks.append(eff_check)
        elif key == "signals":
            mode, wanted = _set_match(value, p, "signals", signals)
            checks.append(_signals_check(mode, wanted))
        elif key == "reversible":
            checks.append(_bool_fact(value, p, "reversible"))
        elif key in ("args", "resource"):
            checks.extend(_path_checks(value, p, key, strict_missing=key == "resource"))
        elif key == "credential":
            checks.extend(_credential_checks(value, p))
        elif key == "in_freeze":
            if not isinstance(value, bool):
                msg = f"`in_freeze` takes true or false, got {value!r}."
                raise WhenError(msg, p)
            checks.append(_freeze_check(value))
        elif key == "time":
            checks.append(_time_check(value, p))
        elif key == "any":
            if not isinstance(value, list) or not value:
                msg = "`any` takes a non-empty list of condition blocks."
                raise WhenError(msg, p)
            kw = {"signals": signals, "effects": effects, "freezes": freezes}
            alts = [compile_when(v, (*p, i), **kw) for i, v in enumerate(value)]
            checks.append(_any_check(alts))
        elif key == "not":
            inner = compile_when(value, p, signals=signals, effects=effects, freezes=freezes)
            checks.append(_not_check(inner))
        else:
            msg = f"unknown condition {key!r}; allowed: {', '.join(WHEN_KEYS)}."
            raise WhenError(msg, p)
    return checks


def _attr_check(name: str, match: Callable[[str | None], bool]) -> Check:
    def check(f: Facts) -> bool:
        return match(getattr(f, name))

    return check


def _signals_check(mode: str, wanted: frozenset[str]) -> Check:
    def check(f: Facts) -> bool:
        return _set_check(mode, wanted, f.signals)

    return check


def _freeze_check(want: bool) -> Check:
    def check(f: Facts) -> bool:
        return bool(f.active_freezes) == want

    return check


def _any_check(alternatives: list[list[Check]]) -> Check:
    def check(f: Facts) -> bool:
        return any(all(c(f) for c in alt) for alt in alternatives)

    return check


def _not_check(inner: list[Check]) -> Check:
    def check(f: Facts) -> bool:
        return not all(c(f) for c in inner)

    return check


def _bool_fact(value: Any, path: tuple[str | int, ...], name: str) -> Check:
    if not isinstance(value, bool):
        msg = f"`{name}` takes true or false, got {value!r}."
        raise WhenError(msg, path)

    def check(f: Facts) -> bool:
        got = getattr(f, name)
        if got is None:
            raise Missing(name)
        return bool(got == value)

    return check


def _credential_checks(value: Any, path: tuple[str | int, ...]) -> list[Check]:
    if not isinstance(value, dict) or not value:
        msg = (
            "`credential` takes a mapping: wider_than_environment, name, environments, permissions."
        )
        raise WhenError(msg, path)
    checks: list[Check] = []
    for key, spec in value.items():
        p = (*path, key)
        if key == "wider_than_environment":
            if not isinstance(spec, bool):
                msg = f"`wider_than_environment` takes true or false, got {spec!r}."
                raise WhenError(msg, p)

            # An action that names no credential says nothing about its scope: no match.
            def wide(f: Facts, want: bool = spec) -> bool:
                return f.credential_wide is not None and f.credential_wide == want

            checks.append(wide)
        elif key in ("name", "environments", "permissions"):
            pred = compile_predicate(spec, p)

            def cred(f: Facts, key: str = key, pred: Callable[[Any], bool] = pred) -> bool:
                return f.credential is not None and pred(f.credential[key])

            checks.append(cred)
        else:
            msg = (
                f"unknown credential condition {key!r}; allowed: "
                "wider_than_environment, name, environments, permissions."
            )
            raise WhenError(msg, p)
    return checks


def _time_check(value: Any, path: tuple[str | int, ...]) -> Check:
    if not isinstance(value, dict) or "timezone" not in value:
        msg = "`time` takes {timezone: Area/City, days: [mon, ...], between: ['HH:MM', 'HH:MM']}."
        raise WhenError(msg, path)
    unknown = set(value) - {"timezone", "days", "between"}
    if unknown:
        msg = f"unknown `time` fields {sorted(unknown)}; allowed: timezone, days, between."
        raise WhenError(msg, path)
    try:
        tz = ZoneInfo(str(value["timezone"]))
    except (ZoneInfoNotFoundError, ValueError):
        msg = f"unknown timezone {value['timezone']!r}; use an IANA name such as Europe/Berlin."
        raise WhenError(msg, (*path, "timezone")) from None
    days = value.get("days")
    day_set: frozenset[int] | None = None
    if days is not None:
        names = _as_list(days, (*path, "days"), "days")
        bad = [d for d in names if d.lower()[:3] not in _DAYS]
        if bad:
            msg = f"unknown days {bad}; use {', '.join(_DAYS)}."
            raise WhenError(msg, (*path, "days"))
        day_set = frozenset(_DAYS.index(d.lower()[:3]) for d in names)
    window: tuple[time, time] | None = None
    if "between" in value:
        between = value["between"]
        try:
            start, end = (time.fromisoformat(str(x)) for x in between)
        except (TypeError, ValueError):
            msg = f"`between` takes two times like ['18:00', '08:00'], got {between!r}."
            raise WhenError(msg, (*path, "between")) from None
        window = (start, end)

    def check(f: Facts) -> bool:
        local = f.now.astimezone(tz)
        if day_set is not None and local.weekday() not in day_set:
            return False
        if window is None:
            return True
        t, (start, end) = local.time().replace(tzinfo=None), window
        return start <= t < end if start <= end else (t >= start or t < end)

    return check
