"""The worker-pool benchmark's baseline: raw LangGraph resumes, by processes of its own.

The same scripted agent as `bench._worker_graph` (one production restart, the same tools on
the same infrastructure file), without Interlock: a plain `interrupt()` review node before a
plain tool step, on LangGraph's own `PostgresSaver`. Raw LangGraph has no claims, so the
threads are split between the processes up front (thread `i` to process `i % N`): the best
a pool without coordination can do, with nothing to contend for.

    python -m bench._raw_resumer prepare URL INFRA COUNT       # COUNT paused threads
    python -m bench._raw_resumer resume URL INFRA INDEX N TOTAL  # process INDEX of N

`resume` prints `{"ready": true}` once its graph is built, waits on a shared advisory lock
the benchmark holds until every process is ready, resumes its threads, and prints
`{"done": <epoch seconds>, "resumed": <count>}`.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from langgraph.graph import MessagesState
from langgraph.types import Command

__all__ = ["BARRIER", "raw_graph"]

BARRIER = 0x496E746C6B00B001
"""The advisory lock the benchmark holds until every raw process is ready."""
RESTART = {"service": "api-prod", "token": "tok-prod-app"}


def raw_graph(saver: Any, infra_path: str) -> Any:
    from datetime import UTC, datetime

    from langchain_core.messages import AIMessage, ToolMessage
    from langgraph.constants import END, START
    from langgraph.graph import StateGraph
    from langgraph.types import interrupt

    from interlock.graphs import Infra, ScriptedChatModel, make_model_node, make_ops_tools, say
    from interlock.nodes import ungated

    # Raw LangGraph has no gate: the same tools as plain copies (`ungated`), without the
    # guard that makes a @gated tool refuse to run where no gate governs it.
    tools = {t.name: ungated(t) for t in make_ops_tools(Infra(infra_path))}
    model = ScriptedChatModel(steps=[say("turn 0", ("restart_service", dict(RESTART)))])

    def review(state: MessagesState) -> Command[Any]:
        ai = state["messages"][-1]
        assert isinstance(ai, AIMessage)
        answer = interrupt({"tool_calls": ai.tool_calls})
        return Command(goto="tools" if answer.get("type") == "approve" else END)

    def run_tools(state: MessagesState) -> dict[str, Any]:
        ai = state["messages"][-1]
        assert isinstance(ai, AIMessage)
        out = [
            ToolMessage(str(tools[c["name"]].invoke(c["args"])), tool_call_id=c["id"] or "")
            for c in ai.tool_calls
        ]
        return {"messages": out}

    def route(state: MessagesState) -> str:
        ai = state["messages"][-1]
        return "review" if isinstance(ai, AIMessage) and ai.tool_calls else END

    node: Any = make_model_node(model, system_prompt=None, clock=lambda: datetime.now(UTC))
    g: Any = StateGraph(MessagesState)
    g.add_node("model", node)
    g.add_node("review", review, destinations=("tools", END))
    g.add_node("tools", run_tools)
    g.add_edge(START, "model")
    g.add_conditional_edges("model", route, ["review", END])
    g.add_edge("tools", "model")
    return g.compile(checkpointer=saver)


def _thread(i: int) -> dict[str, Any]:
    return {"configurable": {"thread_id": f"raw-{i}"}}


def main(argv: list[str]) -> int:
    import psycopg
    from langgraph.checkpoint.postgres import PostgresSaver

    what, url, infra = argv[0], argv[1], argv[2]
    with PostgresSaver.from_conn_string(url) as saver:
        if what == "prepare":
            saver.setup()
            graph = raw_graph(saver, infra)
            for i in range(int(argv[3])):
                if "__interrupt__" not in graph.invoke(
                    {"messages": [("user", "tidy up")]}, _thread(i)
                ):
                    print(f"raw thread {i} did not stop at its review", file=sys.stderr)
                    return 1
            return 0
        index, count, total = int(argv[3]), int(argv[4]), int(argv[5])
        graph = raw_graph(saver, infra)
        mine = [i for i in range(total) if i % count == index]
        print(json.dumps({"ready": True}), flush=True)
        with psycopg.connect(url, autocommit=True) as gate:
            gate.execute("SELECT pg_advisory_lock_shared(%s)", (BARRIER,))
        for i in mine:
            graph.invoke(Command(resume={"type": "approve"}), _thread(i))
        print(json.dumps({"done": time.time(), "resumed": len(mine)}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
