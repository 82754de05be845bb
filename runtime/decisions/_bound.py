"""What the reviewer side approves is what it shows, at no less than its own policy asks.

A review row is written by the agent side, so nothing in it is taken on trust when an
approval is signed. Before an `approve` is recorded, the reviewer side:

- recomputes the action digest from the action the reviewer was shown (tool, arguments, the
  review's thread and interrupt, the request's policy version). A row whose digest is not
  that of its own action was altered: the decision is refused (and audited), so a harmless
  action on screen can never carry the approval of another call;
- assesses the shown action with its own gate and policy (without the thread's session,
  which only ever raises a requirement) and requires the stricter of that and the row's
  requirement: a row cannot lower who must approve, nor how many. (A deny here, such as a
  stop switch's, is not refused: the decision is recorded and guarded execution, which
  assesses the call again as it runs, denies it then, as the reviewer is told.)

An edit needs neither: its digest and requirement are worked out here already
(`_edits.plan_edit`). Other decisions sign nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from interlock.risk import Policy
from interlock.risk.errors import ConflictError
from interlock.runtime.decisions._commit import Prepared
from interlock.runtime.review._records import action_rung

if TYPE_CHECKING:
    from interlock.runtime.execution._runner import Engine

__all__ = ["bind_approvals"]


def _stricter(
    policy: Policy, row_need: Mapping[str, Any], own: Mapping[str, Any]
) -> dict[str, Any]:
    roles = list(row_need.get("roles") or [])
    row_rung = action_rung(policy, {"required_approval": row_need})
    own_rung = action_rung(policy, {"required_approval": own})
    if not roles or (0 <= row_rung < own_rung < len(policy.roles)):
        roles = list(own.get("roles") or [])
    count = max(int(row_need.get("count") or 1), int(own.get("count") or 1))
    return {"roles": roles, "count": count}


def bind_approvals(
    engine: Engine,
    policy: Policy,
    row: Mapping[str, Any],
    request: Mapping[str, Any],
    thread: Mapping[str, Any] | None,
    prepared: Sequence[Prepared],
) -> list[Prepared]:
    """`prepared`, each approval checked against its shown action and its requirement raised
    to the reviewer side's own assessment; raises on a row that was altered."""
    from interlock.nodes import action_digest, grant_of

    out: list[Prepared] = []
    found: tuple[Any, Any] | None = None  # the thread's gate and scope, once
    for p in prepared:
        if p.decision["type"] != "approve":
            out.append(p)
            continue
        if found is None:
            # First: a thread no process here could resume is refused as such (`built_for`).
            info, built = engine.built_for(str(row["thread_id"]), thread)
            found = built.gate, built.gate.scope(engine.context(info.agent))
        gate, scope = found
        a = p.action
        name, args = str(a.get("name") or ""), a.get("args")
        where = f"action {p.index + 1} ({name or '?'}) of review {row['id']}"
        version = str(request.get("policy_version") or "")
        digest = (
            action_digest(
                name,
                args,
                thread_id=str(row["thread_id"]),
                interrupt_id=row["interrupt_id"],
                policy_version=version,
            )
            if isinstance(args, Mapping)
            else None
        )
        if not isinstance(args, Mapping) or a.get("digest") != digest:
            msg = (
                f"{where} does not match its digest: the review was altered after the gate "
                "opened it, so it cannot be approved (nothing was signed). Run "
                "`interlock audit verify` and look at who writes to this database."
            )
            raise ConflictError(msg)
        if name not in gate.tools:
            msg = f"{where} names tool {name!r}, which this graph does not have; not approved."
            raise ConflictError(msg)
        call: Any = {
            "name": name,
            "args": dict(args),
            "id": a.get("tool_call_id"),
            "type": "tool_call",
        }
        verdict = gate.assess_call(call, scope, keep=False)
        if verdict.kind != "review":
            out.append(p)
            continue
        need = grant_of(gate, verdict, None)
        own = {"roles": list(need.roles), "count": need.count}
        strict = _stricter(policy, a.get("required_approval") or {}, own)
        out.append(replace(p, action={**a, "required_approval": strict}))
    return out
