"""The routing function after the model: allowed calls go straight to guarded execution,
anything that needs a human goes to the review node."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from langchain_core.messages import AIMessage
from langgraph.constants import END
from langgraph.runtime import ExecutionInfo, get_runtime

from interlock.nodes._gate import Gate, RunScope, Verdict
from interlock.nodes._session import with_session
from interlock.nodes._state import last_ai_message, open_calls

__all__ = ["held_calls", "make_router"]


def _current_run() -> tuple[Any, ExecutionInfo | None]:
    """The run's context and execution info (its thread), or Nones outside a run."""
    try:
        runtime: Any = get_runtime()
    except Exception:
        return None, None
    if runtime is None:  # e.g. update_state
        return None, None
    return runtime.context, getattr(runtime, "execution_info", None)


def held_calls(
    gate: Gate, scope: RunScope, state: Mapping[str, Any], ai: AIMessage
) -> list[Verdict]:
    """The verdicts of `ai`'s open, undecided calls that need a human, in call order."""
    rejected = (state.get("interlock") or {}).get("rejected")
    scope = with_session(scope, state)
    held: list[Verdict] = []
    for call, record in open_calls(state, ai):
        if record is not None:
            continue
        verdict = gate.assess_call(call, scope, rejected, reuse=True)
        if verdict.kind == "review":
            held.append(verdict)
    return held


def make_router(
    gate: Gate, *, tools: str = "tools", review: str = "review", end: str = END
) -> Callable[[Mapping[str, Any]], str]:
    """The routing function after the model: review when any call needs a human.

    A plain function on purpose: under `ainvoke`/`astream` LangGraph runs a sync path
    function in its executor, off the event loop, which the stop-switch reads need."""

    def route_after_model(state: Mapping[str, Any]) -> str:
        messages = state["messages"]
        ai = last_ai_message(messages)
        if ai is None or not ai.tool_calls:
            return end
        scope = gate.scope(*_current_run())
        held = held_calls(gate, scope, state, ai)
        if not held:
            # Decided or allowed calls go to guarded execution, which checks everything again.
            return tools
        # Recorded here, once per model turn: the review node re-runs on every resume, so it
        # must not write before its interrupt.
        for v in held:
            level = v.assessment.level if v.assessment else None
            gate.event(scope, "review", v.call, outcome="review", level=level, verdict=v)
        return review

    return route_after_model
