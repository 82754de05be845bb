"""Verdicts in traces: what a LangChain callback handler and an OpenTelemetry exporter see for
an allowed call, a denied call and a call reviewed then approved, under `create_gated_agent`
and under `InterlockMiddleware` in `create_agent`, with `invoke` and `ainvoke`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from langchain.agents import create_agent
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from interlock.graphs import ScriptedChatModel, create_gated_agent, say
from interlock.nodes import VERDICT_EVENT, InterlockMiddleware, gated, use_tracer_provider

# Interlock's own provider, not the global one (a process may set that only once).
EXPORTER = InMemorySpanExporter()
PROVIDER = TracerProvider()
PROVIDER.add_span_processor(SimpleSpanProcessor(EXPORTER))


@pytest.fixture(autouse=True)
def spans() -> Iterator[InMemorySpanExporter]:
    EXPORTER.clear()
    use_tracer_provider(PROVIDER)
    yield EXPORTER
    use_tracer_provider(None)
    EXPORTER.clear()


class Recorder(BaseCallbackHandler):
    """A real callback handler: keeps what each tool run, custom event and verdict run shows."""

    def __init__(self) -> None:
        self.tools: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.verdict_runs: list[dict[str, Any]] = []

    def on_tool_start(
        self,
        serialized: dict[str, Any] | None,
        input_str: str,
        *,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        name = kwargs.get("name") or (serialized or {}).get("name")
        self.tools.append({"name": name, "tags": tags or [], "metadata": metadata or {}})

    def on_custom_event(self, name: str, data: Any, *, run_id: UUID, **kwargs: Any) -> None:
        if name == VERDICT_EVENT:
            self.events.append(data)

    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: dict[str, Any],
        *,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if kwargs.get("name") == VERDICT_EVENT:
            self.verdict_runs.append({"tags": tags or [], "metadata": metadata or {}})


@tool
def lookup(order_id: str) -> str:
    """Look up an order."""
    return f"{order_id}: 900 EUR"


@tool
def refund(order_id: str, amount: float) -> str:
    """Refund an order."""
    return f"refunded {amount} on {order_id}"


@tool
def shell(command: str) -> str:
    """Run a shell command in production."""
    return "ok"


gated(lookup, effects={"read"}, environment="production")
gated(refund, effects={"spend"}, reversible=False, environment="production")
gated(shell, effects={"write"}, reversible=True, environment="production")
TOOLS = [lookup, refund, shell]
ASK = {"messages": [("user", "Sort out order o-2.")]}
LOOK = ("lookup", {"order_id": "o-2"})
WIPE = ("shell", {"command": "mkfs.ext4 /dev/sdb"})
BIG = ("refund", {"order_id": "o-2", "amount": 900.0})


def agent(kind: str, *calls: tuple[str, dict[str, Any]]) -> Any:
    model = ScriptedChatModel(steps=[say("On it.", *calls)], final="All done.")
    if kind == "middleware":
        mw = InterlockMiddleware(TOOLS)
        return create_agent(model, TOOLS, middleware=[mw], checkpointer=InMemorySaver())
    return create_gated_agent(model, TOOLS, checkpointer=InMemorySaver())


def run(graph: Any, payload: Any, rec: Recorder, *, aio: bool) -> dict[str, Any]:
    config = {"configurable": {"thread_id": "t"}, "callbacks": [rec]}
    out: dict[str, Any] = (
        asyncio.run(graph.ainvoke(payload, config)) if aio else graph.invoke(payload, config)
    )
    return out


def named(exporter: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.name == name]


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


KINDS = pytest.mark.parametrize("kind", ["gated_agent", "middleware"])
MODES = pytest.mark.parametrize("aio", [False, True], ids=["invoke", "ainvoke"])


@KINDS
@MODES
def test_an_allowed_call_carries_its_verdict_on_its_tool_run(
    kind: str, aio: bool, spans: InMemorySpanExporter
) -> None:
    rec = Recorder()
    out = run(agent(kind, LOOK), ASK, rec, aio=aio)
    assert out["messages"][-1].content == "All done."
    (tool_run,) = [t for t in rec.tools if t["name"] == "lookup"]
    info = tool_run["metadata"][VERDICT_EVENT]
    assert info["outcome"] == "allow"
    assert info["tool"] == "lookup"
    assert info["level"] in ("low", "medium")
    assert isinstance(info["score"], int)
    assert isinstance(info["rules"], list)
    assert len(info["digest"]) == 64
    assert info["review_id"] is None
    assert info["policy_version"]
    assert "interlock:allow" in tool_run["tags"]
    assert f"interlock:level:{info['level']}" in tool_run["tags"]
    assert rec.events == [info]  # one custom event, the same data
    assert rec.verdict_runs == []  # the call ran: its own run carries the verdict

    (gate,) = named(spans, "interlock.gate")  # the tool step reuses the router's verdict
    (execute,) = named(spans, "interlock.execute")
    g, e = attrs(gate), attrs(execute)
    assert (g["interlock.outcome"], g["interlock.tool"], g["interlock.thread_id"]) == (
        "allow",
        "lookup",
        "t",
    )
    assert (g["interlock.level"], g["interlock.score"]) == (info["level"], info["score"])
    assert list(g["interlock.rules"]) == info["rules"]
    assert g["interlock.digest"] == e["interlock.digest"] == info["digest"]
    assert (e["interlock.outcome"], e["interlock.ledger"], e["interlock.status"]) == (
        "allow",
        "started",
        "succeeded",
    )


@KINDS
@MODES
def test_a_denied_call_shows_as_a_verdict_run_and_spans(
    kind: str, aio: bool, spans: InMemorySpanExporter
) -> None:
    rec = Recorder()
    out = run(agent(kind, WIPE), ASK, rec, aio=aio)
    (msg,) = [m for m in out["messages"] if isinstance(m, ToolMessage)]
    assert str(msg.content).startswith("DENIED by policy")
    assert [t for t in rec.tools if t["name"] == "shell"] == []  # it never ran
    (info,) = rec.events
    assert (info["outcome"], info["tool"], info["digest"]) == ("deny", "shell", None)
    assert info["rules"]  # why it was denied
    (verdict_run,) = rec.verdict_runs
    assert verdict_run["metadata"][VERDICT_EVENT] == info
    assert "interlock:deny" in verdict_run["tags"]
    assert f"interlock:level:{info['level']}" in verdict_run["tags"]

    gates = named(spans, "interlock.gate")
    assert gates  # the router's assessment, and the tool step's own
    assert {attrs(s)["interlock.outcome"] for s in gates} == {"deny"}
    assert "interlock.digest" not in attrs(gates[0])
    (execute,) = named(spans, "interlock.execute")
    assert (attrs(execute)["interlock.outcome"], attrs(execute)["interlock.status"]) == (
        "deny",
        "not_run",
    )


@KINDS
@MODES
def test_a_reviewed_call_carries_its_review_id_and_the_wait_is_a_span(
    kind: str, aio: bool, spans: InMemorySpanExporter
) -> None:
    graph = agent(kind, BIG)
    rec = Recorder()
    paused = run(graph, ASK, rec, aio=aio)
    (intr,) = paused["__interrupt__"]
    iid = intr.value["interrupt_id"]
    digest = intr.value["action_requests"][0]["digest"]
    (held,) = rec.events
    assert (held["outcome"], held["review_id"], held["digest"]) == ("review", iid, digest)
    assert "interlock:review" in rec.verdict_runs[0]["tags"]
    assert named(spans, "interlock.review") == []  # nothing to record until it is answered

    rec = Recorder()
    answer = Command(resume={"decisions": [{"type": "approve", "reviewer": "ada"}]})
    out = run(graph, answer, rec, aio=aio)
    assert [m.content for m in out["messages"] if isinstance(m, ToolMessage)] == [
        "refunded 900.0 on o-2"
    ]
    (tool_run,) = [t for t in rec.tools if t["name"] == "refund"]
    info = tool_run["metadata"][VERDICT_EVENT]
    assert (info["outcome"], info["review_id"], info["digest"]) == ("approved", iid, digest)
    assert info["level"] in ("high", "critical")
    assert {"interlock:approved", f"interlock:level:{info['level']}"} <= set(tool_run["tags"])
    assert info in rec.events

    (review,) = named(spans, "interlock.review")
    r = attrs(review)
    assert (r["interlock.review_id"], r["interlock.outcome"]) == (iid, "decided")
    assert list(r["interlock.decisions"]) == ["approve"]
    assert list(r["interlock.reviewers"]) == ["ada"]
    assert list(r["interlock.digests"]) == [digest]
    assert review.start_time is not None
    assert review.end_time is not None
    assert review.start_time < review.end_time  # from its opening to the answer
    (execute,) = named(spans, "interlock.execute")
    e = attrs(execute)
    assert (e["interlock.outcome"], e["interlock.review_id"]) == ("approved", iid)
    assert (e["interlock.ledger"], e["interlock.status"]) == ("started", "succeeded")


def test_a_refused_answer_is_recorded_on_the_review_span(spans: InMemorySpanExporter) -> None:
    graph = agent("gated_agent", BIG)
    rec = Recorder()
    run(graph, ASK, rec, aio=False)
    run(graph, Command(resume={"decisions": [{"type": "nonsense"}]}), rec, aio=False)
    (review,) = named(spans, "interlock.review")
    assert attrs(review)["interlock.outcome"] == "refused"
    assert attrs(review)["interlock.error"]


def test_without_handlers_or_a_provider_nothing_is_built(spans: InMemorySpanExporter) -> None:
    use_tracer_provider(None)  # the global provider: OpenTelemetry's no-op by default here
    graph = agent("gated_agent", LOOK)
    out = graph.invoke(ASK, {"configurable": {"thread_id": "quiet"}})
    assert out["messages"][-1].content == "All done."
    assert spans.get_finished_spans() == ()
