"""The audit log: a hash chain that detects any change, removal or reordering."""

from __future__ import annotations

import csv
import io
import itertools
import json
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from interlock.risk.errors import ConfigError
from interlock.runtime import AuditLog, AuditRow, Conn, Database

INTERLOCK = Path(sys.executable).with_name("interlock")


def _fill(log: AuditLog, n: int = 5) -> list[AuditRow]:
    return [
        log.append(
            "decision",
            actor=f"reviewer-{i}",
            thread_id=f"t{i}",
            review_id=f"r{i}",
            digest=f"{i:064x}",
            data={"i": i, "reason": "ok ✓", "nested": {"b": [1, 2], "a": None}},
        )
        for i in range(1, n + 1)
    ]


def _tamper(db: Database, *statements: str) -> None:
    """What an attacker with SQL access does: switch the append-only guard off first."""
    with db.transaction() as conn:
        if conn.dialect == "postgres":
            conn.execute("ALTER TABLE interlock_audit DISABLE TRIGGER USER")
        else:
            conn.execute("DROP TRIGGER interlock_audit_no_update")
            conn.execute("DROP TRIGGER interlock_audit_no_delete")
        for sql in statements:
            conn.execute(sql)


def test_append_and_verify(db: Database) -> None:
    log = AuditLog(db)
    assert log.verify().ok
    rows = _fill(log)
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0].prev_hash == "0" * 64
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(rows))
    result = log.verify()
    assert result.ok
    assert result.rows == 5
    assert result.first_bad_seq is None
    assert (result.head_seq, result.head_hash) == (5, rows[-1].hash)
    stored = list(log.rows())
    assert stored == rows
    assert stored[2].data == {"i": 3, "reason": "ok ✓", "nested": {"b": [1, 2], "a": None}}


@pytest.mark.parametrize(
    ("statements", "bad", "words"),
    [
        (["UPDATE interlock_audit SET data = '{\"i\":99}' WHERE seq = 3"], 3, "modified"),
        (["UPDATE interlock_audit SET actor = 'mallory' WHERE seq = 1"], 1, "modified"),
        (["DELETE FROM interlock_audit WHERE seq = 3"], 3, "missing"),
        (["DELETE FROM interlock_audit WHERE seq = 5"], 5, "missing at the end"),
        (["DELETE FROM interlock_audit WHERE seq >= 4"], 4, "rows 4-5 missing"),
        (
            [
                "UPDATE interlock_audit SET seq = seq + 1000 WHERE seq IN (2, 4)",
                "UPDATE interlock_audit SET seq = 4 WHERE seq = 1002",
                "UPDATE interlock_audit SET seq = 2 WHERE seq = 1004",
            ],
            2,
            "does not follow",
        ),
        (
            [
                "UPDATE interlock_audit SET data = '{}' WHERE seq = 2",
                "UPDATE interlock_audit SET hash = 'f' WHERE seq = 2",
            ],
            2,
            "modified",
        ),
        (["UPDATE interlock_audit SET data = 'not json' WHERE seq = 4"], 4, "cannot be read"),
        (["DELETE FROM interlock_audit_head"], 6, "head row is missing"),
    ],
    ids=[
        "modify-data",
        "modify-actor",
        "delete-middle",
        "delete-last",
        "truncate-tail",
        "swap-seq",
        "modify-and-rehash-alone",
        "garble",
        "drop-head",
    ],
)
def test_tampering_is_detected_at_the_first_bad_row(
    db: Database, statements: list[str], bad: int, words: str
) -> None:
    log = AuditLog(db)
    _fill(log)
    _tamper(db, *statements)
    result = log.verify()
    assert not result.ok
    assert result.first_bad_seq == bad
    assert result.problem is not None
    assert words in result.problem


def test_a_rewritten_row_is_caught_by_the_next_one(db: Database) -> None:
    """Changing row 2 and recomputing its own hash still breaks row 3's prev_hash."""
    log = AuditLog(db)
    rows = _fill(log)
    forged = AuditRow(**{**rows[1].__dict__, "data": {"i": 2, "reason": "forged"}})
    new_hash = forged.expected_hash()
    _tamper(
        db,
        'UPDATE interlock_audit SET data = \'{"i":2,"reason":"forged"}\', '
        f"hash = '{new_hash}' WHERE seq = 2",
    )
    result = log.verify()
    assert (result.ok, result.first_bad_seq) == (False, 3)
    assert "row 2 was changed" in (result.problem or "")


def test_a_row_added_behind_interlocks_back_is_detected(db: Database) -> None:
    log = AuditLog(db)
    rows = _fill(log, 2)
    fake = AuditRow(
        seq=3, ts=datetime.now(UTC), event="x", actor="mallory", prev_hash=rows[-1].hash, hash=""
    )
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO interlock_audit (seq, ts, event, actor, data, prev_hash, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (3, fake.ts, "x", "mallory", "{}", fake.prev_hash, fake.expected_hash()),
        )
    result = log.verify()
    assert (result.ok, result.first_bad_seq) == (False, 3)


