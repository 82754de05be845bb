"""The review inbox: every review interrupt is a pending row, listed in SQL, kept current."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from langchain_core.tools import tool
from langgraph.graph import START, StateGraph
from langgraph.types import Command

from interlock.graphs import ScriptedChatModel, build_gated_graph, say
from interlock.nodes import GatedState, gated
from interlock.risk import Resource
from interlock.risk.errors import ConfigError, ConflictError, NotFoundError
from interlock.runtime import Authenticator, Principal, Reviewer, Reviewers, Runtime, hash_password


def _principal(name: str, role: str) -> Principal:
    """`name` signed in with a password, as the CLI and the console sign people in: the
    decision service takes nothing else (a hand-made Reviewer is refused)."""
    password = "test-password"
    who = Reviewer(name=name, roles=(role,), password_hash=hash_password(password))
    return Authenticator(Reviewers(Path("reviewers.toml"), {name: who})).password(name, password)


LEAD = _principal("sam", "sre-lead")
ONCALL = _principal("olivia", "oncall")
ADMIN = _principal("ada", "admin")
REQUEST = "Deploys to staging fail: api-staging answers 401. Please fix it."


def _drop_tool(log: list[str]) -> Any:
    @tool
    def drop_table(name: str) -> str:
        """Drop a database table."""
        log.append(name)
        return f"dropped {name}"

    return gated(
        drop_table,
        effects={"delete", "destroy"},
        reversible=False,
        environment="production",
        resource=lambda a: Resource(type="table", id=str(a.get("name"))),
        preview=lambda a: f"drops table {a.get('name')} in production; cannot be undone",
    )


def nested_factory(**kw: Any) -> Any:
    """A parent graph whose only node is a gated agent: its review is a subgraph interrupt."""
    log: list[str] = []
    model = ScriptedChatModel(steps=[say("Dropping it.", ("drop_table", {"name": "users"}))])
    builder, gate = build_gated_graph(
        model,
        [_drop_tool(log)],
        kw["policy"],
        approvals=kw["approvals"],
        ledger=kw["ledger"],
        audit=kw["audit"],
        issue_on_resume=kw["issue_on_resume"],
    )
    parent = StateGraph(GatedState)
    parent.add_node("agent", builder.compile())
    parent.add_edge(START, "agent")
    return SimpleNamespace(
        graph=parent.compile(checkpointer=kw["checkpointer"]), gate=gate, log=log
    )


def test_a_run_registers_its_review_with_everything_a_reviewer_filters_on(
    rt: Runtime, ops_options: dict[str, str]
) -> None:
    run = rt.run("ops_agent", REQUEST, options=ops_options, requester="rita")
    assert run.status == "pending"
    assert "agent proposes delete_volume(volume_id='vol-prod-db', token='tok-ci-admin')" in (
        run.events
    )
    (item,) = rt.inbox.pending()
    assert item.id == run.review_id
    assert (item.thread_id, item.graph, item.status) == (run.thread_id, "ops_agent", "pending")
    assert (item.level, item.tool, item.target) == (
        "critical",
        "delete_volume",
        "volume vol-prod-db",
    )
    assert (item.environment, item.agent, item.requester) == ("production", "ops-agent", "rita")
    assert item.required_roles == ("sre-lead", "admin")
    assert item.required_count == 1
    assert item.approvals == ()
    assert item.expires_at is not None
    assert item.expires_at - item.created_at == timedelta(hours=24)
    assert [e.event for e in rt.audit.rows()].count("review_opened") == 1
    # The row stands for the live interrupt of the thread's latest checkpoint.
    state = rt.graph("ops_agent", ops_options).graph.get_state(
        {"configurable": {"thread_id": run.thread_id}}
    )
    assert [i.id for i in state.interrupts] == [rt.inbox.get(item.id).request["interrupt_id"]]


def test_filters_sorting_and_counts_are_sql_only(
    rt: Runtime, ops_options: dict[str, str], tmp_path: Any
) -> None:
    first = rt.run("ops_agent", REQUEST, options=ops_options)
    other = {"infra": str(tmp_path / "other.json")}
    second = rt.run("ops_agent", REQUEST, options=other)
    assert rt.inbox.count() == 2
    assert [s.id for s in rt.inbox.pending(sort="age")] == [first.review_id, second.review_id]
    assert rt.inbox.count(level="critical") == 2
    assert rt.inbox.count(level=["low", "medium"]) == 0
    assert rt.inbox.count(environment="production") == 2
    assert rt.inbox.count(environment="staging") == 0
    assert rt.inbox.count(tool="delete_volume") == 2
    assert rt.inbox.count(role="oncall") == 0  # critical needs sre-lead or more senior
    assert rt.inbox.count(role="sre-lead") == 2
    assert rt.inbox.count(role="admin") == 2
    assert rt.inbox.count(reviewer=LEAD) == 2
    assert rt.inbox.count(reviewer=ONCALL) == 0
    assert rt.inbox.count(expiring_within=timedelta(hours=25)) == 2
    assert rt.inbox.count(expiring_within=timedelta(hours=1)) == 0
    assert rt.inbox.count(min_age=timedelta(hours=1)) == 0
    assert len(rt.inbox.pending(limit=1)) == 1
    assert [s.id for s in rt.inbox.pending(limit=1, offset=1, sort="age")] == [second.review_id]
    with pytest.raises(ConfigError, match="unknown level"):
        rt.inbox.pending(level="urgent")
    with pytest.raises(ConfigError, match="unknown sort"):
        rt.inbox.pending(sort="random")  # type: ignore[arg-type]


def test_mine_to_decide_leaves_out_my_own_run(rt: Runtime, ops_options: dict[str, str]) -> None:
    rt.run("ops_agent", REQUEST, options=ops_options, requester="sam")
    (item,) = rt.inbox.pending()
    assert rt.inbox.count(reviewer=LEAD) == 0
    assert not rt.inbox.can_decide(item, LEAD)
    assert rt.inbox.can_decide(item, ADMIN)
    assert not rt.inbox.can_decide(item, ONCALL)


def test_detail_has_the_request_decisions_and_this_threads_history(
    rt: Runtime, ops_options: dict[str, str], tmp_path: Any
) -> None:
    run = rt.run("ops_agent", REQUEST, options=ops_options)
    rt.run("ops_agent", REQUEST, options={"infra": str(tmp_path / "b.json")})
    detail = rt.inbox.get(run.review_id or "")
    (action,) = detail.request["action_requests"]
    assert action["name"] == "delete_volume"
    assert "3 backups live on this volume and would be lost" in action["expected_outcome"]
    assert detail.request["reasoning"].startswith("vol-prod-db holds the stale credential")
    assert detail.request["tool_results"]
    assert [r["rule"] for r in action["assessment"]["reasons"]]
    assert detail.decisions == ()
    steps = [t for t in detail.timeline if t.kind == "checkpoint"]
    assert steps[-1].text.endswith("(stopped for review)")
    assert {t.text.split(":")[0] for t in detail.timeline if t.kind == "audit"} >= {
        "run_started by ops-agent",
        "review_opened by ops-agent",
    }
    # Only this thread: the other run's history is not mixed in.
    assert sum(t.text.startswith("run_started") for t in detail.timeline) == 1
    # A unique prefix finds the review; a wrong id says where to look.
    assert rt.inbox.get((run.review_id or "")[:9]).summary.id == run.review_id
    with pytest.raises(NotFoundError, match="interlock pending"):
        rt.inbox.get("rv-nope")


def test_subgraph_interrupts_are_reviews_too(db_url: str, tmp_path: Any) -> None:
    with Runtime.open(
        db_url, reviewers_path=tmp_path / "r.toml", graphs={"nested": nested_factory}
    ) as rt:
        run = rt.run("nested", "Drop the users table.")
        (item,) = rt.inbox.pending()
        assert item.id == run.review_id
        assert (item.tool, item.target, item.level) == ("drop_table", "table users", "critical")
        out = rt.decisions.decide(item.id, {"type": "approve"}, reviewer=LEAD)
        assert out.status == "resumed"
        assert out.thread_status == "done"
        assert any("drop_table [ran]: dropped users" in e for e in out.events)


def test_reconcile_cancels_rows_whose_interrupt_went_away(
    rt: Runtime, ops_options: dict[str, str]
) -> None:
    run = rt.run("ops_agent", REQUEST, options=ops_options)
    graph = rt.graph("ops_agent", ops_options).graph
    cfg: Any = {"configurable": {"thread_id": run.thread_id}}
    # Someone resumes the thread behind the runtime's back (strict mode: an approve without
    # an issued approval only re-opens the review, under a new interrupt).
    (interrupt,) = graph.get_state(cfg).interrupts
    graph.invoke(Command(resume={interrupt.id: {"type": "approve"}}), cfg)
    with pytest.raises(ConflictError, match="moved on"):
        rt.decisions.decide(run.review_id or "", {"type": "reject"}, reviewer=LEAD)
    result = rt.inbox.reconcile()
    assert result.cancelled == (run.review_id,)
    (fresh,) = rt.inbox.pending()
    assert result.registered == (fresh.id,)
    assert fresh.round == 2
    assert rt.inbox.summary(run.review_id or "").status == "cancelled"
    assert rt.inbox.reconcile(thread_id=run.thread_id).cancelled == ()


def test_a_short_or_ambiguous_prefix_says_which_it_is(
    rt: Runtime, ops_options: dict[str, str]
) -> None:
    ids = []
    for _ in range(2):
        run = rt.run("ops_agent", REQUEST, options=ops_options)
        assert run.review_id is not None
        ids.append(run.review_id)
    # Two ids that share their first 9 characters, as random ids sometimes do.
    twins = ["rv-abc123def001", "rv-abc123def002"]
    with rt.db.transaction() as conn:
        for old, new in zip(ids, twins, strict=True):
            conn.execute("UPDATE interlock_reviews SET id = ? WHERE id = ?", (new, old))
    with pytest.raises(NotFoundError, match=r"start of more than one review \(rv-abc123def001, "):
        rt.inbox.get("rv-abc123")
    assert rt.inbox.get("rv-abc123def002").summary.id == "rv-abc123def002"
    with pytest.raises(NotFoundError, match="shortened to its first 6 characters or more"):
        rt.inbox.get("rv-ab")
    with pytest.raises(NotFoundError, match=r"no review 'rv-zzz999'\. List the open ones"):
        rt.inbox.get("rv-zzz999")
