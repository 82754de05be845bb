"""The decision service's checks and its one transaction.

Order matters: everything that can refuse without writing runs first (payload shape, the
nodes' own validation, roles, self-approval, currency), then ONE transaction records the
decision, issues any approval, appends the audit row and flips the review's status. The row
lock taken when the transaction reads the review (Postgres `FOR UPDATE`; SQLite's BEGIN
IMMEDIATE) and the unique indexes (one settling decision per action, one decision per
reviewer per action) make exactly one of two racing decisions win.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from interlock.risk import Policy, canonical_json
from interlock.risk.errors import AuthorizationError, ConflictError, DecisionError
from interlock.runtime.audit.log import AuditEntry, AuditLog
from interlock.runtime.execution._thread_read import Current
from interlock.runtime.review._identity import identity_key, same_identity
from interlock.runtime.review._records import action_rung, insert_approval, new_id, qualifies
from interlock.runtime.review.reviewers import Reviewer
from interlock.runtime.store._db import Conn

if TYPE_CHECKING:
    from interlock.nodes import Approval
    from interlock.runtime.review.signing import Signer

__all__ = [
    "MAX_DEPTH",
    "MAX_PAYLOAD_CHARS",
    "Committed",
    "EditPlan",
    "Prepared",
    "authorise",
    "check_payload",
    "commit",
    "stale_message",
]

MAX_PAYLOAD_CHARS = 64_000
MAX_DEPTH = 24
_MAX_INT = 10**30
_DONE = {"approve": "approved", "reject": "rejected", "respond": "answered", "edit": "edited"}


def check_payload(value: Any, *, what: str = "decision") -> Any:
    """Refuse what no decision can be: too big, too deep, not JSON, unencodable text."""
    size, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            msg = f"the {what} is nested more than {MAX_DEPTH} levels deep; send a flat object."
            raise DecisionError(msg)
        if isinstance(item, str):
            size += len(item)
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                msg = f"the {what} holds text that is not valid Unicode (a lone surrogate)."
                raise DecisionError(msg) from None
        elif isinstance(item, bool) or item is None:
            size += 4
        elif isinstance(item, int):
            if abs(item) > _MAX_INT:
                msg = f"the {what} holds a number too large to be an argument: {str(item)[:20]}..."
                raise DecisionError(msg)
            size += 8
        elif isinstance(item, float):
            if not math.isfinite(item):
                msg = f"the {what} holds {item!r}; JSON numbers must be finite."
                raise DecisionError(msg)
            size += 8
        elif isinstance(item, Mapping):
            for key, sub in item.items():
                if not isinstance(key, str):
                    msg = f"the {what} has a key {key!r} that is not text; JSON keys are text."
                    raise DecisionError(msg)
                stack.append((key, depth + 1))
                stack.append((sub, depth + 1))
        elif isinstance(item, list | tuple):
            stack.extend((sub, depth + 1) for sub in item)
        else:
            msg = f"the {what} holds a {type(item).__name__}, which is not JSON."
            raise DecisionError(msg)
        if size > MAX_PAYLOAD_CHARS:
            msg = f"the {what} is larger than {MAX_PAYLOAD_CHARS} characters; send less."
            raise DecisionError(msg)
    return value


@dataclass(frozen=True, kw_only=True)
class EditPlan:
    """What an edit becomes: its digest, and whether its approval is issued now."""

    args: dict[str, Any]
    digest: str
    issue: bool
    """True when the deciding reviewer may approve the edited action as it stands."""
    why: str
    """Why it goes back to review ("" when it does not)."""
    kind: str
    """The edited action's verdict: allow, review, deny, rejected."""
    level: str | None
    diff: dict[str, list[Any]]


@dataclass(frozen=True, kw_only=True)
class Prepared:
    index: int
    decision: dict[str, Any]
    action: Mapping[str, Any]
    edit: EditPlan | None = None


def _roles_text(action: Mapping[str, Any], policy: Policy) -> str:
    need = action.get("required_approval") or {}
    roles = list(need.get("roles") or [])
    return " or ".join(roles) or ", ".join(policy.roles)


def authorise(policy: Policy, row: Mapping[str, Any], p: Prepared, reviewer: Reviewer) -> None:
    """Role at or above the required rung; nobody approves their own run's action."""
    name, tool = reviewer.name, p.action.get("name", "?")
    where = f"action {p.index + 1} ({tool})"
    if not qualifies(policy, reviewer.roles, p.action):
        msg = (
            f"{name} may not decide {where}: it needs {_roles_text(p.action, policy)} "
            f"(roles are senior in this order: {', '.join(policy.roles)}); "
            f"{name} holds {', '.join(reviewer.roles) or 'no role'}."
        )
        raise AuthorizationError(msg)
    if p.decision["type"] == "escalate":
        _check_upward(policy, p, where)
    if p.decision["type"] in ("approve", "edit"):
        for column, label in (("requester", "started this run"), ("agent", "is the agent")):
            if same_identity(row.get(column), name):  # `Alice` is `alice`
                msg = (
                    f"{name} {label} and may not approve its own action ({where}); "
                    "another reviewer must decide."
                )
                raise AuthorizationError(msg)