def test_append_joins_the_callers_transaction(db: Database) -> None:
    log = AuditLog(db)
    with db.transaction() as conn:
        log.append("decision", actor="alice", data={"ok": True}, conn=conn)
    assert log.head()[0] == 1

    def rolled_back(conn: Conn) -> None:
        log.append("decision", actor="bob", data={}, conn=conn)
        raise RuntimeError("the decision failed, so its audit row must vanish too")

    with pytest.raises(RuntimeError), db.transaction() as conn:
        rolled_back(conn)
    assert log.head()[0] == 1
    assert [r.actor for r in log.rows()] == ["alice"]
    assert log.verify().ok
    with pytest.raises(ValueError, match="transaction"), db.connection() as conn:
        log.append("x", actor="me", conn=conn)


def test_append_rejects_missing_event_or_actor(db: Database) -> None:
    log = AuditLog(db)
    with pytest.raises(ValueError, match="actor"):
        log.append("x", actor="")
    with pytest.raises(ValueError, match="event"):
        log.append("", actor="me")


def test_concurrent_appends_keep_one_chain(db: Database) -> None:
    log = AuditLog(db)
    threads_n, per_thread = 8, 15
    errors: list[BaseException] = []
    start = threading.Barrier(threads_n)

    def work(k: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                log.append("event", actor=f"w{k}", data={"i": i})
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    result = log.verify()
    assert result.ok, result.problem
    assert result.rows == threads_n * per_thread
    assert [r.seq for r in log.rows()] == list(range(1, threads_n * per_thread + 1))


def test_export_jsonl_round_trips(db: Database) -> None:
    log = AuditLog(db)
    rows = _fill(log)
    out = io.StringIO()
    assert log.export(out=out, fmt="jsonl") == 5
    lines = out.getvalue().splitlines()
    parsed = [AuditRow.from_dict(json.loads(line)) for line in lines]
    assert parsed == rows
    assert all(r.expected_hash() == r.hash for r in parsed)


def test_export_csv_round_trips(db: Database) -> None:
    log = AuditLog(db)
    rows = _fill(log)
    out = io.StringIO()
    assert log.export(out=out, fmt="csv") == 5
    records = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert list(records[0]) == [
        "seq",
        "ts",
        "event",
        "actor",
        "thread_id",
        "review_id",
        "digest",
        "data",
        "prev_hash",
        "hash",
    ]
    parsed = [AuditRow.from_dict(r) for r in records]
    assert parsed == rows


def test_export_since_keeps_later_rows_only(db: Database) -> None:
    log = AuditLog(db)
    rows = _fill(log, 3)
    out = io.StringIO()
    assert log.export(out=out, since=rows[1].ts) == 2
    assert [json.loads(x)["seq"] for x in out.getvalue().splitlines()] == [2, 3]
    assert log.export(out=io.StringIO(), since=rows[-1].ts + timedelta(seconds=1)) == 0


def test_long_logs_are_walked_in_batches(db: Database) -> None:
    log = AuditLog(db)
    with db.transaction() as conn:
        for i in range(2100):
            log.append("bulk", actor="loader", data={"i": i}, conn=conn)
    result = log.verify()
    assert result.ok
    assert result.rows == 2100
    _tamper(db, "DELETE FROM interlock_audit WHERE seq = 2050")
    assert log.verify().first_bad_seq == 2050


def test_rows_filter_by_thread_actor_event_time_and_limit(db: Database) -> None:
    log = AuditLog(db)
    rows = _fill(log, 6)
    log.append("review_opened", actor="agent", thread_id="t2", review_id="r9")
    assert [r.seq for r in log.rows(thread_id="t2")] == [2, 7]
    assert [r.seq for r in log.rows(actor="reviewer-3")] == [3]
    assert [r.seq for r in log.rows(event="review_opened")] == [7]
    assert [r.seq for r in log.rows(event=["decision", "review_opened"], thread_id="t2")] == [2, 7]
    assert [r.seq for r in log.rows(review_id="r4")] == [4]
    assert [r.seq for r in log.rows(limit=2)] == [1, 2]
    assert [r.seq for r in log.rows(since=rows[2].ts, until=rows[4].ts)] == [3, 4]
    assert list(log.rows(thread_id="nope")) == []
    with pytest.raises(ConfigError, match="limit must be a positive number of rows, got 0"):
        list(log.rows(limit=0))
    with pytest.raises(ConfigError, match="event filter is empty"):
        list(log.rows(event=[]))


def test_cli_export_filters_and_each_row_still_verifies(db: Database) -> None:
    log = AuditLog(db)
    _fill(log, 4)
    cmd = [str(INTERLOCK), "audit", "export", "--db", db.url, "--thread", "t3", "--event"]
    out = subprocess.run([*cmd, "decision"], capture_output=True, text=True, check=True)
    (line,) = out.stdout.splitlines()
    row = AuditRow.from_dict(json.loads(line))
    assert (row.seq, row.thread_id) == (3, "t3")
    assert row.expected_hash() == row.hash
    assert "exported 1 audit row(s)" in out.stderr
    bad = subprocess.run(
        [str(INTERLOCK), "audit", "export", "--db", db.url, "--until", "yesterday"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2
    assert "--until takes a date or an ISO date-time" in bad.stderr
