"""The gated tool step is a drop-in for LangGraph's ToolNode.

One set of tools (sync, async, `ToolRuntime`, `InjectedState`, `InjectedStore`,
`InjectedToolCallId`, a `Command`, raising ones) runs under every runner in `RUNNERS`: a
plain `StateGraph` with ToolNode (the reference), LangChain's `create_agent`, `create_agent`
with `InterlockMiddleware`, and `create_gated_agent`, the gated ones with a policy that
allows every call. The answers must be the same: content, status, name and tool_call_id of
each ToolMessage, the state a Command updated, and the exception when a tool's error ends
the run. A runner is one entry in `RUNNERS`: a function that compiles an agent from a
`Build`; a case that does not apply to a runner is in `NOT_APPLICABLE`, with the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.nodes.compat_suite import (
    CASES,
    GATED,
    NOT_APPLICABLE,
    REFERENCE,
    RUNNERS,
    run_case,
)


def _params() -> Iterator[Any]:
    for name, case in CASES.items():
        for mode in case.modes:
            for runner in RUNNERS:
                if runner != REFERENCE and (name, runner) not in NOT_APPLICABLE:
                    yield pytest.param(name, mode, runner, id=f"{name}-{mode}-{runner}")


@pytest.mark.parametrize(("case", "mode", "runner"), list(_params()))
def test_the_same_tools_answer_the_same_under_every_runner(
    case: str, mode: str, runner: str, tmp_path: Path
) -> None:
    expected, _ = run_case(RUNNERS[REFERENCE], CASES[case], mode, tmp_path)
    got, build = run_case(RUNNERS[runner], CASES[case], mode, tmp_path)
    assert got == expected
    assert expected.messages or expected.error  # the reference really ran the tools
    if runner in GATED:
        # Every call that ran has its ledger row closed: succeeded, or failed when it raised.
        statuses = sorted(r.status for r in build.ledger.all())
        want = sorted("failed" if s == "error" else "succeeded" for _, s, _, _ in got.messages)
        assert statuses == (want or ["failed"])


@pytest.mark.parametrize("runner", GATED)
def test_a_gate_runs_async_only_tools_under_invoke_too(runner: str, tmp_path: Path) -> None:
    """Where ToolNode (and create_agent) refuse an async-only tool under invoke, a gate
    awaits it on a private loop: the durable runtime's sync stream needs that."""
    reference, _ = run_case(RUNNERS[REFERENCE], CASES["async"], "sync", tmp_path)
    assert reference.error is not None
    assert "does not support sync invocation" in reference.error
    got, build = run_case(RUNNERS[runner], CASES["async"], "sync", tmp_path)
    assert got.error is None
    assert [(c, s, n) for c, s, n, _ in got.messages] == [
        ("aecho a, in a thread", "success", "aecho"),
        ("echo b", "success", "echo"),
    ]
    assert sorted(r.status for r in build.ledger.all()) == ["succeeded", "succeeded"]
