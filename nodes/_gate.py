"""The risk gate: turn a proposed tool call into an `Action`, assess it, and route.

The gate runs as the routing function after the model, so an allowed call adds no
checkpointed superstep. Guarded execution checks again before it runs anything: a routing
decision carried in the state is never trusted.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from langchain_core.messages import ToolCall
from langchain_core.tools import BaseTool
from langgraph.runtime import ExecutionInfo

from interlock.nodes._digest import action_digest, call_fingerprint
from interlock.nodes._payloads import AuditEvent
from interlock.nodes._scope import InterlockContext, RunScope
from interlock.nodes._stops import (
    NOTHING_STOPPED,
    ROUTING_MAX_AGE,
    StoppedScopes,
    StopSource,
    is_stop_source,
    read_stops,
)
from interlock.nodes._stores import (
    ApprovalStore,
    AuditSink,
    ExecutionLedger,
    InMemoryApprovalStore,
    InMemoryAuditSink,
    InMemoryExecutionLedger,
)
from interlock.nodes._toolspec import ToolSpec, spec_of
from interlock.nodes._trace import gate_span, tracer
from interlock.risk import (
    LEVELS,
    Action,
    ApprovalRequirement,
    Assessment,
    Context,
    Credential,
    Policy,
    Reason,
    Session,
    utcnow,
)

__all__ = [
    "Gate",
    "InterlockContext",
    "RunScope",
    "Verdict",
    "fail_closed",
]

_REUSE_SECONDS = 2.0
_REUSE_MAX = 4096

VerdictKind = Literal["allow", "review", "deny", "rejected", "unknown_tool"]


def _fingerprint(call: ToolCall) -> str:
    return call_fingerprint(call["name"], call.get("args") or {})


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """The gate's view of one call: what it is, what the engine said, where it goes."""

    call: ToolCall
    kind: VerdictKind
    action: Action | None = None
    assessment: Assessment | None = None
    spec: ToolSpec | None = None
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class Gate:
    """The gate's configuration: the policy, the tools, and where approvals live.

    `issue_on_resume=True` lets a plain `Command(resume=...)` approve, as LangGraph users
    expect: the review node issues the approval after the interrupt returns. Set it to False
    when a decision service issues approvals before resuming; then an approve without a
    matching approval in the store re-opens the review.
    """

    policy: Policy
    tools: Mapping[str, BaseTool]
    specs: Mapping[str, ToolSpec] = field(default_factory=dict)
    agent: str = "agent"
    credential: Credential | None = None
    approvals: ApprovalStore = field(default_factory=InMemoryApprovalStore)
    ledger: ExecutionLedger = field(default_factory=InMemoryExecutionLedger)
    audit: AuditSink = field(default_factory=InMemoryAuditSink)
    clock: Callable[[], datetime] = utcnow
    review_ttl: timedelta = timedelta(hours=24)
    approval_ttl: timedelta = timedelta(hours=1)
    issue_on_resume: bool = True
    stops: StopSource | None = None
    """Live stop switches; the runtime adds its durable source with `watch_stops`."""
    _stop_sources: list[StopSource] = field(
        default_factory=list, init=False, repr=False, compare=False
    )
    _recent: dict[int, tuple[float, ToolCall, tuple[Any, ...], Verdict]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if self.stops is not None:
            self._stop_sources.append(self.stops)

    def watch_stops(self, source: StopSource) -> None:
        """Consult `source` at every evaluation from now on (idempotent). The runtime binds
        its durable stop switches here, so they hold whatever the run's context says."""
        if not any(s is source for s in self._stop_sources):
            self._stop_sources.append(source)

    @classmethod
    def for_tools(cls, policy: Policy, tools: Sequence[BaseTool], **kwargs: Any) -> Gate:
        return cls(policy=policy, tools={t.name: t for t in tools}, **kwargs)

    def spec(self, name: str) -> ToolSpec | None:
        found = self.specs.get(name)
        if found is not None:
            return found
        tool = self.tools.get(name)
        return spec_of(tool) if tool is not None else None

    def scope(
        self,
        context: Any = None,
        info: ExecutionInfo | None = None,
        *,
        max_age: float = ROUTING_MAX_AGE,
        session: Session | None = None,
    ) -> RunScope:
        """The run scope, with the stop switches as every source sees them now (a view at
        most `max_age` seconds old; guarded execution passes 0), and the thread's `session`
        when the caller read it (`interlock.nodes._session`)."""
        if context is None:  # no run context: the gate's own settings (the common case)
            sources, static, agent = tuple(self._stop_sources), NOTHING_STOPPED, self.agent
            credential, approvals, ledger, audit = (
                self.credential, self.approvals, self.ledger, self.audit,
            )  # fmt: skip
        else:

            def pick(name: str, default: Any) -> Any:
                value = getattr(context, name, None)
                return default if value is None else value

            static = StoppedScopes(
                agents=frozenset(pick("stopped_agents", frozenset())),
                environments=frozenset(pick("stopped_environments", frozenset())),
            )
            sources = tuple(self._stop_sources)
            extra = pick("stops", None)
            if is_stop_source(extra) and not any(s is extra for s in sources):
                sources = (*sources, extra)
            agent = pick("agent", self.agent)
            credential, approvals = (
                pick("credential", self.credential),
                pick("approvals", self.approvals),
            )
            ledger, audit = pick("ledger", self.ledger), pick("audit", self.audit)
        stopped = self._stopped(agent, read_stops(sources, static, max_age))
        return RunScope(
            agent=agent,
            credential=credential,
            approvals=approvals,
            ledger=ledger,
            audit=audit,
            context=Context(
                now=self.clock(),
                stopped_agents=stopped.agents,
                stopped_environments=stopped.environments,
                session=session,
            ),
            thread_id=(info.thread_id or "") if info is not None else "",
            checkpoint_ns=info.checkpoint_ns if info is not None else "",
            stop_sources=sources,
            static_stops=static,
        )

    def _stopped(self, agent: str, found: StoppedScopes) -> StoppedScopes:
        if agent != self.agent and self.agent in found.agents:
            # A stop on the graph's own agent holds whatever name a run's context gives it.
            return found | StoppedScopes(agents=frozenset({agent}))
        return found

    def restop(self, scope: RunScope, *, max_age: float = 0.0) -> RunScope:
        """`scope` with the stop switches read again (guarded execution, before each call;
        fresh unless `max_age` allows a view that old): the same scope when nothing changed."""
        if not scope.stop_sources:
            return scope
        found = read_stops(scope.stop_sources, scope.static_stops, max_age)
        now = self._stopped(scope.agent, found)
        ctx = scope.context
        if now.agents == ctx.stopped_agents and now.environments == ctx.stopped_environments:
            return scope
        changed = dataclasses.replace(
            ctx, stopped_agents=now.agents, stopped_environments=now.environments
        )
        return dataclasses.replace(scope, context=changed)

    def build_action(self, call: ToolCall, scope: RunScope) -> tuple[Action, str]:
        """The action for `call`, and an error text when its metadata could not be resolved."""
        name, args = call["name"], call.get("args") or {}
        spec = self.spec(name)
        if spec is None:
            return Action(tool=name, args=args, agent=scope.agent, credential=scope.credential), ""
        environment, resource, credential, error = None, None, None, ""
        try:
            environment = spec.environment_of(args)
            resource = spec.resource(args) if spec.resource else None
            credential = spec.credential(args) if spec.credential else None
        except Exception as exc:  # metadata that cannot be resolved must not let a call through
            error = f"The tool's metadata could not be resolved ({type(exc).__name__}: {exc})."
        action = Action(
            tool=name,
            args=args,
            environment=environment,
            resource=resource,
            effects=spec.effects,
            reversible=spec.reversible,
            agent=scope.agent,
            credential=credential or scope.credential,
        )
        return action, error

    def assess_call(
        self,
        call: ToolCall,
        scope: RunScope,
        rejected: Mapping[str, str] | None = None,
        *,
        reuse: bool = False,
        keep: bool = True,
    ) -> Verdict:
        """Assess `call`. With `reuse`, a verdict this gate computed moments ago for this very
        call object, in this process, under the same run scope and rejections, is returned
        instead of a second assessment (the router's serves the review node; the review
        node's, guarded execution, which still needs an approval for the call's digest):
        the object cannot have changed hands, so nothing is trusted from the state. Anything
        else is assessed afresh. Kept for reuse unless `keep` is False."""
        key: tuple[Any, ...] = ()
        if reuse or keep:
            session = scope.context.session
            refused = rejected.get(_fingerprint(call)) if rejected else None
            key = (
                scope.agent,
                scope.credential,
                scope.context.stopped_agents,
                scope.context.stopped_environments,
                session.key if session is not None else None,
                refused,
            )
        if reuse:
            hit = self._recent.get(id(call))
            if (
                hit is not None
                and hit[1] is call
                and hit[2] == key
                and time.monotonic() - hit[0] < _REUSE_SECONDS
            ):
                return hit[3]
        span = tracer().start_span("interlock.gate")  # a no-op span unless an SDK records
        verdict = self._assess(call, scope, rejected)
        gate_span(self, scope, verdict, span)
        if keep and verdict.kind != "unknown_tool":
            if len(self._recent) >= _REUSE_MAX:
                self._recent.clear()
            self._recent[id(call)] = (time.monotonic(), call, key, verdict)
        return verdict

    def _assess(
        self, call: ToolCall, scope: RunScope, rejected: Mapping[str, str] | None
    ) -> Verdict:
        name = call["name"]
        if name not in self.tools:
            known = ", ".join(sorted(self.tools)) or "none"
            # Under the middleware the agent may hold a tool the gate was not given.
            note = (
                f"There is no tool named {name!r} among those Interlock governs here, so it "
                f"was not run. Available tools: {known}."
            )
            return Verdict(call=call, kind="unknown_tool", note=note)
        spec = self.spec(name)
        if rejected:
            message = rejected.get(_fingerprint(call))
            if message is not None:
                return Verdict(call=call, kind="rejected", spec=spec, note=message)
        try:
            action, error = self.build_action(call, scope)
            assessment = self.policy.assess(action, scope.context)
        except Exception as exc:  # a malformed call or engine failure fails closed to review
            error = f"The call could not be assessed ({type(exc).__name__}: {exc})."
            action = Action(tool=name, agent=scope.agent)
            assessment = self.policy.assess(action, scope.context)
        if error:
            assessment = fail_closed(self.policy, assessment, error)
        return Verdict(
            call=call, kind=assessment.outcome, action=action, assessment=assessment, spec=spec
        )

    def digest(
        self, tool: str, args: Mapping[str, Any], scope: RunScope, interrupt_id: str | None
    ) -> str:
        return action_digest(
            tool,
            args,
            thread_id=scope.thread_id,
            interrupt_id=interrupt_id,
            policy_version=self.policy.version,
        )

    def event(
        self,
        scope: RunScope,
        kind: str,
        call: ToolCall,
        *,
        digest: str | None = None,
        outcome: str | None = None,
        level: str | None = None,
        detail: str = "",
        reviewer: str | None = None,
        verdict: Verdict | None = None,
        to: Callable[[AuditEvent], Any] | None = None,
    ) -> None:
        """Send one audit event to the run's sink (or to `to`, which records it). With
        `verdict`, the event also carries the assessed action and its assessment (for policy
        replay); the dicts are built here, on the way to the sink, never on the routing path."""
        event: AuditEvent = {
            "kind": kind,
            "at": scope.context.now.isoformat(),
            "thread_id": scope.thread_id,
            "tool": call["name"],
            "tool_call_id": call["id"] or "",
            "digest": digest,
            "outcome": outcome,
            "level": level,
            "detail": detail,
            "reviewer": reviewer,
        }
        if verdict is not None and verdict.action is not None and verdict.assessment is not None:
            event["action"] = verdict.action.to_dict()
            event["assessment"] = verdict.assessment.to_dict()
        (to or scope.audit.record)(event)


def fail_closed(policy: Policy, assessment: Assessment, text: str) -> Assessment:
    """Raise an assessment to at least review, with `text` as the reason."""
    reasons = (*assessment.reasons, Reason(rule="fail-closed:gate", text=text, outcome="review"))
    if assessment.outcome != "allow":
        return dataclasses.replace(assessment, reasons=reasons)
    level = max(assessment.level, policy.fail_closed_level, key=LEVELS.index)
    spec = policy.approvals.get(level)
    roles = policy.roles[min(policy.rank(r) for r in spec.roles) :] if spec else policy.roles
    return dataclasses.replace(
        assessment,
        level=level,
        outcome="review",
        reasons=reasons,
        approval=ApprovalRequirement(roles=tuple(roles), count=spec.count if spec else 1),
    )
