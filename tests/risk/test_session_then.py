"""`Session.then`: a thread's session carried on by a few entries equals the session read
whole, so the gate's per-step incremental read decides exactly as a full read would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from interlock.risk import MAX_EARLIER, UNTRUSTED, Earlier, Session

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
_VALUES = st.frozensets(st.sampled_from(["a@x.example", "b@x.example", "host.example", "id-123"]))

_ENTRY = st.builds(
    Earlier,
    tool=st.sampled_from(["read_inbox", "send_email", "rm"]),
    effects=st.frozensets(st.sampled_from(["read", "network", "delete"])),
    signals=st.frozensets(st.sampled_from([UNTRUSTED, "secret.read"])),
    outcome=st.sampled_from(["allow", "approved", "failed", "denied", "review"]),
    at=st.integers(0, 1000).map(lambda s: NOW + timedelta(seconds=s)),
    seen=_VALUES,
    tainted=_VALUES,
)


def _same(a: Session, b: Session) -> None:
    for name in ("earlier", "trusted", "ran_signals", "ran_effects", "seen", "tainted", "key"):
        assert getattr(a, name) == getattr(b, name), name


@settings(max_examples=300, deadline=None)
@given(
    first=st.lists(_ENTRY, max_size=8),
    more=st.lists(_ENTRY, max_size=8),
    trusted=_VALUES,
    later=_VALUES,
)
def test_then_equals_the_session_read_whole(
    first: list[Earlier], more: list[Earlier], trusted: frozenset[str], later: frozenset[str]
) -> None:
    whole = Session(tuple(first + more), trusted | later)
    _same(Session(tuple(first), trusted).then(more, later), whole)


def test_then_with_nothing_new_is_the_same_object() -> None:
    s = Session((Earlier(tool="rm", at=NOW),), frozenset({"a@x.example"}))
    assert s.then([], frozenset({"a@x.example"})) is s


def test_then_past_the_window_keeps_the_last_entries() -> None:
    entries = [Earlier(tool="rm", at=NOW + timedelta(seconds=i)) for i in range(MAX_EARLIER + 5)]
    carried = Session(tuple(entries[:MAX_EARLIER])).then(entries[MAX_EARLIER:])
    _same(carried, Session(tuple(entries)))
    assert len(carried.earlier) == MAX_EARLIER
    assert carried.earlier[-1].at == entries[-1].at
