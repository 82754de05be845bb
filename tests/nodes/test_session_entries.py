"""How a call's history entry is kept in its ToolMessage: compact JSON text (a checkpoint
serializes every message again at each step), read back exactly; the mapping form older
threads hold still reads the same; a damaged entry is skipped as if none were there."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from interlock.nodes._session import SESSION_KEY, record_entry, session_of
from interlock.risk import UNTRUSTED, Earlier

ENTRY = Earlier(
    tool="read_inbox",
    effects=frozenset({"read"}),
    signals=frozenset({UNTRUSTED}),
    outcome="allow",
    at=datetime(2026, 1, 1, 9, 30, tzinfo=UTC),
    seen=frozenset({"bob@corp.example"}),
    tainted=frozenset({"mallory@evil.example"}),
)


def _thread(answer: ToolMessage) -> list[AnyMessage]:
    turn = AIMessage("", id="a", tool_calls=[{"name": "read_inbox", "args": {}, "id": "c"}])
    return [HumanMessage("Summarise my inbox", id="h"), turn, answer]


def test_the_entry_is_compact_json_text_that_reads_back_exactly() -> None:
    msg = record_entry(ToolMessage("mail", tool_call_id="c", id="t"), ENTRY)
    text = msg.response_metadata[SESSION_KEY]
    assert isinstance(text, str)
    assert json.loads(text) == ENTRY.to_dict()
    assert session_of(_thread(msg)).earlier == (ENTRY,)


def test_a_checkpointed_entry_reads_back_after_a_round_trip_through_the_serializer() -> None:
    serde = JsonPlusSerializer()
    msg = record_entry(ToolMessage("mail", tool_call_id="c", id="t"), ENTRY)
    (back,) = serde.loads_typed(serde.dumps_typed([msg]))
    assert back.response_metadata[SESSION_KEY] is not msg.response_metadata[SESSION_KEY]
    session = session_of(_thread(back))
    assert session.earlier == (ENTRY,)
    assert "mallory@evil.example" in session.tainted


def test_an_older_thread_with_the_mapping_form_reads_the_same_session() -> None:
    old = ToolMessage("mail", tool_call_id="c", id="t")
    old.response_metadata = {SESSION_KEY: ENTRY.to_dict()}
    new = record_entry(ToolMessage("mail", tool_call_id="c", id="t"), ENTRY)
    assert session_of(_thread(old)) == session_of(_thread(new))


def test_a_damaged_entry_is_skipped() -> None:
    for damaged in ("{not json", "[1, 2]", '{"at": "not a time"}', "7"):
        msg = ToolMessage("mail", tool_call_id="c", id="t")
        msg.response_metadata = {SESSION_KEY: damaged}
        assert session_of(_thread(msg)).earlier == ()
