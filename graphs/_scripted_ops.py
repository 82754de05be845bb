"""The ops tools behind a scripted model: the agent tests, benchmarks and notebooks drive.

`scripted_ops_agent(turns, infra, **stores)` takes the same keyword arguments as a runtime
graph factory (`checkpointer`, `policy`, `approvals`, `ledger`, `audit`, `issue_on_resume`,
`options`), so a factory is one line::

    def factory(**kw):
        return scripted_ops_agent([[("delete_volume", {"volume_id": "vol-prod-db"})]],
                                  kw["options"]["infra"], **kw)

Each turn is a list of `(tool, args)` calls the model proposes together; past the script the
agent answers "Done.".
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Checkpointer

from interlock.graphs._agent import build_gated_graph
from interlock.graphs._infra import Infra
from interlock.graphs._ops_tools import make_ops_tools
from interlock.graphs._planner import ScriptedChatModel, say
from interlock.nodes import ApprovalStore, AuditSink, ExecutionLedger, Gate
from interlock.risk import Policy

__all__ = ["ScriptedOps", "scripted_ops_agent"]


@dataclass(frozen=True, kw_only=True)
class ScriptedOps:
    """What a runtime graph factory returns: the compiled graph, its gate, the infra."""

    graph: CompiledStateGraph[Any, Any, Any, Any]
    gate: Gate
    infra: Infra


Turn = Sequence[tuple[str, Mapping[str, Any]] | Sequence[Any]]


def scripted_ops_agent(
    turns: Sequence[Turn],
    infra: Infra | str | os.PathLike[str],
    *,
    checkpointer: Checkpointer = None,
    policy: Policy | None = None,
    approvals: ApprovalStore | None = None,
    ledger: ExecutionLedger | None = None,
    audit: AuditSink | None = None,
    issue_on_resume: bool = True,
    agent: str = "ops-agent",
    **_factory_extras: Any,
) -> ScriptedOps:
    """The ops agent whose model proposes `turns`, one after the other."""
    where = infra if isinstance(infra, Infra) else Infra(infra)
    steps = [
        say(f"turn {i}", *[(str(tool), dict(args)) for tool, args in calls])
        for i, calls in enumerate(turns)
    ]
    builder, gate = build_gated_graph(
        ScriptedChatModel(steps=steps),
        make_ops_tools(where),
        policy,
        agent=agent,
        approvals=approvals,
        ledger=ledger,
        audit=audit,
        issue_on_resume=issue_on_resume,
        handle_tool_errors=True,  # as the ops agent: infrastructure errors reach the model
    )
    return ScriptedOps(graph=builder.compile(checkpointer=checkpointer), gate=gate, infra=where)
