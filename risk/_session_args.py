"""Session conditions over what a call's arguments carry: `carries_untrusted` (a link,
address or host that first appeared in untrusted content), `carries_from` (an identifier
from the results of the named tools), `not_requested` (a kind of action no word of the
user's request asked for), `user_gave` (the user's own messages gave these values) and
`new_name` (a text names something nobody trusted named). See `interlock.risk._session` for
the `session:` block.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from interlock.risk._conditions import ABSENT, Check, Facts, WhenError, as_list, get_path, globs
from interlock.risk._regex import PatternError, compile_glob
from interlock.risk._session_types import RAN, Session, number_form, target_values, values_in

__all__ = ["carries_from", "carries_untrusted", "heads", "new_name", "not_requested", "user_gave"]

Path_ = tuple[str | int, ...]
# A link, an e-mail address or a host name: what a passed-on message lets an attacker reach.
_LINK = re.compile(r"://|@|^(?:[a-z0-9-]+\.)+[a-z]{2,}(?:/|$)")


def _session(f: Facts) -> Session | None:
    s = f.session
    return s if s is not None and s.earlier else None


def heads(paths: list[str]) -> Callable[[Mapping[str, Any]], list[str]]:
    """The named argument paths whose first key the call's arguments have, in order: most
    calls name few arguments, so the lookup walks theirs, not the policy's list."""
    by_head: dict[str, list[str]] = {}
    for p in paths:
        by_head.setdefault(p.split(".", 1)[0], []).append(p)
    order = {p: i for i, p in enumerate(paths)}

    def present(args: Mapping[str, Any]) -> list[str]:
        hits = [p for k in args if k in by_head for p in by_head[k]]
        return sorted(hits, key=order.__getitem__) if len(hits) > 1 else hits

    return present


def _tokens(f: Facts, p: str, value: Any) -> frozenset[str]:
    """The target-like tokens of argument `p`, found once per assessment."""
    key = ("tokens", p)
    found: frozenset[str] | None = f.memo.get(key)
    if found is None:
        found = f.memo[key] = values_in(value, limit=256)
    return found


def carries_untrusted(spec: Any, path: Path_) -> Check:
    if not isinstance(spec, dict) or set(spec) != {"args"}:
        msg = "`carries_untrusted` takes {args: [argument paths]}."
        raise WhenError(msg, path)
    present = heads(as_list(spec["args"], (*path, "args"), "args"))
    memo: dict[int, tuple[Session, frozenset[str]]] = {}

    def links_in(s: Session) -> frozenset[str]:
        # The session's tainted links, found once per session (it is assessed again and again).
        found = memo.get(id(s))
        if found is None or found[0] is not s:
            if len(memo) >= 256:
                memo.clear()
            found = memo[id(s)] = (s, frozenset(v for v in s.tainted if _LINK.search(v)))
        return found[1]

    def check(f: Facts) -> bool:
        s = f.session
        if s is None or not s.tainted:
            return False
        links = links_in(s)
        if not links:
            return False
        args = f.args
        for p in present(args):
            value = get_path(args, p)
            if value is ABSENT:
                continue
            if isinstance(value, str):
                # A link is passed on only if its text is there: a substring test first, the
                # tokens (which also normalise case and punctuation) only when one is.
                text = value.lower()
                if not any(v in text for v in links):
                    continue
            if not links.isdisjoint(_tokens(f, p, value)):
                return True
        return False

    return check


def not_requested(spec: Any, path: Path_) -> Check:
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


