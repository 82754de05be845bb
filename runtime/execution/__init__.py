"""interlock.runtime.execution: running threads and carrying decisions into them.

The thread runner (run, resume under a per-thread claim), the graph registry and its factory
contract, durable approvals and the execution ledger, recovery of runs that died mid-tool,
the worker that resumes settled reviews, and retention (`prune`).
"""

from interlock.runtime.execution._live_stops import DurableStopSource
from interlock.runtime.execution.prune import PrunedThread, PruneResult, parse_age, prune
from interlock.runtime.execution.registry import (
    ENTRY_POINT_GROUP,
    BuiltGraph,
    GraphFactory,
    GraphRegistry,
)
from interlock.runtime.execution.worker import (
    SweepResult,
    Worker,
    WorkerEvent,
    WorkerOptions,
    WorkerStats,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "BuiltGraph",
    "DurableStopSource",
    "GraphFactory",
    "GraphRegistry",
    "PruneResult",
    "PrunedThread",
    "SweepResult",
    "Worker",
    "WorkerEvent",
    "WorkerOptions",
    "WorkerStats",
    "parse_age",
    "prune",
]
