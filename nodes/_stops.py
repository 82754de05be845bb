"""The seam where live stop switches plug in: a `StopSource` says which scopes are stopped now.

A run's context may list stopped scopes (`InterlockContext.stopped_agents`, ...), but a list
handed in when a run starts goes stale while the run goes on: a stop committed during a long
tool call would not reach the next call. A source is asked again at every gate evaluation
and at every guarded execution, so a stop reaches a running agent:

- routing and review (`ROUTING_MAX_AGE`) may use a view read at most that long ago: they
  only decide where a call goes, and guarded execution checks again;
- guarded execution asks with `max_age=0`, a fresh read just before the ledger row opens:
  an action proposed after a stop committed never runs, approved or not. A ledger that
  checks the stops itself in the statement opening its row (`checks_stops`, the runtime's)
  lets it act on a `ROUTING_MAX_AGE` view instead: a stop set since refuses the row
  (`StopsChanged`) and the call is assessed again on a fresh read.

Sources only ever add stops: the gate takes the union of its own sources and the context's,
so nothing a run's context carries can lift a stop. `interlock.runtime` provides the durable
source (the `interlock_stops` table); `StaticStops` serves tests and in-memory runs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "ROUTING_MAX_AGE",
    "StaticStops",
    "StopSource",
    "StoppedScopes",
    "is_stop_source",
    "read_stops",
]

ROUTING_MAX_AGE = 0.1
"""Seconds: how old a view of the stops the router and the review node may act on."""


@dataclass(frozen=True, kw_only=True)
class StoppedScopes:
    """The agents and environments an administrator stopped."""

    agents: frozenset[str] = frozenset()
    environments: frozenset[str] = frozenset()

    def __or__(self, other: StoppedScopes) -> StoppedScopes:
        if not other.agents and not other.environments:
            return self
        return StoppedScopes(
            agents=self.agents | other.agents,
            environments=self.environments | other.environments,
        )


NOTHING_STOPPED = StoppedScopes()


@runtime_checkable
class StopSource(Protocol):
    def stopped(self, *, max_age: float = 0.0) -> StoppedScopes:
        """The scopes stopped now. With `max_age` > 0 the source may answer with a view it
        read at most `max_age` seconds ago; with 0 it reads. A source that cannot answer
        raises: the gate then fails the step rather than run anything."""
        ...


class StaticStops:
    """Stops held in memory; `stop`/`resume` take effect at the next gate evaluation."""

    def __init__(self, agents: Iterable[str] = (), environments: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._view = StoppedScopes(agents=frozenset(agents), environments=frozenset(environments))

    def stopped(self, *, max_age: float = 0.0) -> StoppedScopes:
        return self._view

    def stop(self, *, agent: str | None = None, environment: str | None = None) -> None:
        with self._lock:
            v = self._view
            self._view = StoppedScopes(
                agents=v.agents | ({agent} if agent else set()),
                environments=v.environments | ({environment} if environment else set()),
            )

    def resume(self, *, agent: str | None = None, environment: str | None = None) -> None:
        with self._lock:
            v = self._view
            self._view = StoppedScopes(
                agents=v.agents - {agent}, environments=v.environments - {environment}
            )


_SOURCE_TYPES: dict[type, bool] = {}


def is_stop_source(value: Any) -> bool:
    """`isinstance(value, StopSource)`, answered once per type: a runtime-checkable
    Protocol check walks the protocol's attributes each time, and the gate asks per call."""
    if value is None:
        return False
    kind = type(value)
    known = _SOURCE_TYPES.get(kind)
    if known is None:
        known = _SOURCE_TYPES[kind] = isinstance(value, StopSource)
    return known


def read_stops(
    sources: Sequence[StopSource], static: StoppedScopes, max_age: float
) -> StoppedScopes:
    found = static
    for source in sources:
        found = found | source.stopped(max_age=max_age)
    return found
