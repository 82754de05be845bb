"""`values_in`: the target-like values of an argument or a result. A single text and a flat
mapping of texts take a shortcut past the walk; they must find what the walk finds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from interlock.risk import Earlier, Session, values_in

_TEXT = st.text(st.sampled_from(list("abcXYZ019._-@/:%+ \n'\"<>²٣é,;!?()[]{}")), max_size=60)


@settings(max_examples=400, deadline=None)
@given(text=_TEXT)
def test_a_text_finds_what_the_walk_finds(text: str) -> None:
    assert values_in(text) == values_in([text])


@settings(max_examples=400, deadline=None)
@given(args=st.dictionaries(st.text(max_size=4), _TEXT, max_size=6))
def test_flat_arguments_find_what_the_walk_finds(args: dict[str, str]) -> None:
    assert values_in(args) == values_in([args]) == values_in({"outer": args})


def test_what_counts_as_a_target() -> None:
    found = values_in(
        {"to": "Mallory <mallory@evil.example>", "note": "see docs.example.org, ticket ab12cd"}
    )
    assert {"mallory@evil.example", "docs.example.org", "ab12cd"} <= found
    assert not {"ticket", "see"} & found  # plain words never count
    assert values_in("identifier") == frozenset({"identifier"})  # a short value, whole


def test_a_session_key_tells_two_histories_of_one_length_apart() -> None:
    now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    a = Session((Earlier(tool="rm", at=now),))
    b = Session((Earlier(tool="rm", at=now + timedelta(microseconds=1)),))
    assert a.key != b.key
    assert a.key == Session((Earlier(tool="rm", at=now),)).key
