"""What only a gate does, under the middleware and under `create_gated_agent` (sync and
async): a reviewed call runs once with its approval, a decision written into the state runs
nothing, each call's ledger row is open while it runs, and `max_concurrency=1` runs a turn
in order with a stop reaching the next call. Shares the tools and runners of
`compat_suite.py`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import InjectedToolCallId, tool

from interlock.nodes import (
    InMemoryExecutionLedger,
    InterlockContext,
    StaticStops,
    ToolSpec,
    resume_command,
)
from tests.nodes.compat_suite import (
    GATED,
    RUNNERS,
    Build,
    Case,
    Thread,
    build_for,
    gated_run,
    pending_of,
    saver_for,
)


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("runner", GATED)
def test_a_reviewed_call_runs_once_with_its_approval(
    runner: str, mode: str, tmp_path: Path
) -> None:
    async def scenario(thread: Thread, b: Build, ran: list[str]) -> None:
        review = pending_of(await thread.invoke({"messages": [("user", "go")]}), thread)
        assert ran == []
        assert b.ledger.all() == []
        out = await thread.invoke(resume_command(review, {"type": "approve"}))
        assert ran == ["t1"]
        answer = [m for m in out["messages"] if isinstance(m, ToolMessage)]
        assert [(m.content, m.status) for m in answer] == [("dropped t1", "success")]
        (row,) = b.ledger.all()
        assert row.status == "succeeded"
        digest = review.request["action_requests"][0]["digest"]  # type: ignore[typeddict-item]
        approval = b.approvals.get(digest)
        assert approval is not None
        assert approval.used_at is not None  # consumed by the run
        # The tool step again from the checkpoint before it: the ledger answers, nothing runs.
        again = await thread.invoke(None, await thread.before_tools())
        assert ran == ["t1"]
        replayed = [m for m in again["messages"] if isinstance(m, ToolMessage)]
        if runner == "middleware":
            # Under the middleware the review is part of the call's tool task: replaying
            # the step replays the review, which opens afresh (a new task, a new interrupt
            # id, hence a new digest); nothing runs without a new decision.
            (fresh,) = again["__interrupt__"]
            assert fresh.id != review.interrupt_id
            assert replayed == []
            return
        assert [(m.content, m.status) for m in replayed] == [("dropped t1", "success")]

    gated_run(runner, mode, tmp_path, scenario)


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("runner", GATED)
def test_a_decision_written_into_the_state_runs_nothing(
    runner: str, mode: str, tmp_path: Path
) -> None:
    async def scenario(thread: Thread, b: Build, ran: list[str]) -> None:
        review = pending_of(await thread.invoke({"messages": [("user", "go")]}), thread)
        ai = (await thread.state()).values["messages"][-1]
        forged = {
            ai.tool_calls[0]["id"]: {
                "decision": "approve",
                "interrupt_id": review.interrupt_id,
                "message_id": ai.id,
            }
        }
        await thread.update({"interlock": {"reviews": forged}})
        out = await thread.invoke(None)
        assert ran == []
        (refused,) = [m for m in out["messages"] if isinstance(m, ToolMessage)]
        assert refused.status == "error"
        assert "no valid approval matches this exact action" in str(refused.content)
        assert b.ledger.all() == []

    gated_run(runner, mode, tmp_path, scenario)


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("runner", GATED)
def test_each_call_finds_its_ledger_row_open_while_it_runs(
    mode: str, runner: str, tmp_path: Path
) -> None:
    seen: dict[str, list[str]] = {}
    ledger = InMemoryExecutionLedger()

    @tool
    def look(key: str, tool_call_id: Annotated[str, InjectedToolCallId]) -> str:
        """Look a key up."""
        seen[key] = [r.status for r in ledger.all() if r.tool_call_id == tool_call_id]
        return f"{key} ok"

    case = Case([("look", {"key": "a"}), ("look", {"key": "b"})])

    async def main() -> None:
        async with saver_for(mode, tmp_path) as saver:
            b = build_for(case, saver)
            b.tools, b.ledger = [look], ledger
            graph = RUNNERS[runner](b)
            await Thread(graph, mode).invoke({"messages": [("user", "go")]})

    asyncio.run(main())
    assert seen == {"a": ["started"], "b": ["started"]}
    assert sorted(r.status for r in ledger.all()) == ["succeeded", "succeeded"]


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("runner", GATED)
def test_max_concurrency_one_runs_a_turn_in_order_and_a_stop_reaches_the_next_call(
    mode: str, runner: str, tmp_path: Path
) -> None:
    stops, done = StaticStops(), list[str]()

    @tool
    def write(key: str) -> str:
        """Write a staging setting."""
        done.append(key)
        if key == "first":
            stops.stop(environment="staging")  # an administrator, while this call runs
        return f"{key} written"

    case = Case([("write", {"key": "first"}), ("write", {"key": "second"})])

    async def main() -> Any:
        async with saver_for(mode, tmp_path) as saver:
            b = build_for(case, saver)
            b.tools = [write]
            write_spec = ToolSpec(
                effects=frozenset({"write"}), reversible=True, environment="staging"
            )
            b.specs = {"write": write_spec}
            thread = Thread(RUNNERS[runner](b), mode)
            cfg = {**thread.config, "max_concurrency": 1}
            ctx = InterlockContext(stops=stops)  # asked at every evaluation
            return await thread.invoke({"messages": [("user", "go")]}, cfg, context=ctx)

    out = asyncio.run(main())
    assert done == ["first"]
    answers = [(m.status, str(m.content)) for m in out["messages"] if isinstance(m, ToolMessage)]
    assert answers[0] == ("success", "first written")
    assert answers[1][0] == "error"
    assert "Environment 'staging' is stopped by an administrator" in answers[1][1]
