"""The thread's session read incrementally (`thread_session`) is always the session read from
all of its messages (`session_of`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage

from interlock.nodes._session import MAX_EARLIER, SESSION_KEY, session_of, thread_session
from interlock.risk import Earlier


def _answer(n: int, value: str) -> ToolMessage:
    entry = Earlier(
        tool="lookup",
        effects=frozenset({"read"}),
        outcome="allow",
        at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=n),
        seen=frozenset({value}),
    )
    msg = ToolMessage(value, tool_call_id=f"c{n}", id=f"t{n}")
    msg.response_metadata = {SESSION_KEY: entry.to_dict()}
    return msg


def _turn(n: int) -> AIMessage:
    return AIMessage("", id=f"a{n}", tool_calls=[{"name": "lookup", "args": {}, "id": f"c{n}"}])


def test_each_step_reads_the_same_session_as_a_full_read() -> None:
    messages: list[AnyMessage] = [HumanMessage("Look up k0 and bob@corp.example", id="h")]
    for n in range(6):
        messages = [*messages, _turn(n)]  # add_messages makes a new list each step
        assert thread_session(messages, "t-inc") == session_of(messages)
        messages = [*messages, _answer(n, f"k{n}")]
        if n == 3:
            messages = [*messages, HumanMessage("also carol@corp.example", id="h2")]
    assert thread_session(messages, "t-inc") == session_of(messages)
    assert len(session_of(messages).earlier) == 6


def test_a_long_thread_keeps_only_the_last_entries_as_a_full_read_does() -> None:
    messages: list[AnyMessage] = [HumanMessage("Look everything up", id="h")]
    for n in range(MAX_EARLIER + 5):
        messages = [*messages, _turn(n), _answer(n, f"k{n}")]
        got = thread_session(messages, "t-long")
        assert got == session_of(messages)
    assert len(got.earlier) == MAX_EARLIER
    assert "k0" not in got.seen  # the oldest entries fell out of the window


def test_a_message_replaced_by_id_is_read_again() -> None:
    messages: list[AnyMessage] = [HumanMessage("hi", id="h"), _turn(0), _answer(0, "k0")]
    thread_session(messages, "t-edit")
    edited = [messages[0], messages[1], _answer(0, "other-9"), _turn(1)]
    assert thread_session(edited, "t-edit") == session_of(edited)
    assert "other-9" in thread_session(edited, "t-edit").seen
    fewer = [messages[0], _turn(1)]  # a removal: shorter than what was read
    assert thread_session(fewer, "t-edit") == session_of(fewer)
