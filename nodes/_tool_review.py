"""The review of one held call inside its own tool task (`InterlockMiddleware`).

`create_agent` sends each tool call of a turn to the tools node as a task of its own
(`Send("tools", [call])`), so a call that needs a human stops there, at one interrupt of
its own, while the turn's other calls run. The review sees a view of the state in which the
model turn proposes this one call, so its request, digests and decisions are this call's.

Each round is a LangGraph task inside the tool task: a task's namespace, hence its interrupt
id, is new, and a finished round's result is kept, so re-running the tool task on resume
repeats none of its side effects (approvals, audit rows). The "review opened" rows and the
review clock's start are a task too, written once however often the tool task re-runs.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from langchain_core.messages import AIMessage, ToolCall, ToolMessage
from langgraph.config import get_config
from langgraph.func import task
from langgraph.graph.message import add_messages
from langgraph.runtime import ExecutionInfo

from interlock.nodes._gate import Gate, RunScope, Verdict
from interlock.nodes._payloads import ReviewRecord
from interlock.nodes._review import review_round
from interlock.nodes._state import merge_interlock

__all__ = ["Reviewed", "Rounds", "areview_call", "review_call", "review_rounds"]


def _opened_at(gate: Gate, scope: RunScope, held: Verdict) -> str:
    level = held.assessment.level if held.assessment else None
    gate.event(scope, "review", held.call, outcome="review", level=level, verdict=held)
    return scope.context.now.isoformat()


def _review_round(
    gate: Gate, context: Any, info: ExecutionInfo | None, state: Mapping[str, Any], opened: str
) -> tuple[str, dict[str, Any]]:
    # Each round is a task of its own: its namespace, hence its interrupt id, is new.
    ns = str(get_config()["configurable"].get("checkpoint_ns") or "")
    scope = gate.scope(context, info.patch(checkpoint_ns=ns) if info is not None else None)
    return review_round(gate, scope, state, opened_at=opened)


# LangGraph tasks, typed loosely: mypy cannot bind `task(name=...)`'s ParamSpec here.
_task: Any = task
_opened: Any = _task(name="interlock_review_opened")(_opened_at)
_round: Any = _task(name="interlock_review")(_review_round)


@dataclass(frozen=True, kw_only=True)
class Reviewed:
    """What the review decided for the call: the call as decided (an edit applied), its
    decision record when it may run, else the human's answer for it, and the state update
    (the edited model turn, the gate's channel) that goes out with the call's result."""

    call: ToolCall
    record: ReviewRecord | None
    answer: ToolMessage | None
    messages: list[Any] = field(default_factory=list)
    interlock: dict[str, Any] = field(default_factory=dict)


def _view(state: Mapping[str, Any], ai: AIMessage, call: ToolCall) -> dict[str, Any]:
    """`state` with the model turn proposing `call` alone (same message id) and no round."""
    one = ai.model_copy(update={"tool_calls": [call]})
    messages = [one if m is ai else m for m in state.get("messages") or []]
    il = dict(state.get("interlock") or {})
    il["round"] = None
    return {**state, "messages": messages, "interlock": il}


def _merge(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with `update` applied as the graph's reducers would apply it."""
    out = dict(base)
    if "messages" in update:
        out["messages"] = add_messages(out.get("messages") or [], update["messages"])
    if "interlock" in update:
        out["interlock"] = merge_interlock(out.get("interlock"), update["interlock"])
    return out


def _outcome(ai: AIMessage, call: ToolCall, update: Mapping[str, Any]) -> Reviewed:
    cid = call["id"] or ""
    il = dict(update.get("interlock") or {})
    il.pop("round", None)  # rounds live inside the task; the channel keeps decisions only
    answer: ToolMessage | None = None
    decided = call
    for m in update.get("messages") or []:
        if isinstance(m, ToolMessage) and m.tool_call_id == cid:
            answer = m
        elif isinstance(m, AIMessage):
            decided = next((c for c in m.tool_calls if c["id"] == cid), call)
    messages: list[Any] = []
    if decided is not call and answer is None:
        # The edited call replaces the proposal in the model turn, as LangChain's
        # middleware does. Two edited calls of one turn each write the turn with their own
        # edit: the later one's copy is what the thread keeps (the results are each right).
        calls = [decided if c["id"] == cid else c for c in ai.tool_calls]
        messages.append(ai.model_copy(update={"tool_calls": calls}))
    record = (il.get("reviews") or {}).get(cid) if answer is None else None
    return Reviewed(call=decided, record=record, answer=answer, messages=messages, interlock=il)


Rounds = Generator[Any, Any, Reviewed]
"""A review's rounds (`review_rounds`), for `review_call` or `areview_call` to drive."""


def review_rounds(
    gate: Gate,
    context: Any,
    info: ExecutionInfo | None,
    scope: RunScope,
    state: Mapping[str, Any],
    ai: AIMessage,
    held: Verdict,
) -> Rounds:
    """The review of `held` (a call of `ai` that needs a human), round after round, for a
    sync or an async driver (`review_call`, `areview_call`): it yields each LangGraph task's
    future, takes back its result, and returns what the review decided."""
    opened: str = yield _opened(gate, scope, held)
    current = _view(state, ai, held.call)
    update: dict[str, Any] = {}
    while True:
        goto: str
        step: dict[str, Any]
        goto, step = yield _round(gate, context, info, current, opened)
        current, update = _merge(current, step), _merge(update, step)
        if goto != "review":
            return _outcome(ai, held.call, update)


def review_call(rounds: Rounds) -> Reviewed:
    """Run the review to its end, blocking on each round."""
    pending = next(rounds)
    while True:
        try:
            pending = rounds.send(pending.result())
        except StopIteration as done:
            return cast(Reviewed, done.value)


async def areview_call(rounds: Rounds) -> Reviewed:
    """`review_call` under asyncio: the rounds are awaited, never blocked on."""
    pending = next(rounds)
    while True:
        try:
            pending = rounds.send(await pending)
        except StopIteration as done:
            return cast(Reviewed, done.value)
