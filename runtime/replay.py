"""Policy what-if replay: re-assess every action in the audit log under a candidate policy.

The gate records each action it assesses with the full `Action` (`data["action"]`) and the
verdict it got then (`data["assessment"]`); decisions name the same action digest. Replay
asks the candidate policy about each recorded action and reports what would change — first
the actions that would now run unattended although a human rejected or edited them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from interlock.risk import Action, ActionError, Context, Outcome, Policy
from interlock.runtime.audit import AuditRow

__all__ = ["ReplayItem", "ReplayReport", "replay_rows"]

# Decision kinds that mean "a human did not let this run as proposed".
_OVERRULED = {"reject", "edit", "respond"}


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

    @property
    def dangerous(self) -> bool:
        """Would now run unattended although a human rejected or edited it."""
        return self.after == "allow" and self.human in _OVERRULED

    @property
    def changed(self) -> bool:
        return self.before != self.after


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
        if isinstance(value, str) and value in {"approve", "reject", "edit", "respond", "escalate"}:
            return value
    return None


def replay_rows(
    rows: Iterable[AuditRow], policy: Policy, context: Context | None = None
) -> ReplayReport:
    """Re-assess each distinct recorded action (by digest, else by row) under `policy`."""
    actions: dict[str, tuple[AuditRow, Action, Outcome]] = {}
    humans: dict[str, str] = {}
    skipped = 0
    for row in rows:
        data = row.data
        kind = _decision_kind(data) if row.event in ("decision", "decided") else None
        if kind is not None and row.digest:
            humans[row.digest] = kind
        raw = data.get("action")
        if not isinstance(raw, Mapping):
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
        key = row.digest or f"row-{row.seq}"
        actions.setdefault(key, (row, action, before))
    items = []
    moves: Counter[tuple[str, str]] = Counter()
    for key, (row, action, before) in actions.items():
        after = policy.assess(action, context).outcome
        moves[(before, after)] += 1
        items.append(
            ReplayItem(
                seq=row.seq,
                thread_id=row.thread_id,
                digest=row.digest,
                action=action,
                before=before,
                after=after,
                human=humans.get(key),
            )
        )
    items.sort(key=lambda i: (not i.dangerous, not i.changed, i.seq))
    return ReplayReport(
        policy_version=policy.version, items=tuple(items), skipped=skipped, moves=moves
    )
