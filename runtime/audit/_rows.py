"""Audit rows and the chain over them: the hash each row carries, and the walk that checks
every row follows the one before it and the head."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from interlock.risk import canonical_json
from interlock.runtime.store._db import from_db_ts, iso_utc
from interlock.runtime.store._schema import GENESIS_HASH
from interlock.runtime.store._text import storable

__all__ = [
    "AuditEntry",
    "AuditRow",
    "VerifyResult",
    "chain_hash",
    "check_chain",
    "normalise",
    "row_values",
]


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
class AuditEntry:
    """An event to append: what `AuditLog.append` takes, as one value."""

    event: str
    actor: str
    thread_id: str | None = None
    review_id: str | None = None
    digest: str | None = None
    data: Mapping[str, Any] | None = None

    def check(self) -> None:
        if not self.event or not isinstance(self.event, str):
            msg = f"audit event must be a non-empty string, got {self.event!r}"
            raise ValueError(msg)
        if not self.actor or not isinstance(self.actor, str):
            msg = f"audit actor must be a non-empty string (who did it), got {self.actor!r}"
            raise ValueError(msg)


def row_values(row: AuditRow) -> tuple[Any, ...]:
    return (
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


def normalise(data: Mapping[str, Any] | None) -> dict[str, Any]:
    # Through JSON once: keys become strings, tuples lists, unknown objects str(), exactly
    # as a reader of the stored text will see them, so the hash is reproducible.
    if data is None:
        return {}
    # Lone surrogates become U+FFFD here, before the hash (NUL stays, escaped in the JSON).
    value = json.loads(storable(json.dumps(dict(data), default=str, ensure_ascii=False)))
    assert isinstance(value, dict)
    return value


def check_chain(rows: Iterator[dict[str, Any]], head: dict[str, Any] | None) -> VerifyResult:
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
