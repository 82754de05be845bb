"""Eight processes decide the same reviews at the same moment: exactly one decision wins
each review, the thread never forks, and no action runs twice.

`INTERLOCK_RACE_REVIEWS` sets how many reviews (default 50: the cost is the eight process
starts, not the reviews).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from interlock.graphs import Infra
from interlock.runtime import Authenticator, Principal, Reviewer, Reviewers, Runtime, hash_password

REVIEWS = int(os.environ.get("INTERLOCK_RACE_REVIEWS", "50"))
PROCESSES = 8


def _principal(name: str, role: str) -> Principal:
    """`name` signed in with a password, as the CLI and the console sign people in: the
    decision service takes nothing else (a hand-made Reviewer is refused)."""
    password = "test-password"
    who = Reviewer(name=name, roles=(role,), password_hash=hash_password(password))
    return Authenticator(Reviewers(Path("reviewers.toml"), {name: who})).password(name, password)


LEAD = _principal("sam", "sre-lead")
REQUEST = "Deploys to staging fail: api-staging answers 401. Please fix it."

DECIDER = textwrap.dedent(
    """
    import json, sys, time, random
    from pathlib import Path
    from interlock.risk.errors import ConflictError
    from interlock.runtime import Authenticator, Reviewer, Reviewers, Runtime, hash_password

    url, ids_file, me, folder, mode = sys.argv[1:6]
    ids = json.loads(Path(ids_file).read_text())
    random.Random(me).shuffle(ids)
    # Each process signs its reviewer in: a principal is only good in the process that
    # authenticated it.
    hashed = hash_password("race-password")
    mine = Reviewer(name=me, roles=("sre-lead",), password_hash=hashed)
    book = Reviewers(Path(folder) / "x.toml", {me: mine})
    who = Authenticator(book).password(me, "race-password")
    won, lost, other = [], 0, []
    with Runtime.open(url, reviewers_path=Path(folder) / "reviewers.toml") as rt:
        rt.engine()
        Path(folder, f"ready-{me}").touch()
        while not Path(folder, "go").exists():
            time.sleep(0.005)
        for rid in ids:
            if mode == "resume":  # a worker's move: carry a decided review into its thread
                out = rt.decisions.resume(rid)
                if out.events:
                    won.append([rid, "resume", out.status])
                else:
                    lost += 1
                continue
            kind = random.Random(me + rid).choice(["approve", "reject"])
            decision = {"type": kind} if kind == "approve" else {"type": kind, "message": me}
            try:
                out = rt.decisions.decide(rid, decision, reviewer=who)
                won.append([rid, kind, out.status])
            except ConflictError:
                lost += 1
            except Exception as exc:
                other.append(f"{type(exc).__name__}: {exc}")
    print(json.dumps({"won": won, "lost": lost, "other": other}))
    """
)


def _children(rt: Runtime, thread_id: str) -> Counter[str]:
    """How many children each checkpoint of the thread has (a fork shows as 2)."""
    cfg: Any = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    parents = Counter(
        (t.parent_config or {}).get("configurable", {}).get("checkpoint_id", "")
        for t in rt.checkpointer().list(cfg)
    )
    parents.pop("", None)
    return parents


def _start(rt: Runtime, tmp_path: Path, count: int) -> dict[str, tuple[str, Infra]]:
    reviews: dict[str, tuple[str, Infra]] = {}
    for i in range(count):
        infra = Infra(tmp_path / f"infra-{i}.json")
        run = rt.run("ops_agent", REQUEST, options={"infra": str(infra.path)})
        assert run.review_id is not None
        reviews[run.review_id] = (run.thread_id, infra)
    return reviews


def _race(db_url: str, tmp_path: Path, ids: list[str], mode: str) -> list[dict[str, Any]]:
    """Start the processes, let them all go at once, and collect what each one did."""
    ids_file = tmp_path / "ids.json"
    ids_file.write_text(json.dumps(ids))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("INTERLOCK_DATABASE_URL", None)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", DECIDER, db_url, str(ids_file), f"lead{i}", str(tmp_path), mode],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i in range(PROCESSES)
    ]
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("ready-*"))) < PROCESSES:
        dead = [p for p in procs if p.poll() is not None]
        if dead or time.monotonic() > deadline:
            for p in procs:  # the others wait for "go" forever: stop them before reading
                p.kill()
            errors = [p.communicate()[1].strip()[-2000:] for p in dead]
            pytest.fail(f"the deciders did not all start: {errors or 'timed out'}")
        time.sleep(0.02)
    (tmp_path / "go").touch()
    results = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert [r["other"] for r in results] == [[]] * PROCESSES
    return results


def test_eight_processes_racing_on_the_same_reviews(
    rt: Runtime, db_url: str, tmp_path: Path
) -> None:
    reviews = _start(rt, tmp_path, REVIEWS)
    results = _race(db_url, tmp_path, list(reviews), "decide")
    won = [w for r in results for w in r["won"]]
    assert sorted(w[0] for w in won) == sorted(reviews)  # exactly one winner per review
    assert sum(r["lost"] for r in results) == REVIEWS * (PROCESSES - 1)
    assert {w[2] for w in won} == {"resumed"}
    with rt.db.connection() as conn:
        settled = conn.all(
            "SELECT review_id, count(*) AS n FROM interlock_decisions WHERE settles = 1 "
            "GROUP BY review_id"
        )
        assert conn.scalar("SELECT count(*) AS n FROM interlock_decisions") == REVIEWS
    assert {r["review_id"]: r["n"] for r in settled} == dict.fromkeys(reviews, 1)
    for rid, kind, _ in won:
        thread_id, infra = reviews[rid]
        deletes = [e for e in infra.events() if e["op"] == "delete_volume"]
        assert len(deletes) == (1 if kind == "approve" else 0), (rid, kind)
        assert max(_children(rt, thread_id).values()) == 1, f"thread {thread_id} forked"
    assert rt.audit.verify().ok


def test_eight_workers_resuming_the_same_decided_reviews(
    rt: Runtime, db_url: str, tmp_path: Path
) -> None:
    reviews = _start(rt, tmp_path, max(4, REVIEWS // 3))
    for rid in reviews:
        out = rt.decisions.decide(rid, {"type": "approve"}, reviewer=LEAD, resume=False)
        assert out.status == "queued"
    results = _race(db_url, tmp_path, list(reviews), "resume")
    ran = [w[0] for r in results for w in r["won"]]
    assert sorted(ran) == sorted(reviews)  # each review carried into its thread exactly once
    for thread_id, infra in reviews.values():
        assert [e["op"] for e in infra.events()].count("delete_volume") == 1
        assert max(_children(rt, thread_id).values()) == 1, f"thread {thread_id} forked"
    assert rt.audit.verify().ok


def test_the_decider_holds_the_thread_until_its_resume_is_done(
    open_rt: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From the decision to the end of its resume, the thread is the decider's: a worker
    (another runtime, its own connections) that tries to carry the same review meanwhile is
    told the thread is busy, and the approved action runs once."""
    monkeypatch.syspath_prepend(str(Path(__file__).parent))  # worker_graphs:slow_ops
    rt, worker = open_rt(), open_rt()
    infra = tmp_path / "infra.json"
    Infra(infra).reset()
    delete = ["delete_volume", {"volume_id": "vol-prod-db", "token": "tok-ci-admin"}]
    options = {"infra": str(infra), "slow": 1.5, "turns": [[delete]]}
    run = rt.run("worker_graphs:slow_ops", "tidy up", options=options)
    rid = run.review_id or ""
    outcome: dict[str, Any] = {}
    decider = threading.Thread(
        target=lambda: outcome.update(
            out=rt.decisions.decide(rid, {"type": "approve"}, reviewer=LEAD)
        )
    )
    decider.start()
    started = Path(f"{infra}.started")
    deadline = time.monotonic() + 30
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert started.exists(), "the approved action never started"
    meanwhile = worker.decisions.resume(rid)
    assert (meanwhile.status, meanwhile.thread_status) == ("queued", "running")
    decider.join(60)
    assert outcome["out"].status == "resumed"
    assert [e["op"] for e in Infra(infra).events()] == ["delete_volume"]
    after = worker.decisions.resume(rid)  # once it is done, there is nothing left to carry
    assert after.events == ()
    assert [e["op"] for e in Infra(infra).events()] == ["delete_volume"]
