"""Which graph a thread runs: registry keys and `module:attr` factories.

A thread records the name of its graph and the options it was started with, so any process
(a CLI call, a worker on another machine) can rebuild the same graph and resume it. A name
is a key passed to `Runtime.open(graphs=...)`, a name an installed package registers under
the `interlock.graphs` entry-point group (the reference `ops_agent` registers itself so), or
`package.module:attr`, where `attr` is a factory with this signature::

    def factory(*, checkpointer, policy, approvals, ledger, audit, issue_on_resume, options):
        return something_with(.graph, .gate)   # e.g. interlock.graphs.ops_agent.OpsAgent

**The reviewer side builds only what it was configured with.** A thread's graph name is read
back from `interlock_threads`, a table the agent side writes. A process that decides (it holds
the signing key; `only_configured()`) therefore imports no `module:attr` it was not given: a
name registered here (`Runtime.open(graphs=...)`, `register`), an installed entry point, one
listed in `INTERLOCK_GRAPHS` (comma-separated), or a factory this process loaded itself
before. Any other name is refused in one line, before anything is imported. The agent side
(a worker) keeps resolving `module:attr` names: the code it runs is its own anyway.

The runtime needs the gate as well as the compiled graph: the decision service re-assesses
edits with it, and it must run in strict mode (`issue_on_resume=False`), where only the
decision service mints approvals. A factory that ignores that flag is refused.
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from interlock.risk import Policy, canonical_json
from interlock.risk.errors import ConfigError

if TYPE_CHECKING:  # LangGraph loads when a graph is built, not when the runtime is imported
    from langgraph.checkpoint.base import BaseCheckpointSaver

    from interlock.nodes import ApprovalStore, AuditSink, ExecutionLedger, Gate, StopSource

__all__ = ["ENTRY_POINT_GROUP", "GRAPHS_ENV", "BuiltGraph", "GraphFactory", "GraphRegistry"]

GRAPHS_ENV = "INTERLOCK_GRAPHS"
"""`module:attr` graph factories a reviewer-side process may import (comma-separated)."""


class _HasGraphAndGate(Protocol):
    @property
    def graph(self) -> Any: ...

    @property
    def gate(self) -> Gate: ...


GraphFactory = Callable[..., _HasGraphAndGate]


@dataclass(frozen=True, kw_only=True)
class BuiltGraph:
    """A compiled graph on the runtime's checkpointer, with its gate."""

    name: str
    graph: Any
    gate: Gate


ENTRY_POINT_GROUP = "interlock.graphs"
"""Packages register graph factories under this entry-point group (name = graph name)."""


def _entry_point(name: str) -> GraphFactory | None:
    # A package registers its graphs through its metadata (the reference ops agent does, in
    # pyproject.toml), so the runtime knows factories by name without importing any graph code.
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP, name=name):
        try:
            loaded: GraphFactory = ep.load()
        except Exception as exc:
            msg = f"cannot load graph {name!r} ({ep.value}): {type(exc).__name__}: {exc}"
            raise ConfigError(msg) from None
        return loaded
    return None


def _entry_point_names() -> list[str]:
    from importlib.metadata import entry_points

    return [ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)]


def _listed() -> frozenset[str]:
    """The `module:attr` names the process's own environment lists in `INTERLOCK_GRAPHS`."""
    text = os.environ.get(GRAPHS_ENV, "")
    return frozenset(n.strip() for n in text.replace("\n", ",").split(",") if n.strip())


