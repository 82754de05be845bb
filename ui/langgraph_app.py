"""The graphs `langgraph.json` serves on LangGraph Server, governed by Interlock.

`ops_agent` is the reference ops agent in strict mode over Interlock's database (approvals,
the execution ledger and the audit log in `INTERLOCK_DATABASE_URL`); a resume never mints an
approval, only Interlock's decision service does (see `interlock.runtime.governed`). It lives
here, beside the other faces, because the runtime does not know the reference agent and the
reference graphs do not know the runtime.

Importing this module builds the graph and loads the policy (a bad `INTERLOCK_POLICY` fails
the server's graph load, loudly); the database opens when a node first needs it.
"""

from __future__ import annotations

from typing import Any

from interlock.runtime import governed_graph

__all__ = ["build_graph", "graph", "ops_agent"]


def build_graph(**options: Any) -> Any:
    """The governed ops agent, compiled without a checkpointer (the server brings its own)."""
    return governed_graph("ops_agent", **options)


ops_agent = build_graph()
"""The governed ops agent (`langgraph.json`: `ops_agent_governed`)."""
graph = ops_agent
