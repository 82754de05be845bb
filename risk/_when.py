"""A rule's `when:` block, compiled: one check per condition, all of which must hold."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from interlock.risk._conditions import (
    ABSENT,
    DAYS,
    WHEN_KEYS,
    Check,
    Facts,
    Freeze,
    Missing,
    WhenError,
    as_list,
    compile_predicate,
    get_path,
    globs,
    set_check,
    set_match,
)
from interlock.risk._session import compile_session

__all__ = ["compile_when"]

_MAX_PATH = 40  # `any`/`not` levels (and their list indices) inside one `when` block


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
        value = get_path(base, key)
        if value is ABSENT and strict_missing:
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
    if len(path) > _MAX_PATH:
        msg = f"conditions nest more than {_MAX_PATH} levels deep; flatten this `when` block."
        raise WhenError(msg, path)
    checks: list[Check] = []
    for key, value in when.items():
        p = (*path, key)
        if key == "tool":
            m = globs(value, p, "tool")
            checks.append(_attr_check("tool", m))
        elif key == "agent":
            m = globs(value, p, "agent")
            checks.append(_attr_check("agent", m))
        elif key == "environment":
            envs = frozenset(as_list(value, p, "environment"))

            def env_check(f: Facts, envs: frozenset[str] = envs) -> bool:
                if f.environment is None:
                    msg = "environment"
                    raise Missing(msg)
                return f.environment in envs

            checks.append(env_check)
        elif key == "effects":
            mode, wanted = set_match(value, p, "effects", effects)

            def eff_check(f: Facts, mode: str = mode, wanted: frozenset[str] = wanted) -> bool:
                if f.effects is None:
                    msg = "effects"
                    raise Missing(msg)
                return set_check(mode, wanted, f.effects)

            checks.append(eff_check)
        elif key == "signals":
            mode, wanted = set_match(value, p, "signals", signals)
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
        elif key == "session":
            checks.extend(compile_session(value, p, signals=signals, effects=effects))
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
        return set_check(mode, wanted, f.signals)

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
        names = as_list(days, (*path, "days"), "days")
        bad = [d for d in names if d.lower()[:3] not in DAYS]
        if bad:
            msg = f"unknown days {bad}; use {', '.join(DAYS)}."
            raise WhenError(msg, (*path, "days"))
        day_set = frozenset(DAYS.index(d.lower()[:3]) for d in names)
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
