"""Building the `ReviewRequest` a human sees. Reads only: it runs before `interrupt()`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, ToolMessage
from langchain_core.tools import BaseTool

from interlock.nodes._gate import Gate, RunScope, Verdict
from interlock.nodes._payloads import (
    DECISION_TYPES,
    HITL_DECISION_TYPES,
    ActionRequest,
    AssessmentView,
    ReviewConfig,
    ReviewRequest,
    ReviewRound,
    RouteView,
    ToolResult,
)
from interlock.nodes._state import message_text, user_request
from interlock.risk import LEVELS, ApprovalRequirement, Assessment, Policy

__all__ = [
    "args_schema_of",
    "assessment_view",
    "build_review_request",
    "grant_of",
    "preview_of",
    "review_route",
]

_RESULT_CHARS = 600


def grant_of(gate: Gate, v: Verdict, escalated_to: str | None) -> ApprovalRequirement:
    """What approving this call requires: the engine's requirement, raised by an escalation."""
    base = v.assessment.approval if v.assessment and v.assessment.approval else None
    base = base or ApprovalRequirement(roles=gate.policy.roles, count=1)
    if not escalated_to:
        return base
    ranks = [gate.policy.rank(r) for r in base.roles if gate.policy.rank(r) >= 0]
    bar = max([gate.policy.rank(escalated_to), *([min(ranks)] if ranks else [])])
    if bar < 0:
        return ApprovalRequirement(roles=(escalated_to,), count=base.count)
    return ApprovalRequirement(roles=tuple(gate.policy.roles[bar:]), count=base.count)


def assessment_view(a: Assessment) -> AssessmentView:
    return {
        "score": a.score,
        "level": a.level,
        "outcome": a.outcome,
        "reasons": [{"rule": r.rule, "text": r.text, "points": r.points} for r in a.reasons],
        "policy_version": a.policy_version,
    }


def _route_view(v: Verdict) -> RouteView | None:
    r = v.assessment.route if v.assessment is not None else None
    return {"team": r.team, "route": r.route, "why": r.why} if r is not None else None


def review_route(
    policy: Policy, actions: Sequence[ActionRequest], escalated_to: str | None
) -> RouteView | None:
    """The team told about a whole review: the team of the role it was escalated to when the
    policy names one (`escalation_teams`), else the route of its most severe call (the first
    of equals). Who may decide is unaffected."""
    team = policy.escalation_team(escalated_to) if escalated_to else None
    if escalated_to and team:
        return {
            "team": team,
            "route": f"escalation_teams.{escalated_to}",
            "why": f"escalated to {escalated_to}, whose team is {team}",
        }

    def severity(a: ActionRequest) -> int:
        view = a.get("assessment")
        level = view["level"] if view else ""
        return next((i for i, lv in enumerate(LEVELS) if lv == level), -1)

    routed = [a for a in actions if a.get("route")]
    if not routed:
        return None
    return max(routed, key=severity).get("route")


def preview_of(v: Verdict) -> str:
    """The tool's dry run, or a plain statement that there is none."""
    spec = v.spec
    if spec is None or spec.preview is None:
        return "No dry run is available for this tool: its effect is not known in advance."
    try:
        return spec.preview(v.call.get("args") or {})
    except Exception as exc:
        return f"The dry run failed ({type(exc).__name__}: {exc}); the effect is not known."


def args_schema_of(tool: BaseTool) -> dict[str, Any]:
    schema: Any = tool.tool_call_schema
    try:
        if isinstance(schema, dict):
            return dict(schema)
        return dict(schema.model_json_schema())
    except Exception:  # an exotic schema: edits are then checked by the tool itself
        return {}


def _describe(v: Verdict, expected: str) -> str:
    name, a = v.call["name"], v.action
    where = ""
    if a is not None and a.resource is not None:
        where = f" on {a.resource.type} {a.resource.id}"
    if a is not None and a.environment:
        where += f" in {a.environment}"
    risk = ""
    if v.assessment is not None:
        risk = f" Risk {v.assessment.score}/100 ({v.assessment.level})."
    return f"{name}{where} needs a human decision.{risk} Expected outcome: {expected}"


def _results(messages: Sequence[AnyMessage]) -> list[ToolResult]:
    out: list[ToolResult] = []
    for msg in messages:
        if isinstance(msg, ToolMessage):
            text = message_text(msg)
            if len(text) > _RESULT_CHARS:
                text = text[: _RESULT_CHARS - 3] + "..."
            out.append(
                {
                    "name": msg.name or "",
                    "tool_call_id": msg.tool_call_id,
                    "status": msg.status,
                    "content": text,
                }
            )
    return out


def build_review_request(
    gate: Gate,
    scope: RunScope,
    messages: Sequence[AnyMessage],
    ai: AIMessage,
    pending: Sequence[Verdict],
    *,
    interrupt_id: str,
    opened_at: datetime,
    round_info: ReviewRound | None,
    escalations: Mapping[str, str],
) -> ReviewRequest:
    actions: list[ActionRequest] = []
    configs: list[ReviewConfig] = []
    for v in pending:
        call, a = v.call, v.action
        name, args = call["name"], dict(call.get("args") or {})
        expected = preview_of(v)
        need = grant_of(gate, v, escalations.get(call["id"] or ""))
        request: ActionRequest = {
            "name": name,
            "args": args,
            "description": _describe(v, expected),
            "tool_call_id": call["id"] or "",
            "digest": gate.digest(name, args, scope, interrupt_id),
            "environment": a.environment if a else None,
            "resource": a.resource.to_dict() if a and a.resource else None,
            "required_approval": {"roles": list(need.roles), "count": need.count},
            "expected_outcome": expected,
            "route": _route_view(v),
        }
        if v.assessment is not None:
            request["assessment"] = assessment_view(v.assessment)
        actions.append(request)
        allowed = v.spec.allowed_decisions if v.spec else DECISION_TYPES
        config: ReviewConfig = {
            "action_name": name,
            # LangChain's literal rejects other types: Interlock's extras go beside it.
            "allowed_decisions": [d for d in allowed if d in HITL_DECISION_TYPES],
            "args_schema": args_schema_of(gate.tools[name]),
            "escalation_roles": list(gate.policy.roles),
        }
        extra: list[str] = [d for d in allowed if d not in HITL_DECISION_TYPES]
        if extra:
            config["interlock_decisions"] = extra
        configs.append(config)
    escalated = sorted(set(escalations.values()), key=gate.policy.rank)
    route = review_route(gate.policy, actions, escalated[-1] if escalated else None)
    return {
        "action_requests": actions,
        "review_configs": configs,
        "kind": "interlock.review",
        "thread_id": scope.thread_id,
        "interrupt_id": interrupt_id,
        "user_request": user_request(messages),
        "reasoning": message_text(ai),
        "tool_results": _results(messages),
        "policy_version": gate.policy.version,
        "opened_at": opened_at.isoformat(),
        "expires_at": (opened_at + gate.review_ttl).isoformat(),
        "escalated_to": escalated[-1] if escalated else None,
        "round": round_info["round"] if round_info else 1,
        "notes": list(round_info["notes"]) if round_info else [],
        "team": route["team"] if route else None,
        "route": route,
    }
