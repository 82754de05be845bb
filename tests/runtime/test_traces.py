"""OpenTelemetry spans through the durable runtime: one model turn proposes an allowed read, a
denied wipe and a production write that needs review; a reviewer approves it through the
decision service, which resumes the thread. The in-memory exporter sees the gate, the
decision, the review wait and each execution, with the runtime's own review id."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from langchain_core.tools import tool
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from interlock.graphs import ScriptedChatModel, build_gated_graph, say
from interlock.nodes import gated, use_tracer_provider
from interlock.runtime import Authenticator, Principal, Reviewer, Reviewers, Runtime, hash_password

EXPORTER = InMemorySpanExporter()
PROVIDER = TracerProvider()  # Interlock's own provider: the global one may be set only once
PROVIDER.add_span_processor(SimpleSpanProcessor(EXPORTER))
GRAPH = "traced_writer"


def _principal(name: str, role: str) -> Principal:
    password = "test-password"
    who = Reviewer(name=name, roles=(role,), password_hash=hash_password(password))
    return Authenticator(Reviewers(Path("reviewers.toml"), {name: who})).password(name, password)


SAM = _principal("sam", "sre-lead")


@pytest.fixture(autouse=True)
def spans() -> Iterator[InMemorySpanExporter]:
    EXPORTER.clear()
    use_tracer_provider(PROVIDER)
    yield EXPORTER
    use_tracer_provider(None)
    EXPORTER.clear()


def traced_writer(**kw: Any) -> Any:
    @tool
    def read_setting(key: str) -> str:
        """Read a setting."""
        return f"{key}=1"

    @tool
    def write_setting(key: str, env: str = "staging") -> str:
        """Write a setting in an environment."""
        return f"{key} written in {env}"

    @tool
    def shell(command: str) -> str:
        """Run a shell command in production."""
        return "ok"

    gated(read_setting, effects={"read"}, environment="production")
    gated(
        write_setting,
        effects={"write"},
        reversible=True,
        environment=lambda args: str(args.get("env") or "staging"),
    )
    gated(shell, effects={"write"}, reversible=True, environment="production")
    turn = say(
        "Read, wipe, write.",
        ("read_setting", {"key": "mode"}),
        ("shell", {"command": "mkfs.ext4 /dev/sdb"}),
        ("write_setting", {"key": "mode", "env": "production"}),
    )
    builder, gate = build_gated_graph(
        ScriptedChatModel(steps=[turn]),
        [read_setting, write_setting, shell],
        kw["policy"],
        agent="writer",
        approvals=kw["approvals"],
        ledger=kw["ledger"],
        audit=kw["audit"],
        issue_on_resume=kw["issue_on_resume"],
    )
    return SimpleNamespace(graph=builder.compile(checkpointer=kw["checkpointer"]), gate=gate)


@pytest.fixture
def rt(sqlite_url: str, tmp_path: Path) -> Iterator[Runtime]:
    runtime = Runtime.open(
        sqlite_url, graphs={GRAPH: traced_writer}, reviewers_path=tmp_path / "reviewers.toml"
    )
    yield runtime
    runtime.close()


def named(name: str) -> list[ReadableSpan]:
    return [s for s in EXPORTER.get_finished_spans() if s.name == name]


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def by_tool(found: list[ReadableSpan]) -> dict[str, ReadableSpan]:
    return {str(attrs(s)["interlock.tool"]): s for s in found}


def test_gate_decision_review_and_execution_spans(rt: Runtime) -> None:
    run = rt.run(GRAPH, "Tidy the settings.")
    assert run.status == "pending"
    assert run.review_id
    first = {str(attrs(s)["interlock.tool"]): attrs(s) for s in named("interlock.gate")}
    assert first["read_setting"]["interlock.outcome"] == "allow"
    assert first["shell"]["interlock.outcome"] == "deny"
    assert first["write_setting"]["interlock.outcome"] == "review"
    for a in first.values():
        assert a["interlock.thread_id"] == run.thread_id
        assert a["interlock.level"] in ("low", "medium", "high", "critical")
        assert isinstance(a["interlock.score"], int)
        assert a["interlock.policy_version"] == rt.policy.version
    assert first["shell"]["interlock.rules"]
    assert len(str(first["read_setting"]["interlock.digest"])) == 64
    assert named("interlock.execute") == []  # the turn waits as one
    EXPORTER.clear()

    out = rt.decisions.decide(run.review_id, {"type": "approve"}, reviewer=SAM)
    assert out.thread_status == "done"
    (decision,) = named("interlock.decision")
    d = attrs(decision)
    assert (d["interlock.review_id"], d["interlock.reviewer"]) == (run.review_id, "sam")
    assert list(d["interlock.decision"]) == ["approve"]
    assert list(d["interlock.approvals"]) == ["sam"]
    assert (d["interlock.status"], d["interlock.thread_status"]) == ("resumed", "done")

    # The resume ran inside the decision: the review wait and the executions nest in it.
    (review,) = named("interlock.review")
    r = attrs(review)
    assert review.parent is not None
    assert review.parent.span_id == decision.context.span_id
    assert list(r["interlock.tools"]) == ["write_setting"]
    assert list(r["interlock.decisions"]) == ["approve"]
    assert list(r["interlock.reviewers"]) == ["sam"]
    assert review.start_time is not None
    assert decision.start_time is not None
    assert review.start_time < decision.start_time  # it opened when the run paused

    execs = by_tool(named("interlock.execute"))
    assert set(execs) == {"read_setting", "shell", "write_setting"}
    for span in execs.values():
        assert span.parent is not None
        assert span.context.trace_id == decision.context.trace_id
    read, wipe, write = (attrs(execs[n]) for n in ("read_setting", "shell", "write_setting"))
    assert (read["interlock.outcome"], read["interlock.status"]) == ("allow", "succeeded")
    assert read["interlock.ledger"] == "started"
    assert (wipe["interlock.outcome"], wipe["interlock.status"]) == ("deny", "not_run")
    assert (write["interlock.outcome"], write["interlock.status"]) == ("approved", "succeeded")
    assert write["interlock.review_id"] == run.review_id  # the runtime's id, from the approval
    assert write["interlock.digest"] == r["interlock.digests"][0]
