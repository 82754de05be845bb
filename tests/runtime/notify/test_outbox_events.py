"""Each notified event writes its messages with it (both backends): an expiry that
escalates (review_expired, then review_escalated for the next round's review) and a
stopped scope (told to the default team)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from interlock.runtime import Authenticator, Principal, Reviewer, Reviewers, Runtime, hash_password
from interlock.runtime.notify._notes import delivery_id

PROD_DELETE = ["delete_volume", {"volume_id": "vol-prod-db", "token": "tok-ci-admin"}]


def _admin() -> Principal:
    who = Reviewer(name="ada", roles=("admin",), password_hash=hash_password("test-password"))
    book = Reviewers(Path("reviewers.toml"), {"ada": who})
    return Authenticator(book).password("ada", "test-password")


@pytest.fixture
def notifying(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "notify.toml"
    path.write_text(
        'default_team = "oncall"\n[teams.oncall]\nchannels = ["log"]\n'
        f'[channels.log]\nkind = "file"\npath = "{tmp_path / "n.jsonl"}"\n'
    )
    monkeypatch.setenv("INTERLOCK_NOTIFY", str(path))
    return path


def _events(rt: Runtime) -> list[tuple[str, str | None]]:
    with rt.db.connection() as conn:
        rows = conn.all(
            "SELECT event, review_id, payload FROM interlock_outbox ORDER BY created_at"
        )
    return [(str(r["event"]), r["review_id"]) for r in rows]


def test_an_expiry_that_escalates_tells_of_both(
    rt: Runtime, tmp_path: Path, notifying: Path
) -> None:
    run = rt.run(
        "scripted_ops",
        "do it",
        options={"infra": str(tmp_path / "infra.json"), "turns": [[PROD_DELETE]]},
    )
    rid = run.review_id
    assert rid
    (first,) = rt.decisions.expire_due(rt.clock() + timedelta(hours=25))
    nxt = first.next_review_id
    assert nxt
    got = _events(rt)
    assert ("review_opened", rid) in got
    assert ("review_expired", rid) in got
    assert ("review_escalated", nxt) in got
    with rt.db.connection() as conn:
        body = conn.scalar(
            "SELECT payload FROM interlock_outbox WHERE id = ?",
            (delivery_id("review_expired", rid, "log"),),
        )
    note = json.loads(body)
    assert "escalated to admin" in note["summary"]


def test_a_stopped_scope_is_told_to_the_default_team(rt: Runtime, notifying: Path) -> None:
    rt.stops.stop("environment", "production", by=_admin(), reason="INC-7")
    with rt.db.connection() as conn:
        (row,) = conn.all("SELECT * FROM interlock_outbox")
    assert (row["event"], row["channel"], row["review_id"]) == ("scope_stopped", "log", None)
    note = json.loads(row["payload"])
    assert note["summary"].startswith("environment production stopped by ada")
    assert note["reasons"] == ["INC-7"]


def test_a_role_request_tells_the_reviews_team_who_asked_for_what(
    rt: Runtime, tmp_path: Path, notifying: Path
) -> None:
    run = rt.run(
        "scripted_ops",
        "do it",
        options={"infra": str(tmp_path / "infra.json"), "turns": [[PROD_DELETE]]},
    )
    assert run.review_id
    data = {"role": "sre-lead", "note": "", "tool": "delete_volume"}
    for _ in range(2):  # each request is its own message
        rt.audit.append("role_requested", actor="olga", review_id=run.review_id, data=data)
    with rt.db.connection() as conn:
        rows = conn.all("SELECT payload FROM interlock_outbox WHERE event = 'role_requested'")
    assert len(rows) == 2
    note = json.loads(rows[0]["payload"])
    assert note["review_id"] == run.review_id
    assert note["summary"].endswith("; olga asks for sre-lead")


def test_a_role_request_tells_the_team_of_the_role_it_asks_for(
    rt: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "teams.toml"
    path.write_text(
        'default_team = "oncall"\n[teams.oncall]\nchannels = ["log"]\n'
        '[teams.sre]\nchannels = ["sre-log"]\n'
        f'[channels.log]\nkind = "file"\npath = "{tmp_path / "n.jsonl"}"\n'
        f'[channels.sre-log]\nkind = "file"\npath = "{tmp_path / "sre.jsonl"}"\n'
    )
    monkeypatch.setenv("INTERLOCK_NOTIFY", str(path))
    run = rt.run(
        "scripted_ops",
        "do it",
        options={"infra": str(tmp_path / "infra.json"), "turns": [[PROD_DELETE]]},
    )
    assert run.review_id
    data = {"role": "sre-lead", "note": "", "tool": "delete_volume", "team": "sre"}
    rt.audit.append("role_requested", actor="olga", review_id=run.review_id, data=data)
    with rt.db.connection() as conn:
        rows = conn.all("SELECT channel, team FROM interlock_outbox WHERE event = 'role_requested'")
    assert [(r["channel"], r["team"]) for r in rows] == [("sre-log", "sre")]


def test_an_execution_in_doubt_is_told_with_the_review_that_asks_about_it(
    rt: Runtime, tmp_path: Path, notifying: Path
) -> None:
    from interlock.runtime.review._in_doubt import open_in_doubt_review

    run = rt.run(
        "scripted_ops",
        "do it",
        options={"infra": str(tmp_path / "infra.json"), "turns": [[PROD_DELETE]]},
    )
    ledger = {
        "review_id": run.review_id,
        "action_digest": "d" * 64,
        "thread_id": run.thread_id,
        "tool": "delete_volume",
        "tool_call_id": "call-1",
        "started_at": rt.clock(),
        "digest": "e" * 64,
    }
    with rt.db.transaction() as conn:
        open_in_doubt_review(conn, rt.audit, rt.policy, ledger, "the worker died", rt.clock())
    with rt.db.connection() as conn:
        (row,) = conn.all("SELECT * FROM interlock_outbox WHERE event = 'execution_in_doubt'")
        kind = conn.scalar("SELECT kind FROM interlock_reviews WHERE id = ?", (row["review_id"],))
    assert kind == "in_doubt"
    note = json.loads(row["payload"])
    assert note["tool"] == "delete_volume"
    assert note["environment"] == "production"
