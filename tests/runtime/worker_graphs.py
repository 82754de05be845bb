"""Graph factories that `interlock worker` subprocesses load by name
(`worker_graphs:slow_ops`, with `PYTHONPATH` set to this folder).

`slow_ops` is the scripted ops agent whose simulated infrastructure writes
`<infra>.started` when a change begins and then takes `slow` seconds, so a test can signal a
worker while an approved action is executing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from interlock.graphs import Infra, scripted_ops_agent

__all__ = ["GRAPH", "SlowInfra", "slow_ops"]

GRAPH = "worker_graphs:slow_ops"


class SlowInfra(Infra):
    def __init__(self, path: str, slow: float) -> None:
        super().__init__(path)
        self.slow = slow

    def change(self, op: str, target: str, fn: Callable[[dict[str, Any]], Any]) -> Any:
        Path(f"{self.path}.started").write_text(op)
        time.sleep(self.slow)
        return super().change(op, target, fn)


def slow_ops(**kw: Any) -> Any:
    options = kw["options"]
    infra = SlowInfra(options["infra"], float(options.get("slow", 0)))
    return scripted_ops_agent(options["turns"], infra, **kw)
