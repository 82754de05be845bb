"""The risk gate on the autonomous path: a gated agent's tool step against the same agent
without the gate, on the same checkpointer (SQLite file, Postgres).

Target: an allowed tool call costs at most 1.10x the ungated agent's, and adds no
checkpointed superstep.

What is timed. Both agents run the same scripted model, which proposes one call to a cheap
read tool per turn for `STEPS` turns and then answers. The gated agent is
`create_gated_agent` with the bundled policy and in-memory approvals, ledger and audit: its
router assesses each call, guarded execution assesses it again, opens and closes a ledger
entry and writes an audit event. The ungated agent has the same model node, the same routing
shape (model -> tools -> model) and LangGraph's `ToolNode` as its tool step (the gated tool
step, `GatedToolNode`, is a drop-in for it). One sample is
one whole run on a fresh thread, divided by `STEPS`; runs alternate between the two agents
after a warm-up, and the reported values are medians. The superstep row counts checkpoints
per run: the gate must add none.

The live-stops row is the gated agent as the runtime runs it: its gate also asks a
`DurableStopSource` on the same database for the stop switches. Its ledger is in memory and
does not check the stops itself, so guarded execution reads them fresh before every call
(routing reuses a view up to 0.1 s old); with the runtime's ledger, which checks them in the
statement opening its row, the tool step reuses that view too.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from statistics import median
from typing import Any

from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import BaseTool, tool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.constants import END, START
from langgraph.graph import MessagesState, StateGraph
from langgraph.prebuilt import ToolNode

from bench._common import Row, gc_disabled, postgres_db, row
from interlock.graphs import (
    ScriptedChatModel,
    build_gated_graph,
    create_gated_agent,
    open_checkpointer,
    say,
)
from interlock.graphs._agent import make_model_node
from interlock.nodes import gated, ungated
from interlock.risk import default_policy

__all__ = ["run"]

STEPS = 20
TARGET = 1.10


def _utcnow() -> datetime:
    return datetime.now(UTC)


@tool
def lookup(key: str) -> str:
    """Look a key up in the inventory."""
    return f"{key}: ok"


gated(lookup, effects={"read"}, reversible=True, idempotent=True, environment="staging")


def _model() -> ScriptedChatModel:
    return ScriptedChatModel(
        steps=[say("Next.", ("lookup", {"key": f"k{i}"})) for i in range(STEPS)], final="Done."
    )


def _ungated(tools: list[BaseTool], saver: BaseCheckpointSaver[str]) -> Any:
    # Plain copies (`ungated`), without the guard that makes a @gated tool refuse where no
    # gate governs it: this graph is the baseline with no Interlock at all. Its tool step is
    # LangGraph's ToolNode, which the gated tool step (GatedToolNode) replaces.
    plain = [ungated(t) for t in tools]

    def route(state: MessagesState) -> str:
        ai = state["messages"][-1]
        return "tools" if isinstance(ai, AIMessage) and ai.tool_calls else END

    model_node: Any = make_model_node(_model(), system_prompt=None, clock=_utcnow)
    g: Any = StateGraph(MessagesState)
    g.add_node("model", model_node)
    g.add_node("tools", ToolNode(plain))
    g.add_edge(START, "model")
    g.add_conditional_edges("model", route, ["tools", END])
    g.add_edge("tools", "model")
    return g.compile(checkpointer=saver)


def _gated(saver: BaseCheckpointSaver[str]) -> Any:
    return create_gated_agent(_model(), [lookup], default_policy(), checkpointer=saver)


def _gated_live(saver: BaseCheckpointSaver[str], stops: Any) -> Any:
    builder, gate = build_gated_graph(_model(), [lookup], default_policy())
    gate.watch_stops(stops)
    return builder.compile(checkpointer=saver)


def _one_run(graph: Any) -> tuple[float, dict[str, Any]]:
    cfg = {"configurable": {"thread_id": f"b-{uuid.uuid4().hex}"}}
    t0 = time.perf_counter()
    out = graph.invoke({"messages": [("user", "Look everything up.")]}, cfg)
    elapsed = time.perf_counter() - t0
    tool_msgs = sum(isinstance(m, ToolMessage) for m in out["messages"])
    if tool_msgs != STEPS or "__interrupt__" in out:
        msg = f"benchmark run did {tool_msgs} tool steps (expected {STEPS}) or stopped for review"
        raise RuntimeError(msg)
    return elapsed * 1000 / STEPS, cfg


def _measure(
    open_saver: Callable[[], Any], url: str, runs: int
) -> tuple[float, float, float, float, float]:
    from interlock.runtime import DurableStopSource, open_database, upgrade_database

    with open_saver() as saver, open_database(url) as db:
        upgrade_database(db)
        gated_graph, plain_graph = _gated(saver), _ungated([lookup], saver)
        live_graph = _gated_live(saver, DurableStopSource(db))
        graphs = (gated_graph, plain_graph, live_graph)
        for _ in range(3):  # warm-up: imports, caches, prepared statements
            for graph in graphs:
                _one_run(graph)
        samples: dict[int, list[float]] = {id(g): [] for g in graphs}
        with gc_disabled():
            for i in range(runs):
                k = i % 3
                for graph in graphs[k:] + graphs[:k]:  # rotate who goes first
                    ms, _ = _one_run(graph)
                    samples[id(graph)].append(ms)
        _, g_cfg = _one_run(gated_graph)
        _, p_cfg = _one_run(plain_graph)
        g_ck = len(list(saver.list(g_cfg)))
        p_ck = len(list(saver.list(p_cfg)))
    g, p, live = (median(samples[id(x)]) for x in graphs)
    return g, p, g_ck / STEPS, p_ck / STEPS, live


@contextmanager
def _sqlite(tmp: str) -> Iterator[BaseCheckpointSaver[str]]:
    with open_checkpointer(f"sqlite:///{tmp}/bench-gate.db") as saver:
        yield saver


def _rows(backend: str, g: float, p: float, g_ck: float, p_ck: float, live: float) -> list[Row]:
    ratio = g / p
    return [
        row(
            f"gate: allowed tool step, {backend}",
            g,
            "ms",
            baseline=p,
            baseline_name="same agent without the gate",
            target=f"≤ {TARGET:.2f}× ungated",
            ok=ratio <= TARGET,
            note=(
                f"{STEPS} tool steps per run; medians over alternating runs; the baseline's "
                "tool step is ToolNode, which hands even a lone call to the thread pool "
                "(the gated step runs a lone call inline)"
            ),
        ),
        row(
            f"gate: checkpoints per tool step, {backend}",
            g_ck,
            "checkpoints",
            baseline=p_ck,
            baseline_name="same agent without the gate",
            target="no extra superstep",
            ok=g_ck <= p_ck,
        ),
        row(
            f"gate with live stops: allowed tool step, {backend}",
            live,
            "ms",
            baseline=p,
            baseline_name="same agent without the gate",
            target=f"≤ {TARGET:.2f}× ungated",
            ok=live / p <= TARGET,
            note="the gate also reads the stop switches from the database (fresh per call)",
        ),
    ]


def run(quick: bool = False) -> list[Row]:
    import tempfile

    runs = 6 if quick else 60
    out: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench-gate.db"
        out += _rows("SQLite", *_measure(lambda: _sqlite(tmp), url, runs))
    with postgres_db() as url:
        out += _rows("Postgres", *_measure(lambda: open_checkpointer(url), url, runs))
    return out


if __name__ == "__main__":
    for r in run(quick=True):
        print(r)
