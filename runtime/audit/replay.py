"""Policy what-if replay: re-assess every action in the audit log under a candidate policy.

The gate records each call it assesses with the full `Action` (`data["action"]`) and the
verdict it got then (`data["assessment"]`): when it holds a call for review
(`review_required`), runs it (`execution_succeeded` / `execution_failed`, unattended or
approved), denies it (`action_denied`), and when a decision is applied to it
(`decision_applied`, `review_escalated`). Several of those rows name the same call; replay
counts each call once, by its thread and tool-call id (rows without them: by digest), and
keeps the action as first recorded, i.e. as the agent proposed it, before any edit.

The human side comes from the decision rows: the gate's `decision_applied` (same thread and
tool-call id) and the decision service's `decision_recorded` (same action digest). The last
one wins. Decisions written by the expiry sweep are not a human's and are left out.

Each action is re-assessed at the time it was recorded, so time-bound rules (freezes, office
hours) judge it as they would have then. The report lists first the actions that would now
run unattended although a human rejected or edited them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from interlock.risk import Action, ActionError, Context, Outcome, Policy
from interlock.runtime.audit.log import SYSTEM_ACTOR, AuditRow

__all__ = ["ReplayItem", "ReplayReport", "replay_rows"]

# Decision kinds that mean "a human did not let this run as proposed".
_OVERRULED = {"reject", "edit", "respond"}
_KINDS = {"approve", "reject", "edit", "respond", "escalate"}
_DECISION_EVENTS = {"decision", "decided", "decision_recorded", "decision_applied"}
# The expiry sweep writes escalations and rejections nobody made.
_MACHINE_ACTORS = {SYSTEM_ACTOR}


def _decider(row: AuditRow) -> str:
    """Who a decision row says decided: the gate's echo (written by the agent) names the
    reviewer in its data; the decision service's own row is by the reviewer."""
    named = row.data.get("reviewer") if "gate_event" in row.data else None
    return str(named) if named else row.actor


@dataclass(frozen=True, kw_only=True)
class ReplayItem:
    """One recorded action and what the candidate policy would do with it."""

    seq: int
    thread_id: str | None
    digest: str | None
    action: Action
    before: Outcome
    after: Outcome
    human: str | None
    """The last human decision on this action (approve, reject, edit, ...), if any."""
    tool_call_id: str | None = None
    event: str = ""
    """The first audit event that recorded it (e.g. `execution_succeeded`, `review_required`)."""
    at: datetime | None = None
    """When it was recorded; the candidate policy judged it at this time."""

    @property
    def dangerous(self) -> bool:
        """Would now run unattended although a human rejected or edited it."""
        return self.after == "allow" and self.human in _OVERRULED

    @property
    def changed(self) -> bool:
        return self.before != self.after

    @property
    def unattended(self) -> bool:
        """It ran (or would have run) with no human: the recorded verdict was allow."""
        return self.before == "allow"


@dataclass(frozen=True, kw_only=True)
class ReplayReport:
    policy_version: str
    items: tuple[ReplayItem, ...]
    skipped: int = 0
    """Rows naming an action that could not be rebuilt (recorded by an older version)."""
    moves: Counter[tuple[str, str]] = field(default_factory=Counter)

    @property
    def dangerous(self) -> tuple[ReplayItem, ...]:
        return tuple(i for i in self.items if i.dangerous)

    @property
    def changed(self) -> tuple[ReplayItem, ...]:
        return tuple(i for i in self.items if i.changed)

    @property
    def reviews_before(self) -> int:
        return sum(1 for i in self.items if i.before == "review")

    @property
    def reviews_after(self) -> int:
        return sum(1 for i in self.items if i.after == "review")


def _decision_kind(data: Mapping[str, Any]) -> str | None:
    for key in ("decision", "type", "outcome"):
        value = data.get(key)
        if isinstance(value, str) and value in _KINDS:
            return value
    return None


def _call_key(row: AuditRow) -> str | None:
    call_id = row.data.get("tool_call_id")
    if row.thread_id and isinstance(call_id, str) and call_id:
        return f"call:{row.thread_id}:{call_id}"
    return None


@dataclass
class _Seen:
    row: AuditRow
    action: Action
    before: Outcome
    digests: set[str] = field(default_factory=set)
    stopped: bool = False
    """Denied then by a stop switch, not by the policy."""


def replay_rows(
    rows: Iterable[AuditRow], policy: Policy, context: Context | None = None
) -> ReplayReport:
    """Re-assess each distinct recorded action under `policy`.

    `context` fixes the time and stopped scopes for every action; by default each action is
    judged at the time it was recorded, with the stops of then: an action a stop switch
    denied stays denied (a stop denies under any policy), so it is no policy change.
    """
    seen: dict[str, _Seen] = {}
    by_digest: dict[str, str] = {}
    humans: dict[str, tuple[int, str]] = {}
    skipped = 0
    for row in rows:
        data = row.data
        key = _call_key(row)
        if row.event in _DECISION_EVENTS and _decider(row) not in _MACHINE_ACTORS:
            kind = _decision_kind(data)
            if kind is not None:
                for k in (key, f"digest:{row.digest}" if row.digest else None):
                    if k is not None:
                        humans[k] = (row.seq, kind)
        raw = data.get("action")
        if not isinstance(raw, Mapping):
            continue
        if key is None:
            # No call id (an older row): the digest names the action, else the row alone.
            key = by_digest.get(row.digest or "") or (
                f"digest:{row.digest}" if row.digest else f"row:{row.seq}"
            )
        known = seen.get(key)
        if known is not None:
            if row.digest:
                known.digests.add(row.digest)
                by_digest.setdefault(row.digest, key)
            continue
        assessment = data.get("assessment")
        before = assessment.get("outcome") if isinstance(assessment, Mapping) else None
        if before not in ("allow", "review", "deny"):
            skipped += 1
            continue
        try:
            action = Action.from_dict(raw)
        except ActionError:
            skipped += 1
            continue
        reasons = assessment.get("reasons") if isinstance(assessment, Mapping) else None
        stopped = any(
            isinstance(r, Mapping) and r.get("rule") == "stop-switch" for r in reasons or ()
        )
        seen[key] = _Seen(row=row, action=action, before=before, stopped=stopped)
        if row.digest:
            seen[key].digests.add(row.digest)
            by_digest.setdefault(row.digest, key)
    items = []
    moves: Counter[tuple[str, str]] = Counter()
    for key, s in seen.items():
        when = s.row.ts
        if s.stopped and context is None:
            # A stop denied it then and would deny it under any policy: not a policy change.
            after: Outcome = "deny"
        else:
            after = policy.assess(s.action, context or Context(now=when)).outcome
        moves[(s.before, after)] += 1
        found = [humans[k] for k in (key, *(f"digest:{d}" for d in s.digests)) if k in humans]
        call_id = s.row.data.get("tool_call_id")
        items.append(
            ReplayItem(
                seq=s.row.seq,
                thread_id=s.row.thread_id,
                digest=s.row.digest or next(iter(sorted(s.digests)), None),
                action=s.action,
                before=s.before,
                after=after,
                human=max(found)[1] if found else None,
                tool_call_id=call_id if isinstance(call_id, str) and call_id else None,
                event=s.row.event,
                at=when,
            )
        )
    items.sort(key=lambda i: (not i.dangerous, not i.changed, i.seq))
    return ReplayReport(
        policy_version=policy.version, items=tuple(items), skipped=skipped, moves=moves
    )
