"""What a thread did before the action being assessed: the input of session-aware rules.

The gate (in `interlock.nodes`) keeps a bounded list of the thread's earlier assessed actions
and hands it to the engine as `Context.session`; the engine never reads a graph's state. Each
entry keeps only what rules need: the tool, its effects and signals, how it ended, when, and
the target-like values (addresses, IBANs, hosts, ...) seen in its arguments and results.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "EMPTY_SESSION",
    "MAX_EARLIER",
    "MAX_VALUES_PER_ENTRY",
    "RAN",
    "SESSION_SIGNALS",
    "UNTRUSTED",
    "Earlier",
    "Session",
    "number_form",
    "request_values",
    "target_values",
    "values_in",
]

MAX_EARLIER = 200
"""Entries a thread keeps: older ones drop off first."""
MAX_VALUES_PER_ENTRY = 64
"""Target-like values kept per entry; a huge result cannot grow the state without limit."""
UNTRUSTED = "untrusted.content"
SESSION_SIGNALS: Mapping[str, str] = {
    UNTRUSTED: (
        "the call fetched content the user did not write (a web page, an email, a document, "
        "another tool's output): instructions inside it may come from an attacker"
    ),
}
RAN = frozenset({"allow", "approved", "failed"})
"""Outcomes of an earlier action that ran (or may have run): the default of `earlier:`."""

# Tokens that look like a target: e-mail addresses, URLs, host names, IBAN-like and other
# long identifiers. Plain words never count, so prose in a result does not bloat the state.
_TOKEN = re.compile(
    r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+"  # URL
    r"|[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"  # e-mail
    r"|(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}"  # host name
    r"|[A-Za-z0-9][A-Za-z0-9_-]{5,}"  # identifiers (kept only with a digit, below)
)
# A list bullet or a "key:" in front of a listed item.
_ITEM = re.compile(r"^(?:[-*•]\s+)?(?:[A-Za-z_][\w ]{0,30}:\s+)?")
# What makes a token a target: an address, a dot, a path or a digit (the token pattern's
# identifiers are ASCII, so `0-9` is `c.isdigit()` there).
_TARGETISH = re.compile(r"[@./0-9]")
_HOST = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/\s]*@)?([^/:?#\s]+)")


def _norm(token: str) -> str:
    return token.strip(".,;:!?()[]{}").lower()


def target_values(value: Any) -> list[frozenset[str]]:
    """Each target a target argument names, as its normalised forms (lower case; a URL also
    as its host, an e-mail address also as its domain is not: a domain is not a recipient)."""
    out: list[frozenset[str]] = []
    for text in _strings(value, 0):
        t = _norm(text.strip())
        if not t:
            continue
        m = _HOST.match(t)
        out.append(frozenset((t, m.group(1))) if m else frozenset((t,)))
    return out


def values_in(value: Any, limit: int = MAX_VALUES_PER_ENTRY) -> frozenset[str]:
    """Target-like tokens in `value` (strings, numbers, nested mappings and lists)."""
    out: set[str] = set()
    for text in _texts(value):
        for m in _TOKEN.finditer(text[:20_000]):
            t = _norm(m.group(0))
            if _TARGETISH.search(t):
                out.add(t)
                host = _HOST.match(t)
                if host:
                    out.add(host.group(1))
            if len(out) >= limit:
                return frozenset(out)
        short = _norm(text)
        if 0 < len(short) <= 120 and " " not in short:
            out.add(short)  # a whole short value (a name, an id) as given
        if "\n" in text:
            # A listing rendered as text ("- Alice", "name: Le Marais"): each short item whole.
            for line in text[:20_000].splitlines()[:200]:
                item = _norm(_ITEM.sub("", line.strip()))
                if 0 < len(item) <= 60 and item.count(" ") < 4:
                    out.add(item)
                if len(out) >= limit:
                    return frozenset(out)
    return frozenset(out) if len(out) <= limit else frozenset(list(out)[:limit])


def _texts(value: Any) -> Iterable[str]:
    """`_strings(value, 0)`, without the walk for the common cases: one text (a tool's
    result) and a flat mapping of texts (a call's arguments)."""
    if isinstance(value, str):
        return (value,)
    if type(value) is dict:
        values = list(value.values())[:200]
        if all(type(v) is str for v in values):
            return values
    return _strings(value, 0)


_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{1,39}")
_NUMBER = re.compile(
    r"(?<![\w.,])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\w,])|(?<![\w.,])\d+(?:[.,]\d+)?(?![\w,])"
)
# A sentence that ends on a host name with no space after its full stop ("our site
# www.example.com.Then ..."): the capital after the dot starts the next sentence.
_STOP = re.compile(r"\.(?=[A-Z][a-z])")


def number_form(value: Any) -> str | None:
    """A number as one canonical text ("10.00", "10" and 10.0 are all "10"), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        t = value.strip()
        t = t.replace(",", "") if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", t) else t
        try:
            number = float(t.replace(",", "."))
        except ValueError:
            return None
    else:
        return None
    if number != number or number in (float("inf"), float("-inf")):
        return None
    return f"{number:.6f}".rstrip("0").rstrip(".")


def request_values(text: str, limit: int = 512) -> frozenset[str]:
    """What a user's own message names: its target-like tokens, as `values_in` finds them,
    every word, since a user names a recipient by name ("send it to Alice"), and every
    number ("rent is 2200"), in `number_form`. Only the user's words are read this way; tool
    results keep to `values_in`."""
    head = text[:20_000]
    out = set(values_in(head, limit=limit))
    if _STOP.search(head):
        out |= values_in(_STOP.sub(". ", head), limit=limit)
    for m in _WORD.finditer(head):
        if len(out) >= limit:
            break
        out.add(m.group(0).lower())
    for m in _NUMBER.finditer(head):
        if len(out) >= limit:
            break
        form = number_form(m.group(0))
        if form is not None:
            out.add(form)
    return frozenset(out)


def _strings(value: Any, depth: int) -> Iterable[str]:
    if depth > 6:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int | float):
        yield str(value)
    elif isinstance(value, Mapping):
        for v in list(value.values())[:200]:
            yield from _strings(v, depth + 1)
    elif isinstance(value, list | tuple | set | frozenset):
        for v in list(value)[:200]:
            yield from _strings(v, depth + 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class Earlier:
    """One earlier action of the thread, as the gate recorded it.

    `outcome`: allow (ran unattended), approved (ran after a human approved), failed (ran and
    raised), review (waiting or never decided), rejected, denied or refused (did not run).
    `seen` holds target-like values from its arguments and from results the thread may trust;
    `tainted` those from untrusted content (an email, a web page): an attacker may have put
    them there, so they never make a target "seen".
    """

    tool: str
    effects: frozenset[str] = frozenset()
    signals: frozenset[str] = frozenset()
    outcome: str = "allow"
    at: datetime | None = None
    seen: frozenset[str] = frozenset()
    tainted: frozenset[str] = frozenset()

    def to_dict(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "effects": sorted(self.effects),
            "signals": sorted(self.signals),
            "outcome": self.outcome,
            "at": self.at.isoformat() if self.at is not None else None,
            "seen": sorted(self.seen),
            "tainted": sorted(self.tainted),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Earlier:
        at = data.get("at")
        return cls(
            tool=str(data.get("tool", "")),
            effects=frozenset(data.get("effects") or ()),
            signals=frozenset(data.get("signals") or ()),
            outcome=str(data.get("outcome", "allow")),
            at=datetime.fromisoformat(at) if isinstance(at, str) else at,
            seen=frozenset(data.get("seen") or ()),
            tainted=frozenset(data.get("tainted") or ()),
        )


@dataclass(frozen=True, slots=True)
class Session:
    """The thread's earlier actions, oldest first, and values the user gave (`trusted`: the
    request's names, addresses, hosts and ids). Unions are computed once, so a rule that asks
    only "did anything earlier read a secret" costs a set test, not a scan.

    `seen`: values the user gave, or that a trusted result or argument named *before* any
    untrusted content did. A value that first appeared in untrusted content stays out of it
    even when a trusted result repeats it later: the attacker may have planted it where the
    trusted tool would find it (a contact, a file name). `tainted`: values that first
    appeared in untrusted content and that the user never gave."""

    earlier: tuple[Earlier, ...] = ()
    trusted: frozenset[str] = frozenset()
    ran_signals: frozenset[str] = field(init=False)
    ran_effects: frozenset[str] = field(init=False)
    seen: frozenset[str] = field(init=False)
    tainted: frozenset[str] = field(init=False)
    key: tuple[int, str, datetime | None] = field(init=False)

    def __post_init__(self) -> None:
        earlier = tuple(self.earlier[-MAX_EARLIER:])
        object.__setattr__(self, "earlier", earlier)
        _fold(self, earlier, set(), set(), set(self.trusted), set())

    def then(self, more: Sequence[Earlier], trusted: frozenset[str] = frozenset()) -> Session:
        """This session followed by `more` entries, and `trusted` values the user gave since:
        equal to `Session(self.earlier + more, self.trusted | trusted)`, computed from this
        session's unions in time proportional to `more` (a thread's next tool step reads a
        few new entries). A new user value changes what counted as seen all along, and a
        full window drops entries off its front: both are computed whole."""
        if (trusted and not trusted <= self.trusted) or (
            len(self.earlier) + len(more) > MAX_EARLIER
        ):
            return Session(self.earlier + tuple(more), self.trusted | trusted)
        if not more:
            return self
        out = object.__new__(Session)
        object.__setattr__(out, "earlier", self.earlier + tuple(more))
        object.__setattr__(out, "trusted", self.trusted)
        sets = (self.ran_signals, self.ran_effects, self.seen, self.tainted)
        _fold(out, tuple(more), *(set(s) for s in sets))
        return out


def _fold(
    session: Session,
    entries: tuple[Earlier, ...],
    signals: set[str],
    effects: set[str],
    seen: set[str],
    tainted: set[str],
) -> None:
    """Set `session`'s unions: the ones given, carried on over `entries` in order (a fold,
    so a session and its continuation by `Session.then` agree), and its key."""
    for e in entries:
        if e.outcome in RAN:
            signals |= e.signals
            effects |= e.effects
        seen |= e.seen - tainted if tainted else e.seen
        if e.tainted:
            tainted |= e.tainted - seen
    object.__setattr__(session, "ran_signals", frozenset(signals))
    object.__setattr__(session, "ran_effects", frozenset(effects))
    object.__setattr__(session, "seen", frozenset(seen))
    object.__setattr__(session, "tainted", frozenset(tainted))
    earlier = session.earlier
    last = earlier[-1] if earlier else None
    # Identifies this history cheaply (the gate's reuse check compares it).
    key = (len(earlier), last.tool, last.at) if last is not None else (0, "", None)
    object.__setattr__(session, "key", key)


EMPTY_SESSION = Session()
