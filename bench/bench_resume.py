"""Decision to execution: from a reviewer's approval to the approved tool running.

Target (issues 4 and 12): decision recorded -> tool executing takes at most 2.0x a raw LangGraph
resume on the same database, with authorisation, audit, approval binding and signing included.

What is timed. The same scripted agent proposes one production restart, which needs review.
- Interlock: the agent runs through `Runtime.run` and stops for review. One sample is the time
  from calling `rt.decisions.decide(review_id, {"type": "approve"}, reviewer=...)` (the
  in-process resume) until the first line of the tool's body runs. In between: one round trip
  locks the review row and reads the decisions so far, the thread, the stop switches, the
  audit head, the thread's latest checkpoint (is the review still current?) and takes the
  thread's claim; the reviewer's roles and separation of duties are checked; the decision,
  its single-use approval bound to the action digest and the audit row commit in one
  transaction; the graph resumes by interrupt id under that same claim; guarded execution
  recomputes the digest from the state and, in one statement, consumes the approval and
  opens the execution-ledger row, which is durable before the tool starts.
- Raw LangGraph: the same model, a plain `interrupt()` review node and a tool node that just
  invokes the tool, compiled with the runtime's own checkpointer (same type, same database).
  One sample is the time from `graph.invoke(Command(resume=...))` until the tool body runs.
Each sample is a fresh thread paused at its review; the two ways alternate, and the reported
values are medians. Each sample checks that the tool ran exactly once.

The Interlock path includes signing: the decision signs its approval with the reviewer side's
Ed25519 key, and guarded execution verifies it with the public key before the tool runs. A
third row times exactly that pair (sign one approval, verify it, the same calls the decision
and guarded execution make) so what signing adds is stated on its own (target <= 0.2 ms).
"""

from __future__ import annotations

import json
import tempfile
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from types import SimpleNamespace
from typing import Any

from langchain_core.messages import AIMessage, ToolMessage
from langgraph.constants import END, START
from langgraph.graph import MessagesState, StateGraph
from langgraph.types import Command, interrupt

from bench._common import Row, gc_disabled, postgres_db, row, signing_keys, time_calls_ns
from interlock.graphs._agent import make_model_node

__all__ = ["run"]

TARGET = 2.0
SIGN_TARGET_MS = 0.2
SAMPLES, QUICK_SAMPLES = 40, 5
WARMUP = 3
GRAPH = "bench_resume"
REVIEWER, PASSWORD = "bench-lead", "bench-password"

STARTED: list[float] = []
"""perf_counter() at the first line of the tool's body, one entry per execution."""


def _tool(*, governed: bool = True) -> Any:
    """The restart tool: @gated for Interlock; a plain tool for raw LangGraph, which has no
    gate (a @gated tool refuses to run where no gate governs the call)."""
    from langchain_core.tools import tool

    from interlock.nodes import gated

    @tool
    def restart_service(target: str) -> str:
        """Restart a service."""
        STARTED.append(time.perf_counter())
        return f"{target} restarted"

    if not governed:
        return restart_service
    return gated(restart_service, effects={"write"}, reversible=True, environment="production")


def _model() -> Any:
    from interlock.graphs import ScriptedChatModel, say

    def propose(messages: Any) -> Any:
        target = json.loads(str(messages[0].content))["target"]
        return say("Restarting it.", ("restart_service", {"target": target}))

    return ScriptedChatModel(steps=[propose])


def _gated_factory(
    *,
    checkpointer: Any,
    policy: Any,
    approvals: Any,
    ledger: Any,
    audit: Any,
    issue_on_resume: bool,
    options: Mapping[str, Any],
) -> Any:
    from interlock.graphs import build_gated_graph

    builder, gate = build_gated_graph(
        _model(),
        [_tool()],
        policy,
        agent="bench-agent",
        approvals=approvals,
        ledger=ledger,
        audit=audit,
        issue_on_resume=issue_on_resume,
    )
    return SimpleNamespace(graph=builder.compile(checkpointer=checkpointer), gate=gate)


def _raw_graph(saver: Any) -> Any:
    """The same agent without Interlock: a plain interrupt before a plain tool step."""
    restart = _tool(governed=False)

    def review(state: MessagesState) -> Command[Any]:
        ai = state["messages"][-1]
        assert isinstance(ai, AIMessage)
        answer = interrupt({"tool_calls": ai.tool_calls})
        return Command(goto="tools" if answer.get("type") == "approve" else END)

    def tools(state: MessagesState) -> dict[str, Any]:
        ai = state["messages"][-1]
        assert isinstance(ai, AIMessage)
        out = [
            ToolMessage(str(restart.invoke(call["args"])), tool_call_id=call["id"] or "")
            for call in ai.tool_calls
        ]
        return {"messages": out}

    def route(state: MessagesState) -> str:
        ai = state["messages"][-1]
        return "review" if isinstance(ai, AIMessage) and ai.tool_calls else END

    model_node: Any = make_model_node(_model(), system_prompt=None, clock=lambda: datetime.now(UTC))
    g: Any = StateGraph(MessagesState)
    g.add_node("model", model_node)
    g.add_node("review", review, destinations=("tools", END))
    g.add_node("tools", tools)
    g.add_edge(START, "model")
    g.add_conditional_edges("model", route, ["review", END])
    g.add_edge("tools", "model")
    return g.compile(checkpointer=saver)


