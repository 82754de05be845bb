"""Schema version 5: signed approvals.

Each approval row keeps the policy version it was issued under, the id of the reviewer
side's Ed25519 key and the signature (base64) over `interlock.runtime.review.signing
.approval_message`. Rows from before version 5 get empty values: unsigned, so guarded
execution refuses them (they expire within the approval TTL anyway). The public keys are
NOT stored here: the agent side can write this database, so it reads them from files
(`INTERLOCK_PUBLIC_KEYS`). The same statements serve SQLite and Postgres.
"""

from __future__ import annotations

from interlock.runtime.store._schema import Step

__all__ = ["V5"]

V5: tuple[Step, ...] = (
    "ALTER TABLE interlock_approvals ADD COLUMN policy_version TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE interlock_approvals ADD COLUMN key_id TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE interlock_approvals ADD COLUMN signature TEXT NOT NULL DEFAULT ''",
)
