"""interlock.runtime.server: Interlock on LangGraph Server.

`governed_graph(name)` builds a registered graph in strict mode over Interlock's database,
compiled without a checkpointer as the server requires; with `INTERLOCK_LANGGRAPH_URL` set,
`Runtime.open()` runs and resumes threads on that server through `langgraph-sdk`.
"""

from interlock.runtime.server.governed import (
    SERVED_GRAPHS,
    governed,
    governed_graph,
    served_graph_id,
)

__all__ = ["SERVED_GRAPHS", "governed", "governed_graph", "served_graph_id"]