class GraphRegistry:
    """Resolves graph names to factories and keeps one built graph per name and options."""

    def __init__(
        self,
        *,
        checkpointer: Callable[[], BaseCheckpointSaver[str]],
        policy: Policy,
        approvals: ApprovalStore,
        ledger: ExecutionLedger,
        audit: AuditSink,
        extra: Mapping[str, GraphFactory] | None = None,
        stops: StopSource | None = None,
    ) -> None:
        """`stops` is bound to every gate built here (`Gate.watch_stops`), whatever the
        factory did with its arguments: the durable stop switches reach every evaluation."""
        self._checkpointer = checkpointer
        self.stops = stops
        self._stores = {"policy": policy, "approvals": approvals, "ledger": ledger, "audit": audit}
        self._factories: dict[str, GraphFactory] = dict(extra or {})
        self._built: dict[tuple[str, str], BuiltGraph] = {}
        self._loaded: dict[str, GraphFactory] = {}
        """`module:attr` factories this process imported itself (before `only_configured`)."""
        self._configured_only = False
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        """Registered names: those given to this registry and the installed entry points."""
        return sorted({*self._factories, *_entry_point_names()})

    def register(self, name: str, factory: GraphFactory) -> None:
        self._factories[name] = factory

    def only_configured(self) -> None:
        """From now on build only graphs this process was configured with (see the module
        docstring): what a reviewer-side process calls before it builds a graph whose name
        it read from the database. Cannot be undone."""
        self._configured_only = True

    def factory(self, name: str) -> GraphFactory:
        found = self._factories.get(name) or self._loaded.get(name)
        if found is None and ":" not in name:
            found = _entry_point(name)
        if found is not None:
            return found
        if ":" not in name:
            msg = (
                f"unknown graph {name!r}. Use a registered name ({', '.join(self.names())}) "
                "or 'package.module:factory'."
            )
            raise ConfigError(msg)
        if self._configured_only and name not in _listed():
            known = ", ".join([*self.names(), *sorted(_listed() | set(self._loaded))]) or "none"
            msg = (
                f"graph {name!r} is not one this reviewer-side process was configured with "
                f"(configured: {known}), so nothing was imported: a thread's graph name comes "
                "from the database, which the agent side writes. If it is yours, register it "
                "(Runtime.open(graphs=...)), install it under the 'interlock.graphs' entry "
                f"point, or list it in {GRAPHS_ENV}."
            )
            raise ConfigError(msg)
        module, _, attr = name.partition(":")
        try:
            target: Any = importlib.import_module(module)
            for part in attr.split("."):
                target = getattr(target, part)
        except (ImportError, AttributeError) as exc:
            msg = f"cannot load graph factory {name!r}: {type(exc).__name__}: {exc}"
            raise ConfigError(msg) from None
        if not callable(target) or hasattr(target, "invoke"):
            msg = (
                f"{name!r} is not a graph factory: the runtime needs a function "
                "factory(*, checkpointer, policy, approvals, ledger, audit, issue_on_resume, "
                "options) returning an object with .graph and .gate, so that it can plug in "
                "its durable stores."
            )
            raise ConfigError(msg)
        factory: GraphFactory = target
        self._loaded[name] = factory
        return factory

    def get(self, name: str, options: Mapping[str, Any] | None = None) -> BuiltGraph:
        """The graph `name` built with `options`, built once per process."""
        opts = dict(options or {})
        key = (name, canonical_json(opts))
        with self._lock:
            found = self._built.get(key)
            if found is not None:
                return found
            factory = self.factory(name)
            try:
                made = factory(
                    checkpointer=self._checkpointer(),
                    issue_on_resume=False,
                    options=opts,
                    **self._stores,
                )
            except ConfigError:
                raise
            except Exception as exc:
                msg = f"graph factory {name!r} failed: {type(exc).__name__}: {exc}"
                raise ConfigError(msg) from exc
            gate = getattr(made, "gate", None)
            from interlock.nodes import Gate

            if not isinstance(gate, Gate) or getattr(made, "graph", None) is None:
                msg = f"graph factory {name!r} must return an object with .graph and .gate."
                raise ConfigError(msg)
            if gate.issue_on_resume:
                msg = (
                    f"graph factory {name!r} ignored issue_on_resume=False: the durable runtime "
                    "needs strict mode, where only the decision service issues approvals."
                )
                raise ConfigError(msg)
            if self.stops is not None:
                gate.watch_stops(self.stops)
            built = BuiltGraph(name=name, graph=made.graph, gate=gate)
            self._built[key] = built
            return built
