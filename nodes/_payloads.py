"""Wire payloads: what the review node shows a human and what a human may answer.

`ReviewRequest` is a superset of LangChain v1's `HITLRequest` (`action_requests` and
`review_configs`, matched by position): it validates with LangChain's own TypedDict, so a
client that renders that format renders ours; the extra keys carry what a reviewer needs to
decide well. `allowed_decisions` holds only LangChain's decision types; Interlock's extra ones
(`escalate`) go in `interlock_decisions` beside it (read both with `allowed_decisions_of`).
Decisions are told apart by `type`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, NotRequired

from typing_extensions import TypedDict

__all__ = [
    "DECISION_TYPES",
    "HITL_DECISION_TYPES",
    "ActionRequest",
    "ApproveDecision",
    "AssessmentView",
    "AuditEvent",
    "Decision",
    "DecisionType",
    "EditDecision",
    "EditedAction",
    "EscalateDecision",
    "InterlockState",
    "ReasonView",
    "RejectDecision",
    "RequiredApproval",
    "RespondDecision",
    "ReviewConfig",
    "ReviewRecord",
    "ReviewRequest",
    "ReviewResponse",
    "ReviewRound",
    "RouteView",
    "ToolResult",
    "allowed_decisions_of",
]

DecisionType = Literal["approve", "edit", "reject", "respond", "escalate"]
DECISION_TYPES: tuple[DecisionType, ...] = ("approve", "edit", "reject", "respond", "escalate")
HITL_DECISION_TYPES: tuple[DecisionType, ...] = ("approve", "edit", "reject", "respond")
"""The decision types LangChain's `HITLRequest` literal accepts in `allowed_decisions`."""


class ReasonView(TypedDict):
    rule: str
    """The policy rule that fired."""
    text: str
    """What it means, in words a reviewer reads."""
    points: int
    """What it added to the score."""


class AssessmentView(TypedDict):
    """The risk engine's verdict, as shown to a reviewer."""

    score: int
    """0-100."""
    level: str
    """low | medium | high | critical."""
    outcome: str
    """allow | review | deny."""
    reasons: list[ReasonView]
    """Every rule that contributed, in the engine's order."""
    policy_version: str
    """Content hash of the policy that produced this verdict."""


class RouteView(TypedDict):
    """Which team is told about a review, and why. It never says who may decide: that is
    `required_approval` (roles and separation of duties)."""

    team: str
    """The team of the notification settings that is told."""
    route: str
    """What chose it: a route's name, `routes[i]`, `default_team` or `escalation_teams.<role>`."""
    why: str
    """One line a reviewer reads."""


class RequiredApproval(TypedDict):
    roles: list[str]
    """Any one of these roles may approve."""
    count: int
    """How many distinct approvers are needed."""


class ActionRequest(TypedDict):
    """One proposed tool call awaiting a decision (HITL `ActionRequest` plus Interlock keys)."""

    name: str
    """Tool name (HITL)."""
    args: dict[str, Any]
    """Arguments exactly as they would run (HITL)."""
    description: str
    """One paragraph for a human: what, where, how risky (HITL)."""
    tool_call_id: NotRequired[str]
    """The model's id for this call; decisions apply by position, this is for display."""
    digest: NotRequired[str]
    """SHA-256 of canonical {tool, args, thread_id, interrupt_id, policy_version}."""
    environment: NotRequired[str | None]
    """Where the action lands, as the tool's metadata resolved it."""
    resource: NotRequired[dict[str, Any] | None]
    """The target: type, id, attributes."""
    assessment: NotRequired[AssessmentView]
    """Score, level, reasons and policy version."""
    required_approval: NotRequired[RequiredApproval | None]
    """Who must approve; an escalation replaces it."""
    route: NotRequired[RouteView | None]
    """The team the policy's routes send this call to (None: the policy has no routes)."""
    expected_outcome: NotRequired[str]
    """The tool's own dry-run of what would happen."""


class ReviewConfig(TypedDict):
    """Which answers a request accepts (HITL `ReviewConfig`)."""

    action_name: str
    """The tool this config is for."""
    allowed_decisions: list[str]
    """Any of approve, edit, reject, respond: LangChain's own decision types (HITL)."""
    interlock_decisions: NotRequired[list[str]]
    """Interlock's decision types beyond LangChain's (escalate), allowed as well. Kept out of
    `allowed_decisions` so that the request validates as LangChain's `HITLRequest`."""
    args_schema: NotRequired[dict[str, Any]]
    """JSON schema an `edit` must satisfy."""
    escalation_roles: NotRequired[list[str]]
    """Roles an `escalate` may name, junior first."""


def allowed_decisions_of(config: Mapping[str, Any] | None) -> list[str]:
    """Every decision type a review config allows: LangChain's `allowed_decisions` and
    Interlock's `interlock_decisions`, in that order. With no config, all of them."""
    if config is None:
        return list(DECISION_TYPES)
    found = [*(config.get("allowed_decisions") or ()), *(config.get("interlock_decisions") or ())]
    return list(dict.fromkeys(str(d) for d in found))


class ToolResult(TypedDict):
    """One tool result the agent has seen in this thread."""

    name: str
    tool_call_id: str
    status: str
    """success | error."""
    content: str
    """The result text, shortened for display."""


