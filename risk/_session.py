"""The `session:` condition: what the thread did before this action.

```yaml
when:
  effects: {any: [network, spend]}
  session:
    earlier: {signals: {any: [secret.read, untrusted.content]}}   # some earlier action did
    count: {effects: {any: [delete, destroy]}, more_than: 5, within: 1h}
    new_target: {args: [recipient, iban, url], allow: ["*@example.com"]}
    carries_untrusted: {args: [body, content]}
    not_requested: ["calendar*", "meeting*"]
```

`earlier` and `count` match earlier actions by `tool` (globs), `effects`, `signals` (as in
`when`), `outcome` (default: the actions that ran: allow, approved, failed) and `within` (a
window before now: seconds, or "30m", "1h", "2d"). `count` counts earlier actions only, not
the one being assessed. `new_target` holds when a value of one of the named arguments was
never seen: not in the user's request, not in an earlier action's arguments, not in a result
the thread may trust, and not on `allow`. Values read from untrusted content never count as
seen; nor does a value that first appeared in untrusted content and only later in a trusted
result. `carries_untrusted` holds when the text of one of the named arguments holds a link, an
address or a host name that first appeared in untrusted content (`Session.tainted`): a message
that passes on an attacker's link. `not_requested` holds when no word of the user's own
messages matches any of the globs: an action of a kind the user never asked for. Without a
session (a plain `assess()` call) the thread is taken to be fresh.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import Any

from interlock.risk._conditions import (
    ABSENT,
    Check,
    Facts,
    WhenError,
    as_list,
    get_path,
    globs,
    set_check,
    set_match,
)
from interlock.risk._regex import PatternError, compile_glob
from interlock.risk._session_types import (
    RAN,
    SESSION_SIGNALS,
    Earlier,
    Session,
    target_values,
    values_in,
)

__all__ = ["OUTCOMES", "compile_session"]

OUTCOMES = ("allow", "approved", "failed", "review", "rejected", "denied", "refused")
_KEYS = ("earlier", "count", "new_target", "carries_untrusted", "not_requested")
_MATCH_KEYS = ("tool", "effects", "signals", "outcome", "within")
_SPAN = re.compile(r"^(\d+)\s*([smhd]?)$")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
# A link, an e-mail address or a host name: what a passed-on message lets an attacker reach.
_LINK = re.compile(r"://|@|^(?:[a-z0-9-]+\.)+[a-z]{2,}(?:/|$)")

Path_ = tuple[str | int, ...]
_Match = Callable[[Earlier], bool]


def compile_session(
    value: Any, path: Path_, *, signals: Mapping[str, Any], effects: Mapping[str, Any]
) -> list[Check]:
    """The checks of one `session:` block; all must hold."""
    if not isinstance(value, dict) or not value:
        msg = f"`session` takes a mapping with one or more of: {', '.join(_KEYS)}."
        raise WhenError(msg, path)
    known = {**signals, **SESSION_SIGNALS}
    checks: list[Check] = []
    for key, spec in value.items():
        p = (*path, key)
        if key == "earlier":
            checks.append(_earlier(spec, p, known, effects))
        elif key == "count":
            checks.append(_count(spec, p, known, effects))
        elif key == "new_target":
            checks.append(_new_target(spec, p))
        elif key == "carries_untrusted":
            checks.append(_carries(spec, p))
        elif key == "not_requested":
            checks.append(_not_requested(spec, p))
        else:
            msg = f"unknown session condition {key!r}; allowed: {', '.join(_KEYS)}."
            raise WhenError(msg, p)
    return checks


def _session(f: Facts) -> Session | None:
    s = f.session
    return s if s is not None and s.earlier else None


def _window(spec: Any, path: Path_) -> timedelta:
    m = _SPAN.match(str(spec).strip()) if not isinstance(spec, bool) else None
    if m is None or int(m.group(1)) <= 0:
        msg = f"`within` takes a positive span such as 3600, '30m', '1h' or '2d', got {spec!r}."
        raise WhenError(msg, path)
    return timedelta(seconds=int(m.group(1)) * _UNIT[m.group(2)])


def _matcher(
    spec: Any,
    path: Path_,
    signals: Mapping[str, Any],
    effects: Mapping[str, Any],
    extra: tuple[str, ...] = (),
) -> tuple[_Match, timedelta | None, Callable[[Session], bool]]:
    """A test of one earlier entry, its time window, and a cheap test of a whole session that
    is False only when no entry can match (the unions of what ran)."""
    if not isinstance(spec, dict) or not spec:
        msg = f"this session condition takes a mapping of {', '.join(_MATCH_KEYS + extra)}."
        raise WhenError(msg, path)
    bad = [k for k in spec if k not in _MATCH_KEYS + extra]
    if bad:
        msg = f"unknown key {bad[0]!r}; allowed: {', '.join(_MATCH_KEYS + extra)}."
        raise WhenError(msg, (*path, bad[0]))
    tests: list[_Match] = []
    quick: list[Callable[[Session], bool]] = []
    outcomes = RAN
    if "outcome" in spec:
        names = as_list(spec["outcome"], (*path, "outcome"), "outcome")
        wrong = [n for n in names if n not in OUTCOMES]
        if wrong:
            msg = f"unknown outcomes {wrong}; allowed: {', '.join(OUTCOMES)}."
            raise WhenError(msg, (*path, "outcome"))
        outcomes = frozenset(names)
    tests.append(lambda e: e.outcome in outcomes)
    only_ran = outcomes <= RAN
    if "tool" in spec:
        tool = globs(spec["tool"], (*path, "tool"), "tool")
        tests.append(lambda e: tool(e.tool))
    for name, allowed in (("signals", signals), ("effects", effects)):
        if name not in spec:
            continue
        mode, wanted = set_match(spec[name], (*path, name), name, allowed)
        tests.append(_set_test(name, mode, wanted))
        if only_ran and mode in ("any", "all"):
            quick.append(_union_test(name, wanted))
    window = _window(spec["within"], (*path, "within")) if "within" in spec else None

    def match(e: Earlier) -> bool:
        return all(t(e) for t in tests)

    return match, window, lambda s: all(q(s) for q in quick)


def _union_test(name: str, wanted: frozenset[str]) -> Callable[[Session], bool]:
    if name == "signals":
        return lambda s: not wanted.isdisjoint(s.ran_signals)
    return lambda s: not wanted.isdisjoint(s.ran_effects)


def _set_test(name: str, mode: str, wanted: frozenset[str]) -> _Match:
    if name == "signals":
        return lambda e: set_check(mode, wanted, e.signals)
    return lambda e: set_check(mode, wanted, e.effects)


def _entries(s: Session, f: Facts, window: timedelta | None) -> Iterable[Earlier]:
    if window is None:
        return s.earlier
    since = f.now - window
    # An entry with no time is kept: a window must not hide what the gate could not date.
    return (e for e in s.earlier if e.at is None or e.at >= since)


def _earlier(
    spec: Any, path: Path_, signals: Mapping[str, Any], effects: Mapping[str, Any]
) -> Check:
    match, window, quick = _matcher(spec, path, signals, effects)

    def check(f: Facts) -> bool:
        s = _session(f)
        if s is None or not quick(s):
            return False
        return any(match(e) for e in _entries(s, f, window))

    return check


def _count(spec: Any, path: Path_, signals: Mapping[str, Any], effects: Mapping[str, Any]) -> Check:
    extra = ("more_than", "at_least")
    match, window, quick = _matcher(spec, path, signals, effects, extra)
    bounds = [k for k in extra if k in spec]
    if len(bounds) != 1:
        msg = "`count` takes exactly one of more_than: N or at_least: N."
        raise WhenError(msg, path)
    n = spec[bounds[0]]
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        msg = f"`{bounds[0]}` takes a whole number, got {n!r}."
        raise WhenError(msg, (*path, bounds[0]))
    need = n + 1 if bounds[0] == "more_than" else n

    def check(f: Facts) -> bool:
        if need == 0:
            return True
        s = _session(f)
        if s is None or len(s.earlier) < need or not quick(s):
            return False
        got = 0
        for e in _entries(s, f, window):
            if match(e):
                got += 1
                if got >= need:
                    return True
        return False

    return check


def _new_target(spec: Any, path: Path_) -> Check:
    if not isinstance(spec, dict) or "args" not in spec or set(spec) - {"args", "allow"}:
        msg = "`new_target` takes {args: [argument paths], allow: [globs]}."
        raise WhenError(msg, path)
    paths = as_list(spec["args"], (*path, "args"), "args")
    allowed: Callable[[str], bool] = lambda _v: False  # noqa: E731
    if "allow" in spec:
        pats = as_list(spec["allow"], (*path, "allow"), "allow")
        try:
            allowed = compile_glob(pats, ignore_case=True)
        except PatternError as exc:
            raise WhenError(str(exc), (*path, "allow")) from None

    # Most calls name none of the target arguments: look the first key up before walking.
    heads = [(p.split(".", 1)[0], p) for p in paths]

    def check(f: Facts) -> bool:
        s = f.session
        seen = s.seen if s is not None else frozenset()
        args = f.args
        for head, p in heads:
            if head not in args:
                continue
            value = get_path(args, p)
            if value is ABSENT:
                continue
            # A target is known when any of its forms is (the URL or just its host).
            for forms in target_values(value):
                if forms.isdisjoint(seen) and not any(allowed(v) for v in forms):
                    return True
        return False

    return check


def _carries(spec: Any, path: Path_) -> Check:
    if not isinstance(spec, dict) or set(spec) != {"args"}:
        msg = "`carries_untrusted` takes {args: [argument paths]}."
        raise WhenError(msg, path)
    paths = as_list(spec["args"], (*path, "args"), "args")
    heads = [(p.split(".", 1)[0], p) for p in paths]

    def check(f: Facts) -> bool:
        s = f.session
        if s is None or not s.tainted:
            return False
        args = f.args
        for head, p in heads:
            if head not in args:
                continue
            value = get_path(args, p)
            if value is ABSENT:
                continue
            for token in values_in(value, limit=256) & s.tainted:
                if _LINK.search(token):
                    return True
        return False

    return check


def _not_requested(spec: Any, path: Path_) -> Check:
    pats = as_list(spec, path, "not_requested")
    try:
        asked = compile_glob(pats, ignore_case=True)
    except PatternError as exc:
        raise WhenError(str(exc), path) from None
    memo: dict[frozenset[str], bool] = {}

    def check(f: Facts) -> bool:
        s = f.session
        trusted = s.trusted if s is not None else frozenset()
        hit = memo.get(trusted)
        if hit is None:
            hit = not any(asked(v) for v in trusted)
            if len(memo) >= 256:
                memo.clear()
            memo[trusted] = hit
        return hit

    return check
