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
import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from interlock.risk import canonical_json, utcnow
from interlock.risk.errors import ConfigError
from interlock.runtime.audit._events_log import log_after_commit
from interlock.runtime.audit._rows import (
    AuditEntry,
    AuditRow,
    VerifyResult,
    chain_hash,
    check_chain,
    normalise,
    row_values,
)
from interlock.runtime.audit._sql import HEAD_MISSING, append_sql, audit_where, head_query, walk
from interlock.runtime.store._db import Conn
from interlock.runtime.store._schema import GENESIS_HASH
from interlock.runtime.store._text import storable
from interlock.runtime.store.database import Database

__all__ = [
    "EXPORT_COLUMNS",
    "GENESIS_HASH",
    "SYSTEM_ACTOR",
    "AuditEntry",
    "AuditLog",
    "AuditRow",
    "VerifyResult",
    "chain_hash",
    "head_query",
]

SYSTEM_ACTOR = "interlock-expiry"
"""The actor of what the runtime decides by itself (expiry, escalation on a timer)."""

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


class AuditLog:
    """The audit log of one database. Cheap to create; holds no connection.

    `ts` of each row comes from `clock` (default: this machine's UTC time, not the database
    server's). `Runtime` passes its own clock, so a simulated or test clock stamps the log
    the same way it stamps reviews and decisions.
    """

    def __init__(self, db: Database, *, clock: Callable[[], datetime] | None = None) -> None:
        self.db = db
        self.clock = clock or utcnow

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
        entry = AuditEntry(
            event=event,
            actor=actor,
            thread_id=thread_id,
            review_id=review_id,
            digest=digest,
            data=data,
        )
        return self.append_all([entry], conn=conn)[0]

    def append_all(
        self,
        entries: Sequence[AuditEntry],
        *,
        conn: Conn | None = None,
        head: tuple[int, str] | None = None,
    ) -> list[AuditRow]:
        """Append several events in order, chained, in one write; the stored rows.

        `head` is the (seq, hash) the caller already read with `HEAD_FOR_UPDATE` in the same
        transaction (it saves a round trip); without it the head is read here."""
        for e in entries:
            e.check()
        if conn is None:
            with self.db.transaction() as tx:
                return self.append_all(entries, conn=tx, head=head)
        if not conn.in_transaction:
            msg = "AuditLog.append(conn=...) needs a connection inside Database.transaction()"
            raise ValueError(msg)
        if head is None:
            found = conn.one(head_query(conn.dialect))
            if found is None:
                raise ConfigError(HEAD_MISSING)
            head = (int(found["seq"]), str(found["hash"]))
        now = self.clock()
        ts = now.astimezone(UTC) if now.tzinfo else now  # naive: iso_utc refuses it
        seq, prev = head
        rows: list[AuditRow] = []
        for e in entries:
            seq += 1
            # Hashed as stored: text no backend can hold is replaced before the hash.
            row = AuditRow(
                seq=seq,
                ts=ts,
                event=storable(e.event),
                actor=storable(e.actor),
                thread_id=None if e.thread_id is None else storable(e.thread_id),
                review_id=None if e.review_id is None else storable(e.review_id),
                digest=None if e.digest is None else storable(e.digest),
                data=normalise(e.data),
                prev_hash=prev,
                hash="",
            )
            row = replace(row, hash=row.expected_hash())
            rows.append(row)
            prev = row.hash
        if rows:
            for sql, params in append_sql(conn.dialect, [row_values(r) for r in rows]):
                conn.send(sql, params)
        if rows and os.environ.get("INTERLOCK_NOTIFY"):  # notify._config.NOTIFY_ENV
            # Messages about these events join the same transaction (the outbox).
            from interlock.runtime.notify.outbox import enqueue_audited

            enqueue_audited(conn, rows)
        log_after_commit(conn, rows)  # the JSON event lines, once this commits
        return rows

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
            return check_chain(walk(conn, _SELECT, ("", [])), head)

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