def _check_upward(policy: Policy, p: Prepared, where: str) -> None:
    """Escalation goes only to a role more senior than the one the action needs now, on the
    policy's ladder (`roles`, junior first). Refused, not lifted: a reviewer who asks for
    `oncall` on an action that needs `sre-lead` learns the ladder instead of seeing a
    different role than they chose. An action whose required roles are off the ladder has no
    rung to compare with and is not checked here."""
    role = str(p.decision.get("role") or "")
    need = action_rung(policy, p.action)
    if need < 0 or need >= len(policy.roles):
        return
    if policy.rank(role) > need:
        return
    higher = ", ".join(policy.roles[need + 1 :])
    fix = f"escalate to {higher}" if higher else "nobody ranks higher; approve or reject it"
    msg = (
        f"cannot escalate {where} to {role}: it already needs {_roles_text(p.action, policy)}, "
        f"and escalation only goes up the ladder ({' < '.join(policy.roles)}); {fix}."
    )
    raise AuthorizationError(msg)


def stale_message(conn: Conn, row: Mapping[str, Any]) -> str:
    """Why a review is no longer open, naming who decided first."""
    rid, status = row["id"], row["status"]
    if status == "cancelled":
        return f"review {rid} is no longer pending: {row.get('outcome') or 'the thread moved on'}."
    if status == "expired":
        return f"review {rid} expired and was {row.get('outcome') or 'closed'}; nothing changed."
    first = conn.one(
        "SELECT reviewer, type FROM interlock_decisions WHERE review_id = ? AND settles = 1 "
        "ORDER BY created_at, id LIMIT 1",
        (rid,),
    )
    who = f" by {first['reviewer']} ({first['type']})" if first else ""
    return (
        f"review {rid} was already decided{who}; your decision was not applied. "
        "Run `interlock pending` for what is open now."
    )


@dataclass(frozen=True, kw_only=True)
class Committed:
    settled: bool
    """Every action of the review now has its settling decision."""
    status: str
    approvals: tuple[str, ...]
    escalated: bool
    decisions: tuple[dict[str, Any], ...] = ()
    """Every decision on the review now, in order, as `interlock_decisions` rows."""
    issued: tuple[Approval, ...] = ()
    """The approvals this commit issued."""


def _issue(
    conn: Conn,
    row: Mapping[str, Any],
    p: Prepared,
    digest: str,
    reviewers: Sequence[str],
    now: datetime,
    ttl: timedelta,
    signer: Signer,
) -> Approval:
    from interlock.nodes import Approval  # LangGraph stays out of light imports (the CLI)

    need = p.action.get("required_approval") or {}
    view = p.action.get("assessment") or {}
    approval = Approval(
        digest=digest,
        tool=str(p.action.get("name", "")),
        thread_id=row["thread_id"],
        interrupt_id=row["interrupt_id"],
        tool_call_id=str(p.action.get("tool_call_id", "")),
        reviewers=tuple(reviewers),
        roles=tuple(need.get("roles") or ()),
        issued_at=now,
        expires_at=now + ttl,
        review_id=str(row["id"]),
        action_index=p.index,
        policy_version=str(view.get("policy_version") or row.get("policy_version") or ""),
    )
    # Signed here, on the reviewer side: guarded execution runs nothing without a signature
    # its public keys verify, whatever rows the agent side manages to write.
    approval = signer.sign(approval)
    insert_approval(conn, approval, review_id=row["id"], action_index=p.index)
    return approval


def _outcome(settling: Mapping[int, tuple[str, dict[str, Any]]], count: int) -> str:
    parts = []
    for i in range(count):
        who, d = settling[i]
        text = _DONE.get(d["type"], d["type"])
        if d["type"] == "escalate":
            text = f"escalated to {d.get('role')}"
        parts.append(f"{text} by {who}" if count == 1 else f"action {i + 1} {text} by {who}")
    return "; ".join(parts)


