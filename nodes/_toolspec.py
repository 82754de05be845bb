"""What a tool declares about itself so the gate can assess its calls.

The metadata is a frozen `ToolSpec` kept in `tool.metadata["interlock"]`. Attach it with
`gated(tool, effects=...)` or the decorator form `@gated(effects=...)` stacked over `@tool`.
A tool without a spec is unknown to the gate, and the risk engine fails closed to review.

A gated tool also fails closed where no gate governs it: invoked by a plain `ToolNode`, by
`create_agent` without `InterlockMiddleware`, or directly, it raises `ExecutionRefused` and
does not run. Guarded execution marks the one call it cleared (`governed`). Opt out per tool
with `gated(..., ungoverned="allow")`, or for a block of code (a unit test of the tool
itself, a script) with `with allow_ungoverned(): ...`.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, cast, overload

from langchain_core.callbacks import BaseCallbackHandler, BaseCallbackManager
from langchain_core.tools import BaseTool

from interlock.nodes._payloads import DECISION_TYPES, DecisionType
from interlock.risk import EFFECTS, Credential, Effect, Resource
from interlock.risk.errors import ConfigError, ExecutionRefused

__all__ = [
    "METADATA_KEY",
    "ToolSpec",
    "Ungoverned",
    "allow_ungoverned",
    "gated",
    "governed",
    "is_governed",
    "spec_of",
    "unguarded",
]

METADATA_KEY = "interlock"

Args = Mapping[str, Any]
Ungoverned = Literal["refuse", "allow"]
T = TypeVar("T")

# The tool whose call guarded execution cleared, in this context (a thread, an asyncio task,
# or ToolNode's per-call copy of the context): a gated tool runs only as that call.
_GOVERNED: ContextVar[str | None] = ContextVar("interlock_governed_tool", default=None)
_ALLOWED: ContextVar[bool] = ContextVar("interlock_allow_ungoverned", default=False)


@dataclass(frozen=True, kw_only=True)
class ToolSpec:
    """A tool's honest declaration of what its calls do.

    - `effects`: what a call does (read, write, delete, destroy, access, network, config,
      spend).
    - `reversible`: whether a call can be undone; `None` when it depends or is unknown.
    - `idempotent`: whether running the same call twice is harmless. Only an idempotent tool
      may be retried after a crash left its outcome unknown.
    - `environment`: a fixed environment name, or a function of the call's args.
    - `resource`: a function of the args that finds the target and what is known about it.
    - `credential`: a function of the args naming the credential the call acts with; when it
      returns None, the run's credential applies.
    - `preview`: a dry run, a function of the args returning one or two sentences that say
      what would happen. It must have no side effect: it runs before the human decides.
    - `allowed_decisions`: what a reviewer may answer for this tool.
    - `ungoverned`: what a call does where no Interlock gate governs it: "refuse" (the
      default: it raises `ExecutionRefused` and does not run) or "allow".
    - `untrusted`: its results are content the user did not write (a web page, an email, a
      document); session-aware rules see that the thread read untrusted content.
    - `trusted_fields`: for an untrusted tool whose results are structured (JSON or YAML),
      the keys whose values the service itself records rather than the content's author: a
      message's sender, an event's participants, a file's id and sharing list. Addresses and
      ids under them count as seen; the rest of the result stays untrusted. A result that
      does not parse is untrusted as a whole. Name them only where the service builds the
      result's structure (never for a raw page or mail, whose text could write "sender:").
    """

    effects: frozenset[Effect]
    reversible: bool | None = None
    idempotent: bool = False
    environment: str | Callable[[Args], str | None] | None = None
    resource: Callable[[Args], Resource | None] | None = None
    credential: Callable[[Args], Credential | None] | None = None
    preview: Callable[[Args], str] | None = None
    allowed_decisions: tuple[DecisionType, ...] = DECISION_TYPES
    ungoverned: Ungoverned = "refuse"
    untrusted: bool = False
    trusted_fields: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        fields = frozenset(self.trusted_fields)
        if fields and (not self.untrusted or not all(isinstance(f, str) for f in fields)):
            msg = (
                "ToolSpec trusted_fields names keys of an untrusted tool's structured result; "
                "set untrusted=True, and give the keys as strings."
            )
            raise ConfigError(msg)
        object.__setattr__(self, "trusted_fields", fields)
        effects = frozenset(self.effects)
        bad = sorted(str(e) for e in effects if e not in EFFECTS)
        if bad or not effects:
            msg = (
                f"ToolSpec effects {sorted(map(str, effects))} are not valid; declare at least "
                f"one of: {', '.join(EFFECTS)}."
            )
            raise ConfigError(msg)
        object.__setattr__(self, "effects", effects)
        decisions = tuple(self.allowed_decisions)
        wrong = [d for d in decisions if d not in DECISION_TYPES]
        if wrong or not decisions:
            msg = (
                f"ToolSpec allowed_decisions {list(decisions)} are not valid; "
                f"choose from {', '.join(DECISION_TYPES)}."
            )
            raise ConfigError(msg)
        object.__setattr__(self, "allowed_decisions", decisions)
        if self.ungoverned not in ("refuse", "allow"):
            msg = f"ToolSpec ungoverned={self.ungoverned!r} is not valid; use 'refuse' or 'allow'."
            raise ConfigError(msg)

    def environment_of(self, args: Args) -> str | None:
        env = self.environment
        return env(args) if callable(env) else env


def spec_of(tool: BaseTool) -> ToolSpec | None:
    """The spec attached to `tool`, or None when the tool declared nothing."""
    spec = (tool.metadata or {}).get(METADATA_KEY)
    return spec if isinstance(spec, ToolSpec) else None


@contextmanager
def allow_ungoverned() -> Iterator[None]:
    """Let gated tools run ungoverned inside this block (tests of a tool, scripts). Nothing
    is assessed, approved or recorded there: use it only where no agent proposes calls."""
    token = _ALLOWED.set(True)
    try:
        yield
    finally:
        _ALLOWED.reset(token)


def is_governed(tool: str) -> bool:
    """Whether a call to `tool` may run here: guarded execution cleared it, or the block
    allows ungoverned calls."""
    return _ALLOWED.get() or _GOVERNED.get() == tool


async def _await_governed(awaitable: Awaitable[T], tool: str) -> T:
    token = _GOVERNED.set(tool)
    try:
        return await awaitable
    finally:
        _GOVERNED.reset(token)


def governed(run: Callable[[], T], tool: str) -> Callable[[], T]:
    """`run` (a call of `tool` that guarded execution cleared) marked as governed while it
    runs; when it returns an awaitable, while that is awaited."""

    def call() -> T:
        token = _GOVERNED.set(tool)
        try:
            out = run()
        finally:
            _GOVERNED.reset(token)
        if inspect.isawaitable(out):
            return cast(T, _await_governed(out, tool))
        return out

    return call


class _Guard(BaseCallbackHandler):
    """Refuses a gated tool's start where no gate governs it. A tool's own callbacks run at
    every start, however it is invoked (ToolNode, `create_agent`, directly)."""

    raise_error = True  # a callback's error otherwise only warns: the tool would run
    run_inline = True  # in the caller's context, where the governed mark is

    def on_tool_start(self, serialized: dict[str, Any], input_str: str, **kwargs: Any) -> None:
        name = str((serialized or {}).get("name") or "")
        if is_governed(name):
            return
        msg = (
            f"Refused to run {name}: it is @gated, and no Interlock gate governs this call "
            "(a plain ToolNode, or create_agent without InterlockMiddleware). It was not run. "
            "Add InterlockMiddleware, use the gated tool step, or opt out explicitly with "
            "gated(..., ungoverned='allow') or `with allow_ungoverned():`."
        )
        raise ExecutionRefused(msg)


_GUARD = _Guard()


def _guard(tool: BaseTool, spec: ToolSpec) -> None:
    refuse, found = spec.ungoverned == "refuse", tool.callbacks
    if isinstance(found, BaseCallbackManager):
        if _GUARD in found.handlers:
            found.remove_handler(_GUARD)
        if refuse:
            found.add_handler(_GUARD, inherit=False)
        return
    kept = [h for h in found or [] if h is not _GUARD]
    tool.callbacks = [*kept, _GUARD] if refuse else (kept or None)


# Per tool object: the tool, its fields and callbacks as they were, its copy without the guard.
_UNGUARDED: dict[int, tuple[BaseTool, tuple[Any, ...], tuple[Any, ...], BaseTool]] = {}


def unguarded(tool: BaseTool) -> BaseTool:
    """`tool` without the guard, for a call guarded execution cleared and runs in
    `governed`: the gate governs that call, so the guard (a callback LangChain dispatches at
    each start and end of the tool) could only let it pass. The copy is made once per tool,
    and again when any of the tool's fields changed since; a tool whose callbacks are not a
    list holding the guard is returned as it is."""
    found = tool.callbacks
    if not isinstance(found, list) or _GUARD not in found:
        return tool
    fields, handlers = tuple(vars(tool).values()), tuple(found)
    hit = _UNGUARDED.get(id(tool))
    if hit is not None and hit[0] is tool and hit[1] == fields and hit[2] == handlers:
        return hit[3]
    kept = [h for h in found if h is not _GUARD]
    copy = tool.model_copy(update={"callbacks": kept or None})
    if len(_UNGUARDED) >= 1024:
        _UNGUARDED.clear()
    _UNGUARDED[id(tool)] = (tool, fields, handlers, copy)
    return copy


def _attach(tool: Any, spec: ToolSpec) -> BaseTool:
    if not isinstance(tool, BaseTool):
        msg = (
            f"gated() expects a LangChain tool (BaseTool), got {type(tool).__name__}; "
            "decorate the function with @tool first."
        )
        raise ConfigError(msg)
    tool.metadata = {**(tool.metadata or {}), METADATA_KEY: spec}
    _guard(tool, spec)
    return tool


@overload
def gated(
    tool: BaseTool,
    *,
    effects: Collection[Effect],
    reversible: bool | None = ...,
    idempotent: bool = ...,
    environment: str | Callable[[Args], str | None] | None = ...,
    resource: Callable[[Args], Resource | None] | None = ...,
    credential: Callable[[Args], Credential | None] | None = ...,
    preview: Callable[[Args], str] | None = ...,
    allowed_decisions: Collection[DecisionType] = ...,
    ungoverned: Ungoverned = ...,
    untrusted: bool = ...,
    trusted_fields: Collection[str] = ...,
) -> BaseTool: ...


@overload
def gated(
    tool: None = None,
    *,
    effects: Collection[Effect],
    reversible: bool | None = ...,
    idempotent: bool = ...,
    environment: str | Callable[[Args], str | None] | None = ...,
    resource: Callable[[Args], Resource | None] | None = ...,
    credential: Callable[[Args], Credential | None] | None = ...,
    preview: Callable[[Args], str] | None = ...,
    allowed_decisions: Collection[DecisionType] = ...,
    ungoverned: Ungoverned = ...,
    untrusted: bool = ...,
    trusted_fields: Collection[str] = ...,
) -> Callable[[BaseTool], BaseTool]: ...


def gated(
    tool: BaseTool | None = None,
    *,
    effects: Collection[Effect],
    reversible: bool | None = None,
    idempotent: bool = False,
    environment: str | Callable[[Args], str | None] | None = None,
    resource: Callable[[Args], Resource | None] | None = None,
    credential: Callable[[Args], Credential | None] | None = None,
    preview: Callable[[Args], str] | None = None,
    allowed_decisions: Collection[DecisionType] = DECISION_TYPES,
    ungoverned: Ungoverned = "refuse",
    untrusted: bool = False,
    trusted_fields: Collection[str] = (),
) -> BaseTool | Callable[[BaseTool], BaseTool]:
    """Declare a tool's metadata: `gated(my_tool, effects={"read"})` or `@gated(...)`.

    The tool then refuses to run where no Interlock gate governs the call, unless
    `ungoverned="allow"`."""
    spec = ToolSpec(
        effects=frozenset(effects),
        reversible=reversible,
        idempotent=idempotent,
        environment=environment,
        resource=resource,
        credential=credential,
        preview=preview,
        allowed_decisions=tuple(allowed_decisions),
        ungoverned=ungoverned,
        untrusted=untrusted,
        trusted_fields=frozenset(trusted_fields),
    )
    if tool is not None:
        return _attach(tool, spec)

    def decorate(t: BaseTool) -> BaseTool:
        return _attach(t, spec)

    return decorate