def carries_from(spec: Any, path: Path_) -> Check:
    if not isinstance(spec, dict) or set(spec) != {"tool", "args"}:
        msg = "`carries_from` takes {tool: [globs], args: [argument paths]}."
        raise WhenError(msg, path)
    glob = globs(spec["tool"], (*path, "tool"), "tool")
    paths = as_list(spec["args"], (*path, "args"), "args")
    present = heads(paths)
    tools: dict[str, bool] = {}
    # The identifiers a session's matching results held, by session (a thread's history is
    # assessed many times over; the scan of its entries is done once).
    memo: dict[int, tuple[Session, frozenset[str]]] = {}

    def matches(name: str) -> bool:
        hit = tools.get(name)
        if hit is None:
            hit = tools[name] = glob(name) if len(tools) < 4096 else False
        return hit

    def held_in(s: Session) -> frozenset[str]:
        found = memo.get(id(s))
        if found is not None and found[0] is s:
            return found[1]
        held = frozenset(
            v
            for e in s.earlier
            if e.outcome in RAN and matches(e.tool)
            for v in e.seen | e.tainted
            if any(c.isdigit() for c in v)
        )
        if len(memo) >= 256:
            memo.clear()
        memo[id(s)] = (s, held)
        return held

    def check(f: Facts) -> bool:
        s = _session(f)
        if s is None:
            return False
        held = held_in(s)
        if not held:
            return False
        args = f.args
        for p in present(args):
            value = get_path(args, p)
            if value is not ABSENT and not held.isdisjoint(_tokens(f, p, value)):
                return True
        return False

    return check


def _given(value: Any, trusted: frozenset[str]) -> bool:
    """Whether the user's own words hold `value` (each item of a list): a number as a number
    ("10.00" is 10), a text as one of its target forms (the URL or its host, any case)."""
    if isinstance(value, list | tuple):
        return bool(value) and all(_given(v, trusted) for v in value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        form = number_form(value)
        return form is not None and form in trusted
    if not isinstance(value, str):
        return False
    if (form := number_form(value)) is not None and form in trusted:
        return True
    forms = target_values(value)
    return bool(forms) and all(not f.isdisjoint(trusted) for f in forms)


def user_gave(spec: Any, path: Path_) -> Check:
    """Every named argument is there and the user's own messages gave its value. An entry
    may list alternatives ([recipient, iban]): one of them must be there and given."""
    if not isinstance(spec, dict) or set(spec) != {"args"} or not spec["args"]:
        msg = "`user_gave` takes {args: [argument paths, or lists of alternative paths]}."
        raise WhenError(msg, path)
    raw = spec["args"] if isinstance(spec["args"], list) else [spec["args"]]
    groups = [as_list(g, (*path, "args", i), "args") for i, g in enumerate(raw)]

    def check(f: Facts) -> bool:
        s = f.session
        if s is None or not s.trusted:
            return False
        args = f.args
        for group in groups:
            values = [v for v in (get_path(args, p) for p in group) if v is not ABSENT]
            if not values or not all(_given(v, s.trusted) for v in values):
                return False
        return True

    return check


# A capitalised word that does not open a sentence: a name (a hotel, a person, a company).
_NAME = re.compile(r"(?<![.!?:]\s)(?<!^)\b[A-Z][a-z][A-Za-z'-]*")
_LETTERS = re.compile(r"[a-z]+")


def new_name(spec: Any, path: Path_) -> Check:
    """A named argument's text names something (a capitalised word inside a sentence) that
    neither the user's words nor a value the thread has seen hold: an injected reminder
    advertises the attacker's hotel this way."""
    if not isinstance(spec, dict) or set(spec) != {"args"}:
        msg = "`new_name` takes {args: [argument paths]}."
        raise WhenError(msg, path)
    present = heads(as_list(spec["args"], (*path, "args"), "args"))
    memo: dict[int, tuple[Session, frozenset[str]]] = {}

    def words_of(s: Session) -> frozenset[str]:
        # The words of everything seen, found once per session.
        found = memo.get(id(s))
        if found is None or found[0] is not s:
            if len(memo) >= 256:
                memo.clear()
            words = frozenset(w for v in s.seen for w in _LETTERS.findall(v))
            found = memo[id(s)] = (s, words)
        return found[1]

    def check(f: Facts) -> bool:
        s = _session(f)
        if s is None:
            return False
        args = f.args
        for p in present(args):
            value = get_path(args, p)
            if not isinstance(value, str):
                continue
            names = [
                w for m in _NAME.finditer(value[:2000]) for w in _LETTERS.findall(m[0].lower())
            ]
            if names and not words_of(s).issuperset(names):
                return True
        return False

    return check
