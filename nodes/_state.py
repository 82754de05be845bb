"""The state a gated graph keeps, and small readers of it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, NotRequired

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolCall, ToolMessage
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict

from interlock.nodes._payloads import InterlockState, ReviewRecord

__all__ = [
    "GatedState",
    "answered_ids",
    "last_ai_message",
    "merge_interlock",
    "message_text",
    "open_calls",
    "record_for",
    "user_request",
]


def merge_interlock(left: InterlockState | None, right: InterlockState | None) -> InterlockState:
    """Reducer of the `interlock` channel: decisions accumulate, the round is replaced."""
    out: dict[str, Any] = dict(left or {})
    for key, value in (right or {}).items():
        if key in ("reviews", "rejected"):
            out[key] = {**(out.get(key) or {}), **dict(value or {})}  # type: ignore[call-overload]
        else:
            out[key] = value
    return out  # type: ignore[return-value]


class GatedState(TypedDict):
    """Messages plus the gate's own channel. Extend it to add fields of your own."""

    messages: Annotated[list[AnyMessage], add_messages]
    interlock: NotRequired[Annotated[InterlockState, merge_interlock]]


def last_ai_message(messages: Sequence[AnyMessage]) -> AIMessage | None:
    """The latest model turn, when it is the last message."""
    if messages and isinstance(messages[-1], AIMessage):
        return messages[-1]
    # After a review answered some calls with ToolMessages, the AI turn sits before them.
    for msg in reversed(messages):
        if isinstance(msg, AIMessage):
            return msg
        if not isinstance(msg, ToolMessage):
            return None
    return None


def answered_ids(messages: Sequence[AnyMessage], ai: AIMessage) -> set[str]:
    """Ids of `ai`'s tool calls that already have a ToolMessage after it."""
    seen: set[str] = set()
    after = False
    for msg in messages:
        if msg is ai:
            after = True
        elif after and isinstance(msg, ToolMessage):
            seen.add(msg.tool_call_id)
    return seen


def record_for(state: Mapping[str, Any], ai: AIMessage, tool_call_id: str) -> ReviewRecord | None:
    """The review decision recorded for a call of this AI turn, if any."""
    reviews = (state.get("interlock") or {}).get("reviews") or {}
    rec = reviews.get(tool_call_id)
    if rec is None or rec.get("message_id") not in (None, ai.id):
        return None
    return rec  # type: ignore[no-any-return]


def open_calls(
    state: Mapping[str, Any], ai: AIMessage
) -> list[tuple[ToolCall, ReviewRecord | None]]:
    """The calls of `ai` that have no ToolMessage yet, each with its recorded decision."""
    answered = answered_ids(state["messages"], ai)
    return [
        (call, record_for(state, ai, call["id"] or ""))
        for call in ai.tool_calls
        if call["id"] not in answered
    ]


def message_text(msg: AnyMessage) -> str:
    content = msg.content
    if isinstance(content, str):
        return content
    parts = []
    for block in content:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, dict) and block.get("type") == "text":
            parts.append(str(block.get("text", "")))
    return "\n".join(parts)


def user_request(messages: Sequence[AnyMessage]) -> str:
    for msg in messages:
        if isinstance(msg, HumanMessage):
            return message_text(msg)
    return ""
