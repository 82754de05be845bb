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
    carries_from: {tool: ["*user_info*"], args: [body]}
    user_gave: {args: [amount, [recipient, iban]]}
    new_name: {args: [title, description]}
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
session (a plain `assess()` call) the thread is taken to be fresh. `carries_from` holds when
one of the named arguments holds an identifier (a token with a digit: a passport, card or
account number) that an earlier result of a matching tool held: the user's own records
leaving in a message. `user_gave` holds when every named argument is there and its value is
one the user's own messages gave (a number as a number, an address, an IBAN; an entry that
lists alternatives needs one of them): what the user said, not what the agent chose.
`new_name` holds when the text of a named argument has a capitalised word inside a sentence
(a name) that neither the user's words nor any seen value holds.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
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
from interlock.risk._session_args import (
    carries_from,
    carries_untrusted,
    heads,
    new_name,
    not_requested,
    user_gave,
)
from interlock.risk._session_types import (
    RAN,
    SESSION_SIGNALS,
    Earlier,
    Session,
    target_values,
)

__all__ = ["OUTCOMES", "compile_session"]

OUTCOMES = ("allow", "approved", "failed", "review", "rejected", "denied", "refused")
_KEYS = (
    "earlier",
    "count",
    "new_target",
    "carries_untrusted",
    "not_requested",
    "carries_from",
    "user_gave",
    "new_name",
)
_MATCH_KEYS = ("tool", "effects", "signals", "outcome", "within")
_SPAN = re.compile(r"^(\d+)\s*([smhd]?)$")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}

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
            checks.append(carries_untrusted(spec, p))
        elif key == "not_requested":
            checks.append(not_requested(spec, p))
        elif key == "carries_from":
            checks.append(carries_from(spec, p))
        elif key == "user_gave":
            checks.append(user_gave(spec, p))
        elif key == "new_name":
            checks.append(new_name(spec, p))
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
) -> tuple[_Match, timedelta | None, Callable[[Session], bool], bool]:
    """A test of one earlier entry, its time window, a cheap test of a whole session that is
    False only when no entry can match (the unions of what ran), and whether that cheap test
    is the whole answer (one `any:` set over the actions that ran, no tool, no window)."""
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
    sets = [k for k in ("signals", "effects") if k in spec]
    exact = (
        outcomes == RAN
        and len(quick) == 1
        and set(spec) - set(extra) == set(sets)
        and len(sets) == 1
        and set_match(spec[sets[0]], path, sets[0], signals if sets[0] == "signals" else effects)[0]
        == "any"
    )

    def match(e: Earlier) -> bool:
        for t in tests:  # noqa: SIM110 (a plain loop is faster; it runs per entry of a thread)
            if not t(e):
                return False
        return True

    if len(quick) == 1:
        return match, window, quick[0], exact
    return match, window, lambda s: all(q(s) for q in quick), exact


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
    match, window, quick, exact = _matcher(spec, path, signals, effects)

    def check(f: Facts) -> bool:
        s = _session(f)
        if s is None or not quick(s):
            return False
        if exact:
            return True  # some entry that ran carries one of the sets' values: that is all
        return any(match(e) for e in _entries(s, f, window))

    return check


def _count(spec: Any, path: Path_, signals: Mapping[str, Any], effects: Mapping[str, Any]) -> Check:
    extra = ("more_than", "at_least")
    match, window, quick, _exact = _matcher(spec, path, signals, effects, extra)
    bounds = [k for k in extra if k in spec]
    if len(bounds) != 1:
        msg = "`count` takes exactly one of more_than: N or at_least: N."
        raise WhenError(msg, path)
    n = spec[bounds[0]]
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        msg = f"`{bounds[0]}` takes a whole number, got {n!r}."
        raise WhenError(msg, (*path, bounds[0]))
    need = n + 1 if bounds[0] == "more_than" else n

    # Per session, the times of its matching entries, sorted (a thread's history is assessed
    # for every call it makes; the window is then a binary search, not a scan).
    memo: dict[int, tuple[Session, int, list[datetime]]] = {}

    def matching(s: Session) -> tuple[int, list[datetime]]:
        found = memo.get(id(s))
        if found is None or found[0] is not s:
            hits = [e for e in s.earlier if match(e)]
            ats = sorted(e.at for e in hits if e.at is not None)
            if len(memo) >= 256:
                memo.clear()
            found = memo[id(s)] = (s, len(hits) - len(ats), ats)
        return found[1], found[2]

    def check(f: Facts) -> bool:
        if need == 0:
            return True
        s = _session(f)
        if s is None or len(s.earlier) < need or not quick(s):
            return False
        undated, ats = matching(s)
        if window is None:
            return undated + len(ats) >= need
        # An entry with no time is kept: a window must not hide what the gate could not date.
        return undated + len(ats) - bisect_left(ats, f.now - window) >= need

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

    present = heads(paths)

    def check(f: Facts) -> bool:
        s = f.session
        seen = s.seen if s is not None else frozenset()
        args = f.args
        for p in present(args):
            value = get_path(args, p)
            if value is ABSENT:
                continue
            # A target is known when any of its forms is (the URL or just its host).
            for forms in target_values(value):
                if forms.isdisjoint(seen) and not any(allowed(v) for v in forms):
                    return True
        return False

    return check