class ReviewRequest(TypedDict):
    """The `interrupt()` payload of the human review node."""

    action_requests: list[ActionRequest]
    """The calls to decide, one decision each, by position (HITL)."""
    review_configs: list[ReviewConfig]
    """Allowed decisions, by position (HITL)."""
    kind: NotRequired[Literal["interlock.review"]]
    """Marks an Interlock request among other interrupts."""
    thread_id: NotRequired[str]
    interrupt_id: NotRequired[str]
    """The id `get_state().interrupts` reports; digests are bound to it."""
    user_request: NotRequired[str]
    """The request that started the thread."""
    reasoning: NotRequired[str]
    """What the model said alongside these calls."""
    tool_results: NotRequired[list[ToolResult]]
    """What the agent has seen so far in this thread."""
    policy_version: NotRequired[str]
    opened_at: NotRequired[str]
    """ISO-8601 UTC."""
    expires_at: NotRequired[str]
    """ISO-8601 UTC; a decision after this is refused and the review re-opens."""
    escalated_to: NotRequired[str | None]
    """A role the review was escalated to, when it was."""
    round: NotRequired[int]
    """1 for the first review of these calls; higher when it went back to review."""
    team: NotRequired[str | None]
    """The team told about this review (the review row's `team`): the route of its most
    severe call, or the policy's team for the role it was escalated to. None: no routes."""
    route: NotRequired[RouteView | None]
    """Why `team` was chosen."""
    notes: NotRequired[list[str]]
    """Why the review re-opened: a bad decision, an edit that needs more, an expiry."""


class ApproveDecision(TypedDict):
    type: Literal["approve"]
    digest: NotRequired[str]
    """Binds the decision to the action the reviewer saw; a mismatch re-opens the review."""
    reviewer: NotRequired[str]
    """Who decided. The decision service sets it from authentication, never from a client."""
    message: NotRequired[str]
    """An optional note kept in the audit trail."""


class EditedAction(TypedDict):
    name: str
    args: dict[str, Any]


class EditDecision(TypedDict):
    """Run the same tool with new args; the edited action is assessed again."""

    type: Literal["edit"]
    args: NotRequired[dict[str, Any]]
    """The new arguments (Interlock form)."""
    edited_action: NotRequired[EditedAction]
    """The new action (HITL form); its name must stay the same tool."""
    digest: NotRequired[str]
    reviewer: NotRequired[str]
    message: NotRequired[str]


class RejectDecision(TypedDict):
    type: Literal["reject"]
    message: NotRequired[str]
    """Goes back to the model as the tool result, so it does not propose the call again."""
    digest: NotRequired[str]
    reviewer: NotRequired[str]


class RespondDecision(TypedDict):
    type: Literal["respond"]
    message: str
    """Guidance for the model; the call is not run."""
    digest: NotRequired[str]
    reviewer: NotRequired[str]


class EscalateDecision(TypedDict):
    type: Literal["escalate"]
    role: str
    """The role that must decide instead; the thread stays pending for it."""
    message: NotRequired[str]
    digest: NotRequired[str]
    reviewer: NotRequired[str]


Decision = ApproveDecision | EditDecision | RejectDecision | RespondDecision | EscalateDecision


class ReviewResponse(TypedDict):
    """The resume value: one decision per action request, by position (HITL)."""

    decisions: list[Decision]


class ReviewRecord(TypedDict):
    """What the graph state keeps about a decided call. It grants nothing by itself:
    guarded execution recomputes the digest and looks the approval up in the store."""

    decision: str
    """approve | edit | reject | respond."""
    interrupt_id: str
    """The review round the decision came from; part of the approval's digest."""
    message_id: NotRequired[str | None]
    """The AI message whose call this is; a record never carries over to another turn."""
    reviewer: NotRequired[str | None]
    message: NotRequired[str | None]


class ReviewRound(TypedDict):
    """Carried into the next round when a review re-opens."""

    round: int
    opened_at: str
    escalated: dict[str, str]
    """tool_call_id -> role."""
    notes: list[str]


class InterlockState(TypedDict, total=False):
    """The `interlock` channel of a gated graph's state."""

    reviews: dict[str, ReviewRecord]
    """tool_call_id -> decision."""
    rejected: dict[str, str]
    """Fingerprint of a rejected call (tool and args) -> the reviewer's message."""
    round: ReviewRound | None


class AuditEvent(TypedDict):
    """One audit-worthy thing the gate did. The durable audit log stores these as rows."""

    kind: str
    """review (the router sent the call to a human), executed, failed, denied, refused,
    in_doubt, decided, escalated, approval_issued, decision_refused or unknown_tool."""
    at: str
    thread_id: str
    tool: str
    tool_call_id: str
    digest: NotRequired[str | None]
    outcome: NotRequired[str | None]
    level: NotRequired[str | None]
    detail: str
    reviewer: NotRequired[str | None]
    action: NotRequired[dict[str, Any]]
    """The assessed `interlock.risk.Action` (`Action.to_dict()`; `Action.from_dict` rebuilds
    it), on every event about a call the gate assessed: what policy replay re-assesses."""
    assessment: NotRequired[dict[str, Any]]
    """The verdict it got (`Assessment.to_dict()`: outcome, level, score, reasons, approval,
    policy version)."""
