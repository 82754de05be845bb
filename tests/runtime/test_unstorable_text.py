"""Text no database can store (NUL, which Postgres text refuses; lone surrogates, which UTF-8
cannot encode): a reviewer's edit holding it is refused in one line before anything is
recorded; a tool's output or an agent's proposal holding it is stored, replaced by U+FFFD
(NUL stays exact, escaped, inside JSON), the same on both backends, and the ledger row
reaches its outcome."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from langchain_core.tools import tool

from interlock.graphs import ScriptedChatModel, build_gated_graph, say
from interlock.nodes import gated
from interlock.risk.errors import DecisionError
from interlock.runtime import Authenticator, Principal, Reviewer, Reviewers, Runtime, hash_password

INTERLOCK = str(Path(sys.executable).with_name("interlock"))
CONTROL = "".join(map(chr, range(1, 32))) + "\x7f"  # stored as they are
NASTY = f"out\x00put \ud800 end {CONTROL}"
STORED = f"out\ufffdput \ufffd end {CONTROL}"


def _principal(name: str, role: str) -> Principal:
    who = Reviewer(name=name, roles=(role,), password_hash=hash_password("test-password"))
    return Authenticator(Reviewers(Path("r.toml"), {name: who})).password(name, "test-password")


SAM = _principal("sam", "sre-lead")


def emitter(**kw: Any) -> Any:
    """A tool whose output holds NUL and a lone surrogate; the model proposes `args`."""

    @tool
    def emit(target: str, env: str = "staging") -> str:
        """Emit some bytes about a target."""
        return f"{target}: {NASTY}"

    gated(emit, effects={"write"}, reversible=True, environment=lambda a: str(a.get("env")))
    steps = [say("emitting", ("emit", dict(kw["options"]["args"])))]
    builder, gate = build_gated_graph(
        ScriptedChatModel(steps=steps),
        [emit],
        kw["policy"],
        agent="emitter",
        approvals=kw["approvals"],
        ledger=kw["ledger"],
        audit=kw["audit"],
        issue_on_resume=kw["issue_on_resume"],
    )
    return SimpleNamespace(graph=builder.compile(checkpointer=kw["checkpointer"]), gate=gate)


def _footprint(rt: Runtime, review_id: str) -> tuple[Any, ...]:
    with rt.db.connection() as conn:
        row = conn.one("SELECT * FROM interlock_reviews WHERE id = ?", (review_id,))
        counts = conn.one(
            "SELECT (SELECT count(*) FROM interlock_decisions) AS d, "
            "(SELECT count(*) FROM interlock_approvals) AS a, "
            "(SELECT count(*) FROM interlock_executions) AS e"
        )
    return row, counts, rt.audit.head()


def _ledger(rt: Runtime) -> list[dict[str, Any]]:
    with rt.db.connection() as conn:
        return conn.all("SELECT status, result, error FROM interlock_executions")


@pytest.mark.parametrize("bad", ["a\x00b", "a\ud800b"])
def test_an_edit_no_database_can_store_is_refused_and_nothing_is_recorded(
    open_rt: Callable[..., Runtime], bad: str
) -> None:
    rt = open_rt(graphs={"emitter": emitter})
    run = rt.run("emitter", "go", options={"args": {"target": "db", "env": "production"}})
    assert run.status == "pending"
    rid = run.review_id or ""
    before = _footprint(rt, rid)
    edit = {"type": "edit", "edited_action": {"name": "emit", "args": {"target": bad}}}
    with pytest.raises(DecisionError) as refused:
        rt.decisions.decide(rid, edit, reviewer=SAM)
    text = str(refused.value)
    assert "\n" not in text
    if "\x00" in bad:
        assert "NUL (U+0000) at args['target'], position 1" in text
    else:  # the decision service refuses text that is not valid Unicode before anything
        assert "lone surrogate" in text
    assert _footprint(rt, rid) == before
    # The review is still open and takes a clean decision.
    out = rt.decisions.decide(rid, {"type": "approve"}, reviewer=SAM)
    assert out.thread_status == "done"


def test_tool_output_and_proposed_args_holding_nul_are_stored_safely(
    open_rt: Callable[..., Runtime],
) -> None:
    rt = open_rt(graphs={"emitter": emitter})
    # The agent proposes a production call whose argument holds NUL: it goes to review.
    run = rt.run("emitter", "go", options={"args": {"target": "d\x00b", "env": "production"}})
    assert run.status == "pending"
    (review,) = rt.inbox.pending()
    assert review.target is None or "\x00" not in review.target
    out = rt.decisions.decide(run.review_id or "", {"type": "approve"}, reviewer=SAM)
    assert out.thread_status == "done"
    # An allowed call whose output holds NUL and a lone surrogate.
    done = rt.run("emitter", "go", options={"args": {"target": "web", "env": "staging"}})
    assert done.status == "done"
    rows = _ledger(rt)
    assert [r["status"] for r in rows] == ["succeeded", "succeeded"]
    assert sorted(r["result"] for r in rows) == sorted([f"d\ufffdb: {STORED}", f"web: {STORED}"])
    verified = rt.audit.verify()
    assert verified.ok, verified
    # What the agent proposed is kept exactly where JSON holds it (NUL escaped).
    with rt.db.connection() as conn:
        payload = conn.scalar("SELECT payload FROM interlock_reviews WHERE id = ?", (review.id,))
    assert "\\u0000" in payload
    assert json.loads(payload)["action_requests"][0]["args"]["target"] == "d\x00b"


def test_the_cli_refuses_a_nul_edit_in_one_line(db_url: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "COLUMNS": "200",
        "INTERLOCK_REVIEWERS": str(tmp_path / "reviewers.toml"),
        "INTERLOCK_OPS_INFRA": str(tmp_path / "infra.json"),
        "INTERLOCK_REVIEWER_PASSWORD": "correct horse",
    }
    env.pop("INTERLOCK_DATABASE_URL", None)

    def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [INTERLOCK, *args, "--db", db_url],
            cwd=tmp_path,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    assert cli("demo").returncode == 0
    lead = "sam"
    added = cli(
        "reviewers", "add", lead, "--role", "sre-lead", "--password-stdin", stdin="correct horse\n"
    )
    assert added.returncode == 0, added.stderr
    (item,) = json.loads(cli("pending", "--json").stdout)
    edit = '{"volume_id": "vol-\\u0000prod-db"}'
    out = cli("decide", item["id"], "--as", lead, "--edit", edit)
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert out.stderr.count("\n") == 1, out.stderr
    assert "NUL (U+0000)" in out.stderr
    assert "Traceback" not in out.stderr
    (still,) = json.loads(cli("pending", "--json").stdout)
    assert still["id"] == item["id"]
    verified = cli("audit", "verify")
    assert verified.returncode == 0, verified.stderr
