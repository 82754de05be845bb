"""The graph the worker-pool benchmark's `interlock worker` processes rebuild by name
(`bench._worker_graph:factory`, with the repository root on `PYTHONPATH`).

One scripted turn proposes restarting a production service (a production change: it stops
for a human); after the decision the agent answers. All threads share one simulated
infrastructure file, so the graph is built once per worker process, as it is for a real
agent, and every approved restart is one event in that file.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from interlock.graphs import Infra, ScriptedChatModel, build_gated_graph, make_ops_tools, say

__all__ = ["GRAPH", "factory"]

GRAPH = "bench._worker_graph:factory"
RESTART = {"service": "api-prod", "token": "tok-prod-app"}


def factory(**kw: Any) -> Any:
    builder, gate = build_gated_graph(
        ScriptedChatModel(steps=[say("restarting", ("restart_service", RESTART))]),
        make_ops_tools(Infra(kw["options"]["infra"])),
        kw["policy"],
        agent="ops-agent",
        approvals=kw["approvals"],
        ledger=kw["ledger"],
        audit=kw["audit"],
        issue_on_resume=kw["issue_on_resume"],
    )
    return SimpleNamespace(graph=builder.compile(checkpointer=kw["checkpointer"]), gate=gate)
