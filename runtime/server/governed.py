"""Interlock on LangGraph Server: the governed graphs it serves, and the runtime's server backend.

Two halves, one per side of the wire.

**Inside the server: governed graphs.** `langgraph.json` serves two graphs:

- `ops_agent` -> `interlock.graphs.ops_agent:graph`, the reference graph exactly as a plain
  LangGraph user knows it: in-memory approvals, and a `Command(resume=...)` that approves
  issues the approval itself (as Studio expects).
- `ops_agent_governed` -> `interlock.ui.langgraph_app:ops_agent`, the same graph in strict
  mode over Interlock's database. Approvals, the execution ledger and the audit log live in
  the database named by `INTERLOCK_DATABASE_URL` (with `INTERLOCK_POLICY`), opened and
  migrated on first use; a resume never mints an approval: only Interlock's decision service
  issues one, after authenticating and authorising the reviewer. An approve sent straight
  to the server (from Studio, say) re-opens the review instead of running anything. The
  stop switches come from that database too, read at every gate evaluation: a client's run
  context can neither lift a stop nor rename the agent out of one.

`governed()` lives in the runtime, not in `interlock.graphs`, because durable storage is the
runtime's business and dependencies point one way (graphs never import the runtime); the
module `langgraph.json` names is `interlock.ui.langgraph_app`, since the runtime does not know
the reference agent either (it finds `ops_agent` by its entry point).
It is governed by construction rather than by an environment switch, so a server that
lacks configuration falls back to the embedded SQLite file, never to approving on resume.
Serve your own graph the same way: `governed_graph("package.module:factory")` (a factory as
`interlock.runtime.GraphFactory` describes) returns it compiled without a checkpointer, as the
server requires; serve it under the name the runtime knows it by
(`Runtime.open(graphs={name: factory})`), so the runtime takes in its threads.

Building a governed graph loads the policy (a bad `INTERLOCK_POLICY` fails the server's
graph load, loudly); the database opens when a node first needs it.

**Outside: the server backend.** With `INTERLOCK_LANGGRAPH_URL` set, `Runtime.open()` runs
and resumes threads on that server through `langgraph-sdk` instead of in-process; the inbox,
the decision service, the console and the CLI are unchanged. See
`interlock.runtime.server._runner` and `interlock.runtime.server._inbox`.
"""

from __future__ import annotations

import threading
from typing import Any

from interlock.risk import Policy, default_policy, load_policy
from interlock.runtime.execution.registry import BuiltGraph, GraphRegistry
from interlock.runtime.server._served import SERVED_GRAPHS, ServedStores, served_graph_id
from interlock.runtime.store.settings import Settings, protect_files

__all__ = ["SERVED_GRAPHS", "governed", "governed_graph", "served_graph_id"]

_LOCK = threading.Lock()
_BUILT: dict[tuple[str, str], BuiltGraph] = {}
_STORES: dict[tuple[str, str], ServedStores] = {}


def _policy(settings: Settings) -> Policy:
    return load_policy(settings.policy) if settings.policy else default_policy()


def governed(name: str = "ops_agent", **options: Any) -> BuiltGraph:
    """The graph `name` (a registry key or `package.module:factory`) with its gate, in strict
    mode over Interlock's database, built once per process and set of options."""
    from interlock.risk import canonical_json

    key = (name, canonical_json(options))
    with _LOCK:
        found = _BUILT.get(key)
        if found is not None:
            return found
        settings = Settings.from_env()
        policy = _policy(settings)
        protect_files(settings)  # the gate here refuses agent calls that name them
        stores = ServedStores(policy=policy)
        registry = GraphRegistry(
            checkpointer=lambda: None,  # type: ignore[arg-type,return-value]  # the server's
            policy=policy,
            approvals=stores.approvals,
            ledger=stores.ledger,
            audit=stores.audit,
            stops=stores.stops,
        )
        built = registry.get(name, options)
        stores.actor = built.gate.agent
        _BUILT[key], _STORES[key] = built, stores
        return built


def governed_graph(name: str = "ops_agent", **options: Any) -> Any:
    """The compiled graph of `governed(name, **options)`, for `langgraph.json`."""
    return governed(name, **options).graph
