"""Durable approvals behind the nodes' `ApprovalStore`: `interlock_approvals`.

Only the decision service issues them (signed, inside its decision transaction). Consuming
one verifies its Ed25519 signature with the public keys alone (`KeyRing`): an unsigned,
wrongly signed or replayed row is refused (`Undo("forged")`), whatever the database holds.
The ledger (`_ledger`) consumes an approval and opens its row in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from interlock.nodes import Approval, ExecutionRecord, StartOutcome
from interlock.risk.errors import NotFoundError
from interlock.runtime.review._records import APPROVAL_COLUMNS, insert_approval
from interlock.runtime.review.signing import KeyRing
from interlock.runtime.store._db import Conn, from_db_ts
from interlock.runtime.store.database import Database

__all__ = [
    "CONSUME",
    "CONSUME_ROW",
    "CONSUME_SIGNED",
    "FORGED",
    "NO_APPROVAL",
    "DurableApprovalStore",
    "Undo",
    "approval_of",
    "checked",
    "consume_approval",
    "why_refused",
]

_REMEMBERED = 1024


def approval_of(row: Mapping[str, Any]) -> Approval:
    issued, expires = from_db_ts(row["issued_at"]), from_db_ts(row["expires_at"])
    assert issued is not None
    assert expires is not None
    return Approval(
        digest=row["digest"],
        tool=row["tool"],
        thread_id=row["thread_id"],
        interrupt_id=row["interrupt_id"],
        tool_call_id=row["tool_call_id"],
        reviewers=tuple(json.loads(row["reviewers"])),
        roles=tuple(json.loads(row["roles"])),
        issued_at=issued,
        expires_at=expires,
        used_at=from_db_ts(row["consumed_at"]),
        review_id=row["review_id"] or "",
        action_index=int(row["action_index"]),
        policy_version=row["policy_version"] or "",
        key_id=row["key_id"] or "",
        signature=row["signature"] or "",
    )


CONSUME = (
    "UPDATE interlock_approvals SET consumed_at = ? "
    "WHERE digest = ? AND consumed_at IS NULL AND expires_at > ?"
)
CONSUME_ROW = f"{CONSUME} RETURNING {APPROVAL_COLUMNS}"
# The row a signature was verified for, before the statement: it consumes only that row.
CONSUME_SIGNED = f"{CONSUME} AND signature = ?"


NO_APPROVAL: StartOutcome = "no_approval"
FORGED: StartOutcome = "forged"


class Undo(Exception):
    def __init__(
        self, outcome: StartOutcome, why: str = "", approval: Approval | None = None
    ) -> None:
        super().__init__(outcome)
        self.outcome, self.why, self.approval = outcome, why, approval


def why_refused(ring: KeyRing, a: Approval, record: ExecutionRecord, now: datetime) -> str | None:
    """Why approval `a` may not start `record` (None: it may). The signature covers every
    field of `a`, so a row copied to another digest, thread, expiry or set of approvers fails
    it; the rest checks it names exactly this action."""
    why = ring.why_invalid(a)
    if why is None and (a.digest != record.digest or a.thread_id != record.thread_id):
        why = "the approval was signed for another action or thread"
    if why is None and a.expires_at <= now:
        why = "the approval has expired"
    return why


def checked(ring: KeyRing, row: Mapping[str, Any], record: ExecutionRecord, now: datetime) -> Any:
    """Who approved, from a consumed row whose signature verifies; else raise Undo."""
    a = approval_of(row)
    why = why_refused(ring, a, record, now)
    if why is not None:
        raise Undo(FORGED, why, a)
    return {"review_id": row["review_id"], "by": list(a.reviewers)}


def consume_approval(conn: Conn, digest: str, now: datetime) -> dict[str, Any] | None:
    """Mark the approval used when it is unused and unexpired; its row, or None."""
    rows = conn.fetch_all([(CONSUME_ROW, (now, digest, now))])[0]
    return rows[0] if rows else None


class DurableApprovalStore:
    """Approvals in `interlock_approvals`. In strict mode only the decision service issues
    them (inside its decision transaction); `issue` exists for the protocol's sake (an
    unsigned approval it stores is refused at execution). `ring` holds the public keys that
    consuming verifies with; the default trusts no key."""

    def __init__(self, db: Database, ring: KeyRing | None = None) -> None:
        self.db = db
        self.ring = ring if ring is not None else KeyRing()
        self._issued: dict[str, Approval] = {}

    def known(self, digest: str) -> Approval | None:
        """The approval for `digest` as this process issued it or read it (with its
        signature), if it did. Whoever uses it verifies it first: a copy read from the
        database is only as good as its signature (`KeyRing.why_invalid`)."""
        return self._issued.get(digest)

    def remember(self, approvals: Sequence[Approval]) -> None:
        """Approvals the caller just committed or read, so `issued` need not read them back
        (approvals are never deleted) and consuming one can verify the copy held here."""
        for a in approvals:
            if len(self._issued) >= _REMEMBERED:
                self._issued.pop(next(iter(self._issued)))
            self._issued[a.digest] = a

    def issue(self, approval: Approval) -> Approval:
        with self.db.transaction() as conn:
            found = self.get_in(conn, approval.digest)
            if found is not None:
                return found
            review = conn.one(
                "SELECT id FROM interlock_reviews WHERE thread_id = ? AND interrupt_id = ? "
                "ORDER BY round DESC LIMIT 1",
                (approval.thread_id, approval.interrupt_id),
            )
            if review is None:
                msg = (
                    f"no review of thread {approval.thread_id!r} for interrupt "
                    f"{approval.interrupt_id!r}: approvals are issued for registered reviews."
                )
                raise NotFoundError(msg)
            insert_approval(conn, approval, review_id=review["id"], action_index=0)
        return approval

    def get_in(self, conn: Conn, digest: str) -> Approval | None:
        row = conn.one(
            f"SELECT {APPROVAL_COLUMNS} FROM interlock_approvals WHERE digest = ?", (digest,)
        )
        return None if row is None else approval_of(row)

    def get(self, digest: str) -> Approval | None:
        with self.db.connection() as conn:
            return self.get_in(conn, digest)

    def issued(self, digest: str) -> bool:
        """Whether an approval was ever issued for `digest` (used or not). Approvals are
        never deleted, so one this process committed is known without a read."""
        return digest in self._issued or self.get(digest) is not None

    def consume(self, digest: str, *, now: datetime) -> Approval | None:
        """The approval, consumed, when it is unused, unexpired and its signature verifies;
        else None and nothing changed."""
        try:
            with self.db.transaction() as conn:
                row = consume_approval(conn, digest, now)
                if row is None:
                    return None
                found = approval_of(row)
                if self.ring.why_invalid(found) is not None:
                    raise Undo(FORGED)
        except Undo:
            return None
        return found