def commit(
    conn: Conn,
    audit: AuditLog,
    cur: Current,
    prepared: Sequence[Prepared],
    reviewer: Reviewer,
    *,
    now: datetime,
    approval_ttl: timedelta,
    signer: Signer,
) -> Committed:
    """Record `prepared` decisions in the caller's transaction, or raise and write nothing.

    `cur` was read in this transaction with the review row locked and found pending, so the
    writes are only sent (one round trip with the COMMIT on Postgres): nobody else can have
    moved the review since."""
    row, rid = cur.row, cur.row["id"]
    existing = list(cur.decisions)
    settling: dict[int, tuple[str, dict[str, Any]]] = {
        int(e["action_index"]): (e["reviewer"], json.loads(e["payload"]))
        for e in existing
        if e["settles"]
    }
    entries: list[AuditEntry] = []
    issued: list[Approval] = []
    for p in prepared:
        where = f"action {p.index + 1} ({p.action.get('name', '?')})"
        if p.index in settling:
            msg = f"{where} of review {rid} was already decided by {settling[p.index][0]}."
            raise ConflictError(msg)
        if any(
            int(e["action_index"]) == p.index and same_identity(e["reviewer"], reviewer.name)
            for e in existing
        ):
            msg = (
                f"{reviewer.name} already approved {where}; it needs "
                f"{(p.action.get('required_approval') or {}).get('count', 1)} different "
                "approvers, so the next approval must come from someone else."
            )
            raise AuthorizationError(msg)
        kind = p.decision["type"]
        approvers = [
            e["reviewer"]
            for e in existing
            if int(e["action_index"]) == p.index and e["type"] == "approve"
        ]
        settles = True
        if kind == "approve":
            approvers.append(reviewer.name)
            need = int((p.action.get("required_approval") or {}).get("count") or 1)
            settles = len({identity_key(a) for a in approvers}) >= need
        digest = p.edit.digest if p.edit is not None else p.action.get("digest")
        payload = canonical_json(p.decision)
        conn.send(
            "INSERT INTO interlock_decisions (id, review_id, action_index, reviewer, type, "
            "settles, digest, payload, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (new_id("dc"), rid, p.index, reviewer.name, kind, int(settles), digest, payload, now),
        )
        if kind == "approve" and settles:
            digest_now = str(p.action.get("digest"))
            issued.append(_issue(conn, row, p, digest_now, approvers, now, approval_ttl, signer))
        if p.edit is not None and p.edit.issue:
            edited = _issue(conn, row, p, p.edit.digest, [reviewer.name], now, approval_ttl, signer)
            issued.append(edited)
        entries.append(
            AuditEntry(
                event="decision_recorded",
                actor=reviewer.name,
                thread_id=row["thread_id"],
                review_id=rid,
                digest=digest,
                data=_audit_data(p, kind, approvers, settles),
            )
        )
        existing.append(
            {
                "action_index": p.index,
                "reviewer": reviewer.name,
                "type": kind,
                "settles": settles,
                "payload": payload,
            }
        )
        if settles:
            settling[p.index] = (
                ", ".join(dict.fromkeys(approvers)) if kind == "approve" else reviewer.name,
                p.decision,
            )
    audit.append_all(entries, conn=conn, head=cur.head)
    count = int(row["action_count"])
    every = tuple(sorted({e["reviewer"] for e in existing if e["type"] == "approve"}))
    done = Committed(
        settled=False,
        status="pending",
        approvals=every,
        escalated=False,
        decisions=tuple(existing),
        issued=tuple(issued),
    )
    if len(settling) < count:
        return done
    escalated = any(d["type"] == "escalate" for _, d in settling.values())
    status = "escalated" if escalated else "decided"
    conn.send(
        "UPDATE interlock_reviews SET status = ?, decided_at = ?, decided_by = ?, outcome = ? "
        "WHERE id = ? AND status = 'pending'",
        (status, now, reviewer.name, _outcome(settling, count), rid),
    )
    return replace(done, settled=True, status=status, escalated=escalated)


def _audit_data(p: Prepared, kind: str, approvers: list[str], settles: bool) -> dict[str, Any]:
    view = p.action.get("assessment") or {}
    data: dict[str, Any] = {
        "type": kind,
        "action": p.index,
        "tool": p.action.get("name"),
        "message": p.decision.get("message"),
        "level": view.get("level"),
        "score": view.get("score"),
        "policy_version": view.get("policy_version"),
        "required": p.action.get("required_approval"),
        "approvals": approvers if kind == "approve" else [],
        "settles": settles,
    }
    if kind == "escalate":
        data["role"] = p.decision.get("role")
    if p.edit is not None:
        data["edit"] = {
            "before": p.action.get("args"),
            "after": p.edit.args,
            "diff": p.edit.diff,
            "verdict": p.edit.kind,
            "level": p.edit.level,
            "approved_now": p.edit.issue,
            "why_review": p.edit.why,
        }
    return data
