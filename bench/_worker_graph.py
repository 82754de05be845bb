"""The graph the worker-pool benchmark's `interlock worker` processes rebuild by name
(`bench._worker_graph:factory`, with the repository root on `PYTHONPATH`).

One scripted turn proposes restarting a production service (a production change: it stops
for a human); after the decision the agent answers. All threads share one simulated
infrastructure file, so the graph is built once per worker process, as it is for a real
agent, and every approved restart is one event in that file.
"""

from __future__ import annotations

from typing import Any

from interlock.graphs import scripted_ops_agent

__all__ = ["GRAPH", "factory"]

GRAPH = "bench._worker_graph:factory"
RESTART = {"service": "api-prod", "token": "tok-prod-app"}


def factory(**kw: Any) -> Any:
    return scripted_ops_agent([[("restart_service", RESTART)]], kw["options"]["infra"], **kw)
