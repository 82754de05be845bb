"""Edits: the edited action is a new action, with a new digest and a new assessment.

The decision service approves the edited action on the spot only when the deciding reviewer
could approve it as it now stands: one approver is enough, the reviewer holds a role at or
above its rung, and it is not the same risk moved onto a target whose dry run nobody saw.
Otherwise the edit is recorded, no approval is issued, and the review node re-opens a review
of the edited action (the thread stops again, with `next_review_id`). An edit the policy now
denies is recorded and then refused by guarded execution; an allowed edit just runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from interlock.nodes import (
    action_digest,
    check_tool_args,
    edit_exceeds,
)
from interlock.risk import ApprovalRequirement, Policy
from interlock.risk.errors import DecisionError
from interlock.runtime.decisions._commit import EditPlan, Prepared
from interlock.runtime.decisions._edit_scope import edit_scope
from interlock.runtime.execution._runner import Engine
from interlock.runtime.review._records import qualifies
from interlock.runtime.review.reviewers import Reviewer

__all__ = ["plan_edit"]


def _diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    keys = sorted(set(before) | set(after))
    return {k: [before.get(k), after.get(k)] for k in keys if before.get(k) != after.get(k)}


def plan_edit(
    engine: Engine,
    policy: Policy,
    row: Mapping[str, Any],
    request: Mapping[str, Any],
    p: Prepared,
    reviewer: Reviewer,
) -> EditPlan:
    _built, gate, scope = edit_scope(engine, str(row["thread_id"]))
    name = str(p.action.get("name"))
    args: dict[str, Any] = dict(p.decision["args"])
    if name not in gate.tools:
        msg = f"the edit names tool {name!r}, which this graph does not have."
        raise DecisionError(msg)
    problem = check_tool_args(gate, name, args)
    if problem:
        msg = f"the edited arguments for {name} were refused: {problem}"
        raise DecisionError(msg)
    call: Any = {
        "name": name,
        "args": args,
        "id": p.action.get("tool_call_id"),
        "type": "tool_call",
    }
    original: Any = {**call, "args": dict(p.action.get("args") or {})}
    before = gate.assess_call(original, scope)
    after = gate.assess_call(call, scope)
    digest = action_digest(
        name,
        args,
        thread_id=row["thread_id"],
        interrupt_id=row["interrupt_id"],
        policy_version=str(request.get("policy_version") or gate.policy.version),
    )
    level = after.assessment.level if after.assessment else None
    why = ""
    if after.kind == "review":
        # One reviewer decides: their approval stands for one approver, of their own roles.
        why = edit_exceeds(
            before,
            after,
            grant=ApprovalRequirement(roles=tuple(policy.roles), count=1),
            holds=lambda roles: qualifies(
                policy, reviewer.roles, {"required_approval": {"roles": list(roles)}}
            ),
            who=reviewer.name,
        )
    return EditPlan(
        args=args,
        digest=digest,
        issue=after.kind == "review" and not why,
        why=why,
        kind=after.kind,
        level=level,
        diff=_diff(dict(p.action.get("args") or {}), args),
    )
