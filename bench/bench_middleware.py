"""InterlockMiddleware on `create_agent`'s autonomous path: an allowed tool call through
`create_agent` + InterlockMiddleware, against the same `create_agent` agent (i) with no
middleware and (ii) with LangChain's `HumanInTheLoopMiddleware` configured for another tool.

Targets: at most 1.10x the agent without middleware, and no slower (<= 1.00x) than the agent
with LangChain's human-in-the-loop middleware.

What is timed. All three agents are `create_agent` with the same scripted model, which
proposes one call to a cheap read tool per turn for `STEPS` turns and then answers, the same
two tools (the read tool and `other_tool`, never called) and the same checkpointer. The
gated agent has `@gated` tools and `InterlockMiddleware` with the bundled policy and
in-memory approvals, ledger and audit: it has one hook, `wrap_tool_call`, which assesses
each call once, opens and closes a ledger entry and writes an audit event (a held call
would stop in that same tool task; none is held here). The baselines get plain copies of
the tools, without the guard that makes a `@gated` tool refuse where no gate governs it;
the second has `HumanInTheLoopMiddleware(interrupt_on={"other_tool": True})`, so it reviews
nothing here but still inspects every turn. One sample is one whole run on a fresh thread,
divided by `STEPS`; runs rotate who goes first after a warm-up, with the collector off, and the
reported values are medians. It runs on LangGraph's `InMemorySaver` (the middleware's cost
alone) and on a SQLite file (as deployed). The checkpoints row counts checkpoints per tool
step: a middleware with an `after_model` hook (LangChain's) adds a node, hence a superstep
and a checkpoint per model turn; InterlockMiddleware adds none. An informing row times a
fourth agent whose only middleware is a `wrap_tool_call` that calls the handler and nothing
else: what `create_agent` itself charges any tool-wrapping middleware (its hook chain and the
`traceable` span wrapper it puts around each hook), out of the 1.10x budget.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from statistics import median
from typing import Any

from langchain_core.messages import ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, tool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver

from bench._common import Row, gc_disabled, row
from interlock.graphs import ScriptedChatModel, open_checkpointer, say
from interlock.nodes import InterlockMiddleware, gated, ungated
from interlock.risk import default_policy

__all__ = ["run"]

STEPS = 20
TARGET_PLAIN = 1.10
TARGET_HITL = 1.00


@tool
def lookup(key: str) -> str:
    """Look a key up in the inventory."""
    return f"{key}: ok"


@tool
def other_tool(target: str) -> str:
    """Change something (the tool LangChain's middleware is configured to review)."""
    return f"{target} changed"


gated(lookup, effects={"read"}, reversible=True, idempotent=True, environment="staging")
gated(other_tool, effects={"write"}, reversible=True, environment="production")
TOOLS: list[BaseTool] = [lookup, other_tool]


def _model() -> ScriptedChatModel:
    return ScriptedChatModel(
        steps=[say("Next.", ("lookup", {"key": f"k{i}"})) for i in range(STEPS)], final="Done."
    )


def _plain(tools: list[BaseTool]) -> list[BaseTool]:
    # Without the guard (`ungated`): a @gated tool refuses to run where no gate governs it.
    return [ungated(t) for t in tools]


def _agents(saver: BaseCheckpointSaver[str]) -> tuple[Any, Any, Any, Any]:
    from langchain.agents import create_agent
    from langchain.agents.middleware import AgentMiddleware, HumanInTheLoopMiddleware

    class PassThrough(AgentMiddleware):  # type: ignore[type-arg]
        def wrap_tool_call(self, request: Any, handler: Callable[[Any], Any]) -> Any:
            return handler(request)

    gated_mw = InterlockMiddleware(TOOLS, default_policy())
    gated_agent = create_agent(_model(), TOOLS, middleware=[gated_mw], checkpointer=saver)
    plain = create_agent(_model(), _plain(TOOLS), checkpointer=saver)
    hitl_mw = HumanInTheLoopMiddleware(interrupt_on={"other_tool": True})
    hitl = create_agent(_model(), _plain(TOOLS), middleware=[hitl_mw], checkpointer=saver)
    wrap = create_agent(_model(), _plain(TOOLS), middleware=[PassThrough()], checkpointer=saver)
    return gated_agent, plain, hitl, wrap


def _one_run(graph: Any) -> tuple[float, RunnableConfig]:
    cfg: RunnableConfig = {"configurable": {"thread_id": f"b-{uuid.uuid4().hex}"}}
    t0 = time.perf_counter()
    out = graph.invoke({"messages": [("user", "Look everything up.")]}, cfg)
    elapsed = time.perf_counter() - t0
    done = [m for m in out["messages"] if isinstance(m, ToolMessage)]
    if len(done) != STEPS or "__interrupt__" in out or any(m.status == "error" for m in done):
        msg = f"benchmark run did {len(done)} tool steps (expected {STEPS} successful ones)"
        raise RuntimeError(msg)
    return elapsed * 1000 / STEPS, cfg


def _measure(
    open_saver: Callable[[], AbstractContextManager[BaseCheckpointSaver[str]]], runs: int
) -> tuple[list[float], list[float]]:
    """Median ms per tool step and checkpoints per tool step: (gated, plain, hitl, wrap)."""
    with open_saver() as saver:
        graphs = _agents(saver)
        for _ in range(3):  # warm-up: imports, caches, compiled schemas
            for graph in graphs:
                _one_run(graph)
        samples: dict[int, list[float]] = {id(g): [] for g in graphs}
        with gc_disabled():
            for i in range(runs):
                k = i % len(graphs)
                for graph in graphs[k:] + graphs[:k]:  # rotate who goes first
                    ms, _ = _one_run(graph)
                    samples[id(graph)].append(ms)
        checkpoints = []
        for graph in graphs:
            _, cfg = _one_run(graph)
            checkpoints.append(len(list(saver.list(cfg))) / STEPS)
    return [median(samples[id(g)]) for g in graphs], checkpoints


@contextmanager
def _memory() -> Iterator[BaseCheckpointSaver[str]]:
    yield InMemorySaver()


def _rows(backend: str, ms: list[float], checkpoints: list[float]) -> list[Row]:
    g, p, h, w = ms
    g_ck, p_ck, h_ck, _ = checkpoints
    note = f"{STEPS} tool steps per run; medians over alternating runs"
    return [
        row(
            f"middleware: allowed call vs bare create_agent, {backend}",
            g,
            "ms",
            baseline=p,
            baseline_name="create_agent, no middleware",
            target=f"≤ {TARGET_PLAIN:.2f}× bare",
            ok=g / p <= TARGET_PLAIN,
            note=note,
        ),
        row(
            f"middleware: allowed call vs HITL middleware, {backend}",
            g,
            "ms",
            baseline=h,
            baseline_name="create_agent + HumanInTheLoopMiddleware",
            target=f"≤ {TARGET_HITL:.2f}× HITL",
            ok=g / h <= TARGET_HITL,
            note="LangChain's middleware reviews other_tool only, so it lets every call run",
        ),
        row(
            f"middleware: checkpoints per tool step, {backend}",
            g_ck,
            "checkpoints",
            baseline=p_ck,
            baseline_name="create_agent, no middleware",
            note=f"with HumanInTheLoopMiddleware: {h_ck:.2f} (its after_model hook is a node)",
        ),
        row(
            f"middleware: a pass-through wrap_tool_call vs bare create_agent, {backend}",
            w,
            "ms",
            baseline=p,
            baseline_name="create_agent, no middleware",
            note="informs: create_agent's own cost for any tool-wrapping middleware",
        ),
    ]


def run(quick: bool = False) -> list[Row]:
    import tempfile

    runs = 6 if quick else 60
    out = _rows("InMemorySaver", *_measure(_memory, runs))
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench-middleware.db"
        out += _rows("SQLite", *_measure(lambda: open_checkpointer(url), runs))
    return out


if __name__ == "__main__":
    for r in run(quick=True):
        print(r)