def _ran_once(before: int) -> float:
    if len(STARTED) != before + 1:
        msg = f"the tool ran {len(STARTED) - before} times for one approval, expected once"
        raise RuntimeError(msg)
    return STARTED[-1]


def _interlock_sample(rt: Any, me: Any) -> float:
    out = rt.run(GRAPH, json.dumps({"target": f"svc-{uuid.uuid4().hex[:8]}"}))
    if out.status != "pending" or out.review_id is None:
        msg = f"the gated run ended {out.status}, expected a review"
        raise RuntimeError(msg)
    before = len(STARTED)
    t0 = time.perf_counter()
    done = rt.decisions.decide(out.review_id, {"type": "approve"}, reviewer=me)
    started = _ran_once(before)
    if done.thread_status != "done":
        msg = f"the approved thread ended {done.thread_status}, expected done"
        raise RuntimeError(msg)
    return (started - t0) * 1000


def _raw_sample(graph: Any) -> float:
    cfg = {"configurable": {"thread_id": f"raw-{uuid.uuid4().hex}"}}
    paused = graph.invoke({"messages": [("user", json.dumps({"target": "svc"}))]}, cfg)
    if "__interrupt__" not in paused:
        msg = "the raw graph did not stop at its interrupt"
        raise RuntimeError(msg)
    before = len(STARTED)
    t0 = time.perf_counter()
    graph.invoke(Command(resume={"type": "approve"}), cfg)
    return (_ran_once(before) - t0) * 1000


def measure(url: str, reviewers: Path, samples: int) -> tuple[list[float], list[float]]:
    """(Interlock samples, raw LangGraph samples) in ms on the database at `url`."""
    from interlock.runtime import Runtime

    with Runtime.open(url, reviewers_path=reviewers, graphs={GRAPH: _gated_factory}) as rt:
        me = rt.reviewers.authenticate(REVIEWER, PASSWORD)
        raw = _raw_graph(rt.checkpointer())
        for _ in range(WARMUP):  # imports, graph builds, prepared statements
            _interlock_sample(rt, me)
            _raw_sample(raw)
        ours: list[float] = []
        theirs: list[float] = []
        with gc_disabled():
            for i in range(samples):
                if i % 2 == 0:
                    ours.append(_interlock_sample(rt, me))
                    theirs.append(_raw_sample(raw))
                else:
                    theirs.append(_raw_sample(raw))
                    ours.append(_interlock_sample(rt, me))
    return ours, theirs


def _row(backend: str, ours: list[float], theirs: list[float]) -> Row:
    value, base = median(ours), median(theirs)
    return row(
        f"decision -> tool start, {backend}",
        value,
        "ms",
        baseline=base,
        baseline_name="raw LangGraph Command(resume=...)",
        target=f"<= {TARGET:g}x raw resume",
        ok=value / base <= TARGET,
        note=(
            f"median of {len(ours)} reviews each; p90 {sorted(ours)[int(0.9 * len(ours))]:.1f} ms "
            f"vs {sorted(theirs)[int(0.9 * len(theirs))]:.1f} ms; includes authorisation, "
            "currency check, decision + approval + audit transaction, thread claim"
        ),
    )


def _signing_row(samples: int) -> Row:
    """Sign one approval and verify it with the public key, as a decision and guarded
    execution do (the key ring is loaded once per process, as the runtime keeps it)."""
    from datetime import timedelta

    from interlock.nodes import Approval
    from interlock.runtime.review.keys import create_key
    from interlock.runtime.review.signing import KeyRing

    with tempfile.TemporaryDirectory() as tmp:
        signer, _ = create_key(Path(tmp) / "signing.key", Path(tmp) / "public")
        ring = KeyRing([Path(tmp) / "public"])
    now = datetime.now(UTC)
    approval = Approval(
        digest="9" * 64,
        tool="restart_service",
        thread_id=f"bench-{uuid.uuid4().hex}",
        interrupt_id=uuid.uuid4().hex,
        tool_call_id="call-1",
        reviewers=("bench-lead",),
        roles=("sre-lead",),
        issued_at=now,
        expires_at=now + timedelta(hours=1),
        review_id="rv-0123456789ab",
        policy_version="p-0123456789ab",
    )

    def both() -> None:
        if ring.why_invalid(signer.sign(approval)) is not None:
            msg = "a freshly signed approval did not verify"
            raise RuntimeError(msg)

    time_calls_ns(both, 50)
    with gc_disabled():
        taken = time_calls_ns(both, max(200, samples * 50))
    value = median(taken) / 1e6
    return row(
        "approval sign + verify (Ed25519)",
        value,
        "ms",
        target=f"<= {SIGN_TARGET_MS:g} ms",
        ok=value <= SIGN_TARGET_MS,
        note=f"median of {len(taken)}; included in both decision -> tool start rows",
    )


def run(quick: bool = False) -> list[Row]:
    from interlock.runtime import Reviewers

    samples = QUICK_SAMPLES if quick else SAMPLES
    out: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        reviewers = Path(tmp) / "reviewers.toml"
        Reviewers.load(reviewers).add(REVIEWER, ["sre-lead"], PASSWORD)
        out.append(_row("SQLite", *measure(f"sqlite:///{tmp}/resume.db", reviewers, samples)))
        with postgres_db() as url, signing_keys():
            out.append(_row("Postgres", *measure(url, reviewers, samples)))
    out.append(_signing_row(samples))
    return out


if __name__ == "__main__":
    for r in run(quick=True):
        print(r)
