"""`interlock prune --older-than AGE`: removes old checkpoints of finished threads, and
nothing a human or a worker still needs."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from interlock.nodes import ExecutionRecord
from interlock.risk.errors import ConfigError
from interlock.runtime import Authenticator, Principal, Reviewer, Reviewers, Runtime, hash_password
from interlock.runtime.execution.prune import parse_age, prune


def _principal(name: str, role: str) -> Principal:
    """`name` signed in with a password, as the CLI and the console sign people in: the
    decision service takes nothing else (a hand-made Reviewer is refused)."""
    password = "test-password"
    who = Reviewer(name=name, roles=(role,), password_hash=hash_password(password))
    return Authenticator(Reviewers(Path("reviewers.toml"), {name: who})).password(name, password)


SAM = _principal("sam", "sre-lead")
PROD_DELETE = ["delete_volume", {"volume_id": "vol-prod-db", "token": "tok-ci-admin"}]
LIST = ["list_volumes", {}]
INTERLOCK = Path(sys.executable).with_name("interlock")
HERE = Path(__file__).resolve().parent
LATER = datetime.now(UTC) + timedelta(days=31)


def _run(rt: Runtime, tmp: Path, *turns: list[Any]) -> Any:
    options = {"infra": str(tmp / f"infra-{uuid.uuid4().hex[:6]}.json"), "turns": list(turns)}
    return rt.run("scripted_ops", "do it", options=options)


def _checkpoints(rt: Runtime, thread_id: str) -> int:
    with rt.db.connection() as conn:
        return int(
            conn.scalar("SELECT count(*) AS n FROM checkpoints WHERE thread_id = ?", (thread_id,))
        )


def _in_doubt(rt: Runtime, tmp: Path) -> str:
    run = _run(rt, tmp, [PROD_DELETE])
    rid = run.review_id or ""
    rt.decisions.decide(rid, {"type": "approve"}, reviewer=SAM, resume=False)
    action = rt.inbox.get(rid).request["action_requests"][0]
    rt.engine().ledger.start(  # as if a worker died mid-execution
        ExecutionRecord(
            key=action["digest"],
            digest=action["digest"],
            tool="delete_volume",
            thread_id=run.thread_id,
            tool_call_id=action["tool_call_id"],
            status="started",
            started_at=rt.clock(),
        )
    )
    assert rt.decisions.resume(rid).thread_status == "in_doubt"
    return str(run.thread_id)


def test_prune_removes_only_old_finished_threads_and_never_the_audit_log(
    rt: Runtime, tmp_path: Path
) -> None:
    finished = _run(rt, tmp_path, [[*LIST]])
    assert finished.status == "done"
    decided = _run(rt, tmp_path, [PROD_DELETE])
    rt.decisions.decide(decided.review_id or "", {"type": "reject", "message": "no"}, reviewer=SAM)
    waiting = _run(rt, tmp_path, [PROD_DELETE])
    queued = _run(rt, tmp_path, [PROD_DELETE])
    rt.decisions.decide(queued.review_id or "", {"type": "approve"}, reviewer=SAM, resume=False)
    doubt = _in_doubt(rt, tmp_path)
    audit_before = [r.to_dict() for r in rt.audit.rows()]
    old_finished = _checkpoints(rt, finished.thread_id)
    assert old_finished > 0

    # Nothing is older than 30 days yet.
    recent = prune(rt, parse_age("30d"))
    assert recent.removed == ()
    assert recent.kept["active within the cutoff"] == 2

    dry = prune(rt, parse_age("30d"), dry_run=True, now=LATER)
    assert {t.thread_id for t in dry.removed} == {finished.thread_id, decided.thread_id}
    assert _checkpoints(rt, finished.thread_id) == old_finished  # a dry run removes nothing

    done = prune(rt, parse_age("30d"), now=LATER)
    assert {t.thread_id for t in done.removed} == {finished.thread_id, decided.thread_id}
    assert done.checkpoints == sum(t.checkpoints for t in dry.removed)
    assert all(t.checkpoints > 0 for t in done.removed)
    assert done.kept == {
        "pending review": 1,
        "decision not yet carried out": 1,
        "execution in doubt or still running": 1,
    }
    assert _checkpoints(rt, finished.thread_id) == 0
    assert _checkpoints(rt, decided.thread_id) == 0
    for kept in (waiting.thread_id, queued.thread_id, doubt):
        assert _checkpoints(rt, kept) > 0
    # The pending review still decides and runs; the audit log is exactly as it was.
    assert [r.to_dict() for r in rt.audit.rows()] == audit_before
    assert rt.audit.verify().ok
    out = rt.decisions.decide(waiting.review_id or "", {"type": "approve"}, reviewer=SAM)
    assert out.thread_status == "done"
    assert prune(rt, parse_age("30d"), now=LATER).kept.get("pending review") is None


@pytest.mark.parametrize(
    ("text", "seconds"), [("30d", 30 * 86400), ("12h", 43200), ("2w", 1209600), ("90s", 90)]
)
def test_ages_read_as_a_reviewer_writes_them(text: str, seconds: int) -> None:
    assert parse_age(text) == timedelta(seconds=seconds)


def test_cli_reports_what_it_removed_and_refuses_a_bad_age(
    rt: Runtime, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A graph the CLI process can rebuild too (by module:attr), so it can tell "finished".
    monkeypatch.syspath_prepend(str(HERE))
    monkeypatch.setenv("PYTHONPATH", str(HERE))
    options = {"infra": str(tmp_path / "infra.json"), "turns": [[LIST]]}
    assert rt.run("worker_graphs:slow_ops", "list", options=options).status == "done"
    cmd = [str(INTERLOCK), "prune", "--db", db_url]
    bad = subprocess.run([*cmd, "--older-than", "30 days"], capture_output=True, text=True)
    assert bad.returncode == 2
    assert "such as 30d or 12h; received '30 days'" in bad.stderr
    out = subprocess.run([*cmd, "--older-than", "30d"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "removed 0 checkpoint(s) of 0 finished thread(s)" in out.stdout
    assert "1 active within the cutoff" in out.stdout
    assert "audit log" in out.stdout
    time.sleep(1.1)  # now the thread is over a second old
    data = json.loads(
        subprocess.run(
            [*cmd, "--older-than", "1s", "--dry-run", "--json"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert data["dry_run"] is True
    assert data["threads_removed"] == 1
    assert data["checkpoints_removed"] == data["removed"][0]["checkpoints"] > 0


def test_prune_refuses_a_zero_age(rt: Runtime) -> None:
    with pytest.raises(ConfigError, match="more than 0"):
        prune(rt, timedelta(0))
