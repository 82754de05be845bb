"""`edit_scope`: where an edit of a pending call is assessed.

Kept apart from the edit plan so that `interlock.runtime` can export it without loading
LangGraph at import time (`interlock --help` stays light): the gate's modules load on call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from interlock.nodes import Gate, RunScope
    from interlock.runtime.execution._runner import Engine
    from interlock.runtime.execution.registry import BuiltGraph

__all__ = ["edit_scope"]


def edit_scope(engine: Engine, thread_id: str) -> tuple[BuiltGraph, Gate, RunScope]:
    """The thread's graph and gate, and the scope an edit of its call is assessed in: with
    the thread's session (what it read and did before), as guarded execution will assess the
    edited call, so the preview and the decision agree with what then happens."""
    from interlock.nodes import with_session

    # Only the reviewer side previews or plans an edit: it builds no graph it was not
    # configured with, whatever module a thread row names (the agent side writes those rows).
    engine.registry.only_configured()
    info, built = engine.built_for(thread_id)
    gate = built.gate
    scope = gate.scope(engine.context(info.agent))
    if getattr(built.graph, "checkpointer", None) is None:
        return built, gate, scope  # a thread kept elsewhere (LangGraph Server): no history
    snapshot = built.graph.get_state({"configurable": {"thread_id": thread_id}})
    return built, gate, with_session(scope, snapshot.values)
