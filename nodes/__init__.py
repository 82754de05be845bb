"""LangGraph building blocks: the risk gate, human review, and guarded tool execution.

- `make_router(gate)`: the routing function after the model. Allowed calls go straight to
  the tool step (no extra superstep); calls that need a human go to review.
- `make_review_node(gate)`: `interrupt(ReviewRequest)`, then apply each action's decision.
- `make_execute_node(gate)`: runs a call only if it is allowed now or carries an approval
  whose digest matches the exact action; refuses and audits anything else.
- `validate_response` / `validate_decision`: check an answer before `Command(resume=...)`.
- `InterlockMiddleware`: the same gate, review and guarded execution for LangChain v1's
  `create_agent` (needs the `agents` extra; LangChain loads only when it is asked for).
- Verdicts in traces: run metadata, tags and `interlock_verdict` events for LangChain
  callback handlers; OpenTelemetry spans (`use_tracer_provider` picks where they go).
"""

from typing import TYPE_CHECKING, Any

from interlock.nodes._decisions import check_args, validate_decision, validate_response
from interlock.nodes._digest import action_digest, call_fingerprint, interrupt_id_for
from interlock.nodes._edit_rule import edit_exceeds
from interlock.nodes._execute import GatedToolNode, make_execute_node
from interlock.nodes._gate import Gate, InterlockContext, RunScope, Verdict, fail_closed
from interlock.nodes._invoke import HandleToolErrors
from interlock.nodes._payloads import (
    DECISION_TYPES,
    HITL_DECISION_TYPES,
    ActionRequest,
    ApproveDecision,
    AssessmentView,
    AuditEvent,
    Decision,
    DecisionType,
    EditDecision,
    EditedAction,
    EscalateDecision,
    InterlockState,
    ReasonView,
    RejectDecision,
    RequiredApproval,
    RespondDecision,
    ReviewConfig,
    ReviewRecord,
    ReviewRequest,
    ReviewResponse,
    ReviewRound,
    RouteView,
    ToolResult,
    allowed_decisions_of,
)
from interlock.nodes._refusal import denial_text, stop_reason
from interlock.nodes._request import build_review_request, grant_of, preview_of, review_route
from interlock.nodes._resume import PendingReview, pending_reviews, resume_command
from interlock.nodes._review import (
    PROPOSED_AT,
    check_tool_args,
    make_review_node,
    rejection_text,
    review_round,
)
from interlock.nodes._router import make_router
from interlock.nodes._session import with_session
from interlock.nodes._state import GatedState, last_ai_message, merge_interlock
from interlock.nodes._stops import ROUTING_MAX_AGE, StaticStops, StoppedScopes, StopSource
from interlock.nodes._stores import (
    Approval,
    ApprovalStore,
    AuditSink,
    ExecutionLedger,
    ExecutionRecord,
    ExecutionStatus,
    InMemoryApprovalStore,
    InMemoryAuditSink,
    InMemoryExecutionLedger,
    StartOutcome,
    consume_then_start,
    start_approved,
)
from interlock.nodes._toolspec import (
    METADATA_KEY,
    ToolSpec,
    Ungoverned,
    allow_ungoverned,
    gated,
    governed,
    is_governed,
    spec_of,
    ungated,
)
from interlock.nodes._trace import VERDICT_EVENT, trace_span, tracer, use_tracer_provider

if TYPE_CHECKING:
    from interlock.nodes._middleware import InterlockAgentState, InterlockMiddleware

_LAZY = frozenset({"InterlockAgentState", "InterlockMiddleware"})


def __getattr__(name: str) -> Any:
    # The middleware imports `langchain` (an optional extra): only when it is asked for.
    if name in _LAZY:
        from interlock.nodes import _middleware

        return getattr(_middleware, name)
    msg = f"module 'interlock.nodes' has no attribute {name!r}"
    raise AttributeError(msg)


__all__ = [
    "DECISION_TYPES",
    "HITL_DECISION_TYPES",
    "METADATA_KEY",
    "PROPOSED_AT",
    "ROUTING_MAX_AGE",
    "VERDICT_EVENT",
    "ActionRequest",
    "Approval",
    "ApprovalStore",
    "ApproveDecision",
    "AssessmentView",
    "AuditEvent",
    "AuditSink",
    "Decision",
    "DecisionType",
    "EditDecision",
    "EditedAction",
    "EscalateDecision",
    "ExecutionLedger",
    "ExecutionRecord",
    "ExecutionStatus",
    "Gate",
    "GatedState",
    "GatedToolNode",
    "HandleToolErrors",
    "InMemoryApprovalStore",
    "InMemoryAuditSink",
    "InMemoryExecutionLedger",
    "InterlockAgentState",
    "InterlockContext",
    "InterlockMiddleware",
    "InterlockState",
    "PendingReview",
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
    "RunScope",
    "StartOutcome",
    "StaticStops",
    "StopSource",
    "StoppedScopes",
    "ToolResult",
    "ToolSpec",
    "Ungoverned",
    "Verdict",
    "action_digest",
    "allow_ungoverned",
    "allowed_decisions_of",
    "build_review_request",
    "call_fingerprint",
    "check_args",
    "check_tool_args",
    "consume_then_start",
    "denial_text",
    "edit_exceeds",
    "fail_closed",
    "gated",
    "governed",
    "grant_of",
    "interrupt_id_for",
    "is_governed",
    "last_ai_message",
    "make_execute_node",
    "make_review_node",
    "make_router",
    "merge_interlock",
    "pending_reviews",
    "preview_of",
    "rejection_text",
    "resume_command",
    "review_round",
    "review_route",
    "spec_of",
    "start_approved",
    "stop_reason",
    "trace_span",
    "tracer",
    "ungated",
    "use_tracer_provider",
    "validate_decision",
    "validate_response",
    "with_session",
]
