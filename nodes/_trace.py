"""Verdicts in traces: LangChain run metadata, tags and custom events, and OpenTelemetry spans.

LangChain side (any `BaseCallbackHandler`, LangSmith included), only when a handler listens:
- a tool call that runs does so with `metadata["interlock_verdict"]` (outcome, level, score, rules,
  digest, review id, policy version) and tags `interlock:<outcome>`, `interlock:level:<level>`
  on its own run;
- every call guarded execution settles, and every call held for review, is announced as a
  custom event named `interlock_verdict` (`on_custom_event`) with the same data; a call that
  does not run also gets a short run of its own named `interlock_verdict`, carrying that
  metadata and those tags, so tracers that ignore custom events (LangSmith) show it too.

OpenTelemetry side, through `opentelemetry-api` (a no-op until an SDK provider is set):
`interlock.gate` (each assessment), `interlock.review` (the wait: a span cannot stay open
across a process pause, so it is recorded when the answer is applied, with explicit start and
end times: from the review's opening to that moment), `interlock.execute` (each call guarded
execution settles, around the tool run when it runs), and `interlock.decision` (the runtime's
decision service). Attributes are set only on a recording span.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from langchain_core.callbacks import (
    AsyncCallbackManager,
    BaseCallbackManager,
    CallbackManager,
    adispatch_custom_event,
    dispatch_custom_event,
)
from langchain_core.messages import ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import (
    get_async_callback_manager_for_config,
    get_callback_manager_for_config,
)
from opentelemetry import trace
from opentelemetry.trace import Span, StatusCode, Tracer, TracerProvider

if TYPE_CHECKING:
    from interlock.nodes._gate import Gate, RunScope, Verdict
    from interlock.nodes._guarded import Cleared
    from interlock.nodes._payloads import ReviewRecord


class Settled(Protocol):
    """What guarded execution knows about a call it settled (its runner)."""

    scope: RunScope
    verdict: Verdict
    record: ReviewRecord | None
    ended: tuple[str, str | None] | None
    """How a call that did not run ended, when not as its verdict says: (outcome, digest)."""


__all__ = [
    "VERDICT_EVENT",
    "Settled",
    "aannounce",
    "announce",
    "current",
    "end_execute",
    "gate_span",
    "listening",
    "record_review",
    "settled",
    "tag_config",
    "trace_span",
    "traced",
    "tracer",
    "use_tracer_provider",
    "verdict_info",
]

VERDICT_EVENT = "interlock_verdict"
"""The custom event, the metadata key, and the run (for a call that does not run) that carry
a verdict. (`metadata["interlock"]` is taken: a tool's own metadata holds its ToolSpec there.)"""

_NAME = "interlock"
_tracer: Tracer = trace.get_tracer(_NAME)  # a proxy: follows the global provider once set

T = TypeVar("T")


def use_tracer_provider(provider: TracerProvider | None) -> None:
    """Send Interlock's spans to `provider` instead of the global one (None: back to the
    global provider). OpenTelemetry lets a process set its global provider once; this lets
    an application, or a test, give Interlock its own."""
    global _tracer
    _tracer = provider.get_tracer(_NAME) if provider is not None else trace.get_tracer(_NAME)


def tracer() -> Tracer:
    """The tracer Interlock's spans come from."""
    return _tracer


@contextlib.contextmanager
def trace_span(name: str, attributes: Mapping[str, Any] | None = None) -> Iterator[Span]:
    """A span named `name`, current inside the block (what runs there nests under it); an
    exception escaping the block is recorded on it, marked as an error, and re-raised."""
    with _tracer.start_as_current_span(name, attributes=attributes) as span:
        yield span


# -- LangChain callbacks --------------------------------------------------------------------
def listening(config: Mapping[str, Any] | None) -> bool:
    """Whether any callback handler would see what this run reports (cheap: no dicts built
    for a run nobody traces)."""
    cbs = config.get("callbacks") if config else None
    if isinstance(cbs, BaseCallbackManager):
        return bool(cbs.handlers)
    return bool(cbs)


def verdict_info(
    v: Verdict,
    outcome: str,
    *,
    policy_version: str,
    digest: str | None = None,
    review_id: str | None = None,
) -> dict[str, Any]:
    """The verdict as run metadata: JSON-friendly, the same keys for every outcome."""
    a = v.assessment
    return {
        "outcome": outcome,
        "tool": v.call["name"],
        "tool_call_id": v.call.get("id") or "",
        "level": a.level if a else None,
        "score": a.score if a else None,
        "rules": [r.rule for r in a.reasons] if a else [],
        "digest": digest,
        "review_id": review_id,
        "policy_version": a.policy_version if a else policy_version,
    }


def _tags(info: Mapping[str, Any]) -> list[str]:
    tags = [f"interlock:{info['outcome']}"]
    if info.get("level"):
        tags.append(f"interlock:level:{info['level']}")
    return tags


def tag_config(config: RunnableConfig, info: Mapping[str, Any]) -> RunnableConfig:
    """`config` for the tool run: the verdict in its metadata and tags (a new config)."""
    metadata = {**(config.get("metadata") or {}), VERDICT_EVENT: dict(info)}
    return {**config, "metadata": metadata, "tags": [*(config.get("tags") or []), *_tags(info)]}


def _verdict_run(manager: BaseCallbackManager, info: Mapping[str, Any]) -> BaseCallbackManager:
    child = manager.copy()
    child.add_metadata({VERDICT_EVENT: dict(info)}, inherit=False)
    child.add_tags(_tags(info), inherit=False)
    return child


def announce(config: RunnableConfig, infos: Sequence[Mapping[str, Any]], *, ran: bool) -> None:
    """Tell the run's callback handlers about verdicts; `ran=False` also opens and closes a
    run named `interlock_verdict` per verdict. Tracing never breaks a tool step."""
    with contextlib.suppress(Exception):
        for info in infos:
            dispatch_custom_event(VERDICT_EVENT, dict(info), config=config)
            if not ran:
                run = _verdict_run(get_callback_manager_for_config(config), info)
                assert isinstance(run, CallbackManager)
                rm = run.on_chain_start(None, dict(info), name=VERDICT_EVENT)
                rm.on_chain_end({"outcome": info["outcome"]})


async def aannounce(
    config: RunnableConfig, infos: Sequence[Mapping[str, Any]], *, ran: bool
) -> None:
    """`announce` under asyncio (async handlers are awaited on the running loop)."""
    with contextlib.suppress(Exception):
        for info in infos:
            await adispatch_custom_event(VERDICT_EVENT, dict(info), config=config)
            if not ran:
                run = _verdict_run(get_async_callback_manager_for_config(config), info)
                assert isinstance(run, AsyncCallbackManager)
                rm = await run.on_chain_start(None, dict(info), name=VERDICT_EVENT)
                await rm.on_chain_end({"outcome": info["outcome"]})


# -- OpenTelemetry --------------------------------------------------------------------------
def _common(span: Span, v: Verdict, scope: RunScope) -> None:
    a = v.assessment
    span.set_attribute("interlock.tool", v.call["name"])
    span.set_attribute("interlock.thread_id", scope.thread_id)
    span.set_attribute("interlock.agent", scope.agent)
    if a is not None:
        span.set_attribute("interlock.level", a.level)
        span.set_attribute("interlock.score", a.score)
        span.set_attribute("interlock.rules", [r.rule for r in a.reasons])
        span.set_attribute("interlock.policy_version", a.policy_version)


def gate_span(gate: Gate, scope: RunScope, v: Verdict, span: Span) -> None:
    """End the `interlock.gate` span `span` (started before the assessment) with `v`."""
    if span.is_recording():
        _common(span, v, scope)
        span.set_attribute("interlock.outcome", v.kind)
        if v.kind == "allow":  # the digest an allowed call runs under (no interrupt)
            args = v.call.get("args") or {}
            span.set_attribute("interlock.digest", gate.digest(v.call["name"], args, scope, None))
    span.end()


def _review_id(scope: RunScope, rec: Mapping[str, Any] | None, digest: str | None) -> str | None:
    """The review that decided the call: the durable store's review id for its approval when
    it keeps one (read only for a trace), else the review's interrupt id."""
    if rec is None:
        return None
    if digest:
        with contextlib.suppress(Exception):
            found = scope.approvals.get(digest)
            if found is not None and found.review_id:
                return found.review_id
    return str(rec.get("interrupt_id") or "") or None


def settled(
    gate: Gate,
    runner: Settled,
    out: ToolMessage | Cleared,
    config: RunnableConfig,
    *,
    in_place: bool = False,
) -> tuple[Span, RunnableConfig, dict[str, Any] | None]:
    """Trace one call guarded execution settled: its `interlock.execute` span (left open for
    the tool run when it runs, ended here when it does not), the config the tool runs with
    (its verdict in metadata and tags when a handler listens; `in_place` for a config the
    caller cannot replace), and the verdict to `announce` (None when nobody listens)."""
    v, scope = runner.verdict, runner.scope
    ran = not isinstance(out, ToolMessage)
    if isinstance(out, ToolMessage):
        outcome, digest = runner.ended or (v.kind, None)
    else:
        outcome, digest = ("approved" if out.approved else "allow"), out.digest
    span = _tracer.start_span("interlock.execute")
    hear = listening(config)
    if not (hear or span.is_recording()):
        if not ran:
            span.end()
        return span, config, None
    review_id = _review_id(scope, runner.record, digest)
    if span.is_recording():
        _common(span, v, scope)
        span.set_attribute("interlock.outcome", outcome)
        span.set_attribute("interlock.digest", digest or "")
        span.set_attribute("interlock.review_id", review_id or "")
        if not ran:
            span.set_attribute("interlock.status", "not_run")
            span.end()
    if not hear:
        return span, config, None
    info = verdict_info(
        v, outcome, policy_version=gate.policy.version, digest=digest, review_id=review_id
    )
    if ran and in_place:
        # The per-call config ToolNode made for this call (its own copy): the tool runs
        # with this very object, so the verdict is written into it.
        config.setdefault("metadata", {})[VERDICT_EVENT] = dict(info)
        config.setdefault("tags", []).extend(_tags(info))
    elif ran:
        config = tag_config(config, info)
    return span, config, info


def end_execute(span: Span, *, ledger: str, status: str) -> None:
    """End the `interlock.execute` span of a call that ran: how its ledger row was opened
    (`started`, or `rerun` for an idempotent rerun) and how it ended."""
    if span.is_recording():
        span.set_attribute("interlock.ledger", ledger)
        span.set_attribute("interlock.status", status)
        if status == "failed":
            span.set_status(StatusCode.ERROR)
    span.end()


@contextlib.contextmanager
def current(span: Span) -> Iterator[None]:
    """`span` as the current span while the tool runs (its own spans nest under it)."""
    if not span.is_recording():
        yield
        return
    with trace.use_span(span, end_on_exit=False, record_exception=False):
        yield


async def traced(span: Span, pending: Awaitable[T]) -> T:
    """Await an async tool call with `span` current."""
    with current(span):
        return await pending


def record_review(
    scope: RunScope,
    request: Mapping[str, Any],
    decisions: Sequence[Mapping[str, Any]] | None,
    error: str = "",
) -> None:
    """Record the `interlock.review` span of a review whose answer is being applied: from its
    opening (`opened_at`) to now. `decisions` None: the answer was refused (`error`)."""
    opened = request.get("opened_at")
    start = int(datetime.fromisoformat(opened).timestamp() * 1e9) if opened else None
    span = _tracer.start_span("interlock.review", start_time=start)
    if span.is_recording():
        actions = request.get("action_requests") or []
        span.set_attribute("interlock.review_id", str(request.get("interrupt_id") or ""))
        span.set_attribute("interlock.thread_id", scope.thread_id)
        span.set_attribute("interlock.round", int(request.get("round") or 1))
        span.set_attribute("interlock.tools", [str(a.get("name")) for a in actions])
        span.set_attribute("interlock.digests", [str(a.get("digest") or "") for a in actions])
        levels = [str((a.get("assessment") or {}).get("level") or "") for a in actions]
        span.set_attribute("interlock.levels", levels)
        if decisions is None:
            span.set_attribute("interlock.outcome", "refused")
            span.set_attribute("interlock.error", error)
        else:
            span.set_attribute("interlock.outcome", "decided")
            span.set_attribute("interlock.decisions", [str(d.get("type")) for d in decisions])
            who = sorted({str(d.get("reviewer")) for d in decisions if d.get("reviewer")})
            span.set_attribute("interlock.reviewers", who)
    span.end()
