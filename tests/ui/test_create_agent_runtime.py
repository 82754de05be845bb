"""A LangChain `create_agent` thread gated by InterlockMiddleware, built by
`gated_create_agent_factory` and registered by its `module:function` name, through the
durable runtime's human faces, on SQLite and on Postgres:

- decided by `interlock decide --approve --as sam` in a process of its own, then resumed by
  an `interlock worker` process;
- decided in the Streamlit console (AppTest: sign in, the inbox, the decide form), which
  resumes the thread itself; a worker afterwards finds nothing left to carry;
- a turn with two held refunds: two reviews in `interlock pending`, each decided with
  `interlock decide`, both carried in by one worker sweep.

Either way the approved refund runs exactly once, and the ledger and the audit log agree.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import ToolMessage

HERE = Path(__file__).resolve().parent
GRAPH = "create_agent_graphs:refund_agent"  # tests/ui/create_agent_graphs.py
TWO = "create_agent_graphs:two_refunds_agent"
INTERLOCK = str(Path(sys.executable).with_name("interlock"))
BIG = {"order_id": "o-2", "amount": 900.0}


@pytest.fixture(autouse=True)
def _graphs_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    # This process (and the console's runtime in it) and every subprocess load the graph.
    monkeypatch.syspath_prepend(str(HERE))
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")]))
    )
    # Reviewer-side processes (the CLI's decide, the console) build only the graphs they are
    # configured with: these are listed, as a deployment lists its own.
    monkeypatch.setenv("INTERLOCK_GRAPHS", f"{GRAPH},{TWO}")


def _interlock(*args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
    """`interlock ARGS` in a new process, on the test's database and reviewers (from the
    environment `console_env` set)."""
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("INTERLOCK_REVIEWER_PASSWORD", None)
    if password is not None:
        env["INTERLOCK_REVIEWER_PASSWORD"] = password
    return subprocess.run(
        [INTERLOCK, *args], env=env, capture_output=True, text=True, timeout=180, check=False
    )


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def _worker_once() -> dict[str, Any]:
    """One sweep of an `interlock worker` process; its totals."""
    out = _interlock("worker", "--once", "--json")
    assert out.returncode == 0, out.stderr
    (totals,) = [line for line in _json_lines(out.stdout) if line.get("stopped")]
    return totals


def _runs(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def _start(console: Any, log: Path) -> tuple[str, str]:
    """Start the create_agent thread; (review id, digest of the held refund)."""
    with console.runtime() as rt:
        run = rt.run(GRAPH, "Refund order o-2.", options={"log": str(log)})
        assert run.status == "pending", run
        assert run.review_id
        review = rt.inbox.get(run.review_id)
    (action,) = review.request["action_requests"]
    assert (action["name"], action["args"]) == ("refund", BIG)
    assert review.request["kind"] == "interlock.review"
    assert _runs(log) == []
    return run.review_id, str(action["digest"])


def _ran_once_and_agree(console: Any, review_id: str, digest: str, log: Path) -> None:
    """The refund ran exactly once; the ledger, the audit log and the thread say so."""
    assert _runs(log) == ["o-2 900.0"]
    with console.runtime() as rt:
        row = rt.engine().ledger.get(digest)
        assert row is not None
        assert (row.tool, row.status) == ("refund", "succeeded")
        approval = rt.engine().approvals.get(digest)
        assert approval is not None
        assert approval.used_at is not None
        with rt.db.connection() as conn:
            rows = conn.all("SELECT tool, status FROM interlock_executions")
        assert [(r["tool"], r["status"]) for r in rows] == [("refund", "succeeded")]
        audit = list(rt.audit.rows())
        succeeded = [r for r in audit if r.event == "execution_succeeded"]
        assert [r.data.get("tool") for r in succeeded] == ["refund"]
        (decided,) = [r for r in audit if r.event == "decision_recorded"]
        assert (decided.review_id, decided.actor, decided.data["type"]) == (
            review_id,
            "sam",
            "approve",
        )
        assert rt.audit.verify().ok
        assert rt.inbox.get(review_id).summary.status != "pending"
        thread = rt.inbox.get(review_id).request["thread_id"]
        graph = rt.engine().built_for(thread)[1].graph
        messages = graph.get_state({"configurable": {"thread_id": thread}}).values["messages"]
    (result,) = [m for m in messages if isinstance(m, ToolMessage)]
    assert (result.status, result.content) == ("success", "refunded 900.0 on o-2")
    assert messages[-1].content == "All done."
    verify = _interlock("audit", "verify", "--json")
    assert verify.returncode == 0, verify.stderr
    assert json.loads(verify.stdout)["ok"] is True


def test_a_create_agent_review_decided_in_the_cli_is_resumed_by_a_worker(
    console: Any, password: str, tmp_path: Path
) -> None:
    log = tmp_path / "refunds.log"
    review_id, digest = _start(console, log)

    listed = _interlock("pending", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [(i["id"], i["tool"]) for i in json.loads(listed.stdout)] == [(review_id, "refund")]

    out = _interlock(
        "decide", review_id, "--approve", "--as", "sam", "--no-resume", "--json",
        password=password,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["status"] == "queued"
    assert _runs(log) == []  # recorded, not run: the worker runs it

    totals = _worker_once()
    assert (totals["resumed"], totals["failed"]) == (1, 0)
    _ran_once_and_agree(console, review_id, digest, log)
    assert _worker_once()["resumed"] == 0  # nothing left: it never runs twice
    assert _runs(log) == ["o-2 900.0"]


def test_a_create_agent_review_decided_in_the_console_runs_once(
    console: Any, tmp_path: Path
) -> None:
    log = tmp_path / "refunds.log"
    review_id, digest = _start(console, log)

    inbox = console.open("sam", "_console_inbox.py")
    (row,) = inbox.dataframe[0].value.itertuples()  # the thread's review, in the inbox
    assert str(row.action).startswith("refund")
    assert (row.environment, row.agent) == ("production", "support-agent")

    at = console.open_review("sam", review_id)
    submit = f"decide_{review_id}_0_submit"
    confirm = f"decide_{review_id}_0_confirm"
    if any(t.key == confirm for t in at.text_input):  # a critical action: type its target
        at.text_input(key=confirm).input("o-2").run()
    at.button(key=submit).click().run()
    assert not at.exception, at.exception
    shown = console.texts(at)
    assert "Your decision (approve) was recorded." in shown
    assert "The agent resumed\\." in shown
    assert "Thread is now **done**." in shown
    _ran_once_and_agree(console, review_id, digest, log)

    totals = _worker_once()  # a worker finds nothing left to carry
    assert (totals["resumed"], totals["failed"]) == (0, 0)
    assert _runs(log) == ["o-2 900.0"]


def test_two_held_calls_of_one_turn_are_two_reviews_decided_in_the_cli(
    console: Any, password: str, tmp_path: Path
) -> None:
    log = tmp_path / "refunds.log"
    with console.runtime() as rt:
        run = rt.run(TWO, "Refund both orders.", options={"log": str(log)})
        assert run.status == "pending", run
        assert len(run.review_ids) == 2
    listed = _interlock("pending", "--json")
    assert listed.returncode == 0, listed.stderr
    items = json.loads(listed.stdout)
    assert sorted(i["id"] for i in items) == sorted(run.review_ids)
    assert [i["tool"] for i in items] == ["refund", "refund"]
    for rid in run.review_ids:
        out = _interlock(
            "decide", rid, "--approve", "--as", "sam", "--no-resume", "--json",
            password=password,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["status"] == "queued"
    assert _runs(log) == []
    totals = _worker_once()
    assert (totals["resumed"], totals["failed"]) == (2, 0)
    assert sorted(_runs(log)) == ["o-2 900.0", "o-3 700.0"]
    assert _worker_once()["resumed"] == 0
    assert sorted(_runs(log)) == ["o-2 900.0", "o-3 700.0"]
    with console.runtime() as rt:
        thread = rt.inbox.get(run.review_ids[0]).request["thread_id"]
        graph = rt.engine().built_for(thread)[1].graph
        messages = graph.get_state({"configurable": {"thread_id": thread}}).values["messages"]
        assert rt.audit.verify().ok
    results = [m for m in messages if isinstance(m, ToolMessage)]
    assert sorted(str(m.content) for m in results) == [
        "refunded 700.0 on o-3",
        "refunded 900.0 on o-2",
    ]
    assert messages[-1].content == "All done."
