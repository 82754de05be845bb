"""What the inbox needs from each review's request without loading it in full: the top
reason and a digest of the proposed calls, so identical actions can be grouped.

A review's request never changes once stored, so callers may keep these per review id.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from interlock.runtime.store import Database

__all__ = ["ActionFacts", "action_facts", "calls_digest", "top_reasons"]

_CHUNK = 500  # ids per query: well under SQLite's parameter limit


@dataclass(frozen=True, kw_only=True)
class ActionFacts:
    review_id: str
    top_reason: str
    """The reason that added the most points to the first action's score ("" if none)."""
    calls_digest: str
    """SHA-256 (first 16 hex) of the proposed calls' tools and arguments, in order."""
    calls: str
    """The calls in words, e.g. `delete_volume(volume_id='vol-1')`."""


def top_reasons(action: Mapping[str, Any], limit: int | None = None) -> list[Mapping[str, Any]]:
    """An action's reasons, most points first (ties keep the policy's order)."""
    reasons = list(((action.get("assessment") or {}).get("reasons")) or [])
    ranked = sorted(reasons, key=lambda r: -int(r.get("points") or 0))
    return ranked if limit is None else ranked[:limit]


def calls_digest(actions: Sequence[Mapping[str, Any]]) -> str:
    calls = [[a.get("name"), a.get("args") or {}] for a in actions]
    text = json.dumps(calls, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _calls_text(actions: Sequence[Mapping[str, Any]]) -> str:
    parts = []
    for a in actions:
        args = ", ".join(f"{k}={v!r}" for k, v in sorted((a.get("args") or {}).items()))
        parts.append(f"{a.get('name')}({args})")
    return " + ".join(parts)


def _facts(review_id: str, payload: str) -> ActionFacts:
    try:
        actions = list(json.loads(payload).get("action_requests") or [])
    except (ValueError, AttributeError):
        actions = []
    top = top_reasons(actions[0], 1) if actions else []
    return ActionFacts(
        review_id=review_id,
        top_reason=str(top[0].get("text") or "") if top else "",
        calls_digest=calls_digest(actions),
        calls=_calls_text(actions),
    )


def action_facts(db: Database, ids: Sequence[str]) -> dict[str, ActionFacts]:
    """The facts of each review in `ids` (unknown ids are left out), in one query per 500."""
    out: dict[str, ActionFacts] = {}
    wanted = list(dict.fromkeys(ids))
    with db.snapshot() as conn:
        for i in range(0, len(wanted), _CHUNK):
            chunk = wanted[i : i + _CHUNK]
            marks = ", ".join("?" for _ in chunk)
            rows = conn.all(
                f"SELECT id, payload FROM interlock_reviews WHERE id IN ({marks})", tuple(chunk)
            )
            for row in rows:
                out[row["id"]] = _facts(row["id"], row["payload"])
    return out
