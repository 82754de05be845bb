"""The audit log: append-only rows chained by SHA-256, kept apart from checkpoints.

Each row stores the hash of the row before it, and its own hash over
`{seq, ts, event, actor, thread_id, review_id, digest, data, prev_hash}` in canonical JSON
(`interlock.risk.canonical_json`). A head row (`interlock_audit_head`) holds the last
`seq` and hash and moves in the same transaction as each append, so removing rows from the
end is caught too. `verify()` walks the chain and names the first row that is wrong.

What the chain proves: nobody changed, removed, inserted or reordered rows without also
rewriting every later hash and the head. Someone with write access to the database can do
that rewrite; to catch it, record `VerifyResult.head_hash` somewhere else (a ticket, a log
shipper) and compare later.

Appends are serialised so the chain never forks: Postgres locks the head row
(`SELECT ... FOR UPDATE`), SQLite holds the write lock from BEGIN IMMEDIATE. `append` can
join the caller's transaction (`conn=`), so a decision and its audit row commit together;
that transaction should stay at Postgres' default READ COMMITTED level (under REPEATABLE READ
a concurrent append would make it fail with a serialisation error).
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from interlock.risk import canonical_json
from interlock.risk.errors import ConfigError
from interlock.runtime._audit_sql import audit_where, walk
from interlock.runtime._db import Conn, from_db_ts, iso_utc
from interlock.runtime._schema import GENESIS_HASH
from interlock.runtime.storage import Database

__all__ = ["EXPORT_COLUMNS", "GENESIS_HASH", "AuditLog", "AuditRow", "VerifyResult", "chain_hash"]

EXPORT_COLUMNS = (
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
)
_SELECT = f"SELECT {', '.join(EXPORT_COLUMNS)} FROM interlock_audit"


def chain_hash(
    *,
    seq: int,
    ts: datetime,
    event: str,
    actor: str,
    thread_id: str | None,
    review_id: str | None,
    digest: str | None,
    data: Mapping[str, Any],
    prev_hash: str,
) -> str:
    """The hash a row with these fields must carry."""
    body = {
        "seq": seq,
        "ts": iso_utc(ts),
        "event": event,
        "actor": actor,
        "thread_id": thread_id,
        "review_id": review_id,
        "digest": digest,
        "data": data,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


@dataclass(frozen=True, kw_only=True)
class AuditRow:
    """One audit event as stored."""

    seq: int
    ts: datetime
    event: str
    actor: str
    thread_id: str | None = None
    review_id: str | None = None
    digest: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    prev_hash: str
    hash: str

    def expected_hash(self) -> str:
        """The hash recomputed from the content; differs from `hash` when the row changed."""
        return chain_hash(
            seq=self.seq,
            ts=self.ts,
            event=self.event,
            actor=self.actor,
            thread_id=self.thread_id,
            review_id=self.review_id,
            digest=self.digest,
            data=self.data,
            prev_hash=self.prev_hash,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: `ts` as UTC ISO-8601, `data` as an object."""
        return {
            "seq": self.seq,
            "ts": iso_utc(self.ts),
            "event": self.event,
            "actor": self.actor,
            "thread_id": self.thread_id,
            "review_id": self.review_id,
            "digest": self.digest,
            "data": self.data,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> AuditRow:
        """From a database row, a JSONL export line or a CSV export row."""
        data = raw.get("data")
        if isinstance(data, str):
            data = json.loads(data)
        if not isinstance(data, dict):
            msg = f"audit data must be a JSON object, got {type(data).__name__}"
            raise ValueError(msg)
        ts = from_db_ts(raw["ts"])
        assert ts is not None
        return cls(
            seq=int(raw["seq"]),
            ts=ts,
            event=str(raw["event"]),
            actor=str(raw["actor"]),
            thread_id=raw.get("thread_id") or None,
            review_id=raw.get("review_id") or None,
            digest=raw.get("digest") or None,
            data=data,
            prev_hash=str(raw["prev_hash"]),
            hash=str(raw["hash"]),
        )


@dataclass(frozen=True, kw_only=True)
class VerifyResult:
    """The outcome of walking the chain."""

    ok: bool
    rows: int
    """Rows checked (all of them when `ok`)."""
    first_bad_seq: int | None = None
    """The first row that is wrong or missing."""
    problem: str | None = None
    """What is wrong there, in words."""
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    """Record this elsewhere to detect a rewrite of the whole chain later."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "rows": self.rows,
            "first_bad_seq": self.first_bad_seq,
            "problem": self.problem,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
        }


def _normalise(data: Mapping[str, Any] | None) -> dict[str, Any]:
    # Through JSON once: keys become strings, tuples lists, unknown objects str(), exactly
    # as a reader of the stored text will see them, so the hash is reproducible.
    if data is None:
        return {}
    value = json.loads(json.dumps(dict(data), default=str, ensure_ascii=False))
    assert isinstance(value, dict)
    return value


def _utcnow() -> datetime:
    return datetime.now(UTC)


class AuditLog:
    """The audit log of one database. Cheap to create; holds no connection.

    `ts` of each row comes from `clock` (default: this machine's UTC time, not the database
    server's). `Runtime` passes its own clock, so a simulated or test clock stamps the log
    the same way it stamps reviews and decisions.
    """

    def __init__(self, db: Database, *, clock: Callable[[], datetime] | None = None) -> None:
        self.db = db
        self.clock = clock or _utcnow

    def append(
        self,
        event: str,
        *,
        actor: str,
        thread_id: str | None = None,
        review_id: str | None = None,
        digest: str | None = None,
        data: Mapping[str, Any] | None = None,
        conn: Conn | None = None,
    ) -> AuditRow:
        """Append one event and return the stored row.

        With `conn`, the row is written in the caller's open transaction (from
        `Database.transaction()`) and commits or rolls back with it. Without, it commits on
        its own.
        """
        if not event or not isinstance(event, str):
            msg = f"audit event must be a non-empty string, got {event!r}"
            raise ValueError(msg)
        if not actor or not isinstance(actor, str):
            msg = f"audit actor must be a non-empty string (who did it), got {actor!r}"
            raise ValueError(msg)
        clean = _normalise(data)
        if conn is None:
            with self.db.transaction() as tx:
                return self._append(tx, event, actor, thread_id, review_id, digest, clean)
        if not conn.in_transaction:
            msg = "AuditLog.append(conn=...) needs a connection inside Database.transaction()"
            raise ValueError(msg)
        return self._append(conn, event, actor, thread_id, review_id, digest, clean)

    def _append(
        self,
        conn: Conn,
        event: str,
        actor: str,
        thread_id: str | None,
        review_id: str | None,
        digest: str | None,
        data: dict[str, Any],
    ) -> AuditRow:
        lock = " FOR UPDATE" if conn.dialect == "postgres" else ""
        head = conn.one(f"SELECT seq, hash FROM interlock_audit_head WHERE id = 1{lock}")
        if head is None:
            msg = "the audit head row is missing; run `interlock audit verify` and restore it."
            raise ConfigError(msg)
        now = self.clock()
        row = AuditRow(
            seq=int(head["seq"]) + 1,
            ts=now.astimezone(UTC) if now.tzinfo else now,  # naive: iso_utc refuses it
            event=event,
            actor=actor,
            thread_id=thread_id,
            review_id=review_id,
            digest=digest,
            data=data,
            prev_hash=str(head["hash"]),
            hash="",
        )
        row = replace(row, hash=row.expected_hash())
        values = (
            row.seq,
            row.ts,
            row.event,
            row.actor,
            row.thread_id,
            row.review_id,
            row.digest,
            canonical_json(row.data),
            row.prev_hash,
            row.hash,
        )
        insert = (
            f"INSERT INTO interlock_audit ({', '.join(EXPORT_COLUMNS)}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        move_head = "UPDATE interlock_audit_head SET seq = ?, hash = ? WHERE id = 1"
        if conn.dialect == "postgres":  # one round trip for both
            conn.execute(f"WITH appended AS ({insert}) {move_head}", (*values, row.seq, row.hash))
        else:
            conn.execute(insert, values)
            conn.execute(move_head, (row.seq, row.hash))
        return row

    def rows(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        thread_id: str | None = None,
        review_id: str | None = None,
        actor: str | None = None,
        event: str | Sequence[str] | None = None,
        limit: int | None = None,
    ) -> Iterator[AuditRow]:
        """Rows in `seq` order, read in one snapshot, filtered in SQL: `since` (inclusive)
        and `until` (exclusive) by timestamp, one thread, review or actor, one event name or
        several, and at most `limit` rows."""
        where = audit_where(since, until, thread_id, review_id, actor, event)
        if limit is not None and (isinstance(limit, bool) or limit < 1):
            msg = f"limit must be a positive number of rows, got {limit!r}."
            raise ConfigError(msg)
        with self.db.snapshot() as conn:
            for n, r in enumerate(walk(conn, _SELECT, where), 1):
                yield AuditRow.from_dict(r)
                if limit is not None and n >= limit:
                    return

    def head(self) -> tuple[int, str]:
        """The last `seq` and hash as the head row records them."""
        with self.db.connection() as conn:
            row = conn.one("SELECT seq, hash FROM interlock_audit_head WHERE id = 1")
        return (0, GENESIS_HASH) if row is None else (int(row["seq"]), str(row["hash"]))

    def verify(self) -> VerifyResult:
        """Walk the whole chain; stop at the first row that was changed, removed or moved."""
        with self.db.snapshot() as conn:
            head = conn.one("SELECT seq, hash FROM interlock_audit_head WHERE id = 1")
            return _check(walk(conn, _SELECT, ("", [])), head)

    def export(
        self,
        *,
        out: TextIO,
        fmt: Literal["jsonl", "csv"] = "jsonl",
        since: datetime | None = None,
        **filters: Any,
    ) -> int:
        """Write rows to `out` as JSON Lines or CSV; the number of rows written.

        Both formats carry `prev_hash` and `hash`, so an export can be checked on its own
        (`AuditRow.from_dict(line).expected_hash() == hash`). In CSV, `data` is canonical JSON.
        `filters` are those of `rows()`.
        """
        if fmt not in ("jsonl", "csv"):
            msg = f"unknown export format {fmt!r}; allowed: jsonl, csv"
            raise ConfigError(msg)
        writer = None
        if fmt == "csv":
            writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
            writer.writeheader()
        count = 0
        for row in self.rows(since=since, **filters):
            record = row.to_dict()
            if writer is None:
                out.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
            else:
                writer.writerow({**record, "data": canonical_json(record["data"])})
            count += 1
        return count


def _check(rows: Iterator[dict[str, Any]], head: dict[str, Any] | None) -> VerifyResult:
    expected, prev, count = 1, GENESIS_HASH, 0
    head_seq = int(head["seq"]) if head else 0
    head_hash = str(head["hash"]) if head else GENESIS_HASH

    def bad(seq: int, problem: str) -> VerifyResult:
        return VerifyResult(
            ok=False,
            rows=count,
            first_bad_seq=seq,
            problem=problem,
            head_seq=head_seq,
            head_hash=head_hash,
        )

    for raw in rows:
        count += 1
        seq = int(raw["seq"])
        if seq != expected:
            if seq > expected:
                return bad(expected, f"row {expected} is missing (the next row is {seq})")
            return bad(seq, f"row {seq} is out of order (expected row {expected})")
        try:
            row = AuditRow.from_dict(raw)
        except (ValueError, TypeError, KeyError) as exc:
            return bad(seq, f"row {seq} cannot be read: {exc}")
        if row.prev_hash != prev:
            return bad(
                seq,
                f"row {seq} does not follow row {seq - 1} (prev_hash mismatch): "
                f"row {seq - 1} was changed, or rows were removed, inserted or reordered",
            )
        if row.expected_hash() != row.hash:
            return bad(seq, f"row {seq} was modified (its content no longer matches its hash)")
        prev, expected = row.hash, expected + 1
    last = expected - 1
    if head is None:
        return bad(last + 1, "the audit head row is missing: the log was tampered with")
    if head_seq > last:
        span = f"row {last + 1}" if head_seq == last + 1 else f"rows {last + 1}-{head_seq}"
        return bad(last + 1, f"{span} missing at the end (the head records {head_seq} rows)")
    if head_seq < last:
        return bad(head_seq + 1, f"row {head_seq + 1} was added outside Interlock (not in head)")
    if head_hash != prev:
        return bad(last, f"row {last} does not match the head's hash: the log was rewritten")
    return VerifyResult(ok=True, rows=count, head_seq=head_seq, head_hash=head_hash)
