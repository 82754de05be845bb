"""What a tool declares about itself so the gate can assess its calls.

The metadata is a frozen `ToolSpec` kept in `tool.metadata["interlock"]`. Attach it with
`gated(tool, effects=...)` or the decorator form `@gated(effects=...)` stacked over `@tool`.
A tool without a spec is unknown to the gate, and the risk engine fails closed to review.

A gated tool also fails closed where no gate governs it: invoked by a plain `ToolNode`, by
`create_agent` without `InterlockMiddleware`, or directly, it raises `ExecutionRefused` and
does not run. Guarded execution marks the one call it cleared (`governed`). Opt out per tool
with `gated(..., ungoverned="allow")`, for a block of code (a unit test of the tool
itself, a script) with `with allow_ungoverned(): ...`, or take a plain copy with
`ungated(tool)`. The guard is in the tool's class, so copies keep it and replacing the
tool's callbacks or metadata does not lift it.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, cast, overload

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
    "ungated",
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


def _refusal(name: str) -> ExecutionRefused:
    msg = (
        f"Refused to run {name}: it is @gated, and no Interlock gate governs this call "
        "(a plain ToolNode, or create_agent without InterlockMiddleware). It was not run. "
        "Add InterlockMiddleware, use the gated tool step, or opt out explicitly with "
        "gated(..., ungoverned='allow') or `with allow_ungoverned():`."
    )
    return ExecutionRefused(msg)


def _check(tool: BaseTool) -> None:
    if is_governed(tool.name):
        return
    spec = spec_of(tool)
    # A tool that lost its spec (metadata replaced) stays refused: it was gated.
    if spec is None or spec.ungoverned == "refuse":
        raise _refusal(tool.name)


# The guard lives in the tool's class, not in a field: `run` and `arun` are where every
# invocation goes (invoke, ainvoke, ToolNode, create_agent), and a field such as
# `callbacks` is replaced by a plain `model_copy(update=...)` or an assignment, which would
# let the tool run ungoverned without anyone opting out. Copies keep the class.
_GUARDED: dict[type[BaseTool], type[BaseTool]] = {}
_ORIGINAL: dict[type[BaseTool], type[BaseTool]] = {}


def _guarded_class(cls: type[BaseTool]) -> type[BaseTool]:
    if cls in _ORIGINAL:
        return cls
    found = _GUARDED.get(cls)
    if found is not None:
        return found

    def run(self: BaseTool, *args: Any, **kwargs: Any) -> Any:
        _check(self)
        return cls.run(self, *args, **kwargs)

    async def arun(self: BaseTool, *args: Any, **kwargs: Any) -> Any:
        _check(self)
        return await cls.arun(self, *args, **kwargs)

    made = cast(
        "type[BaseTool]",
        type(cls.__name__, (cls,), {"run": run, "arun": arun, "__module__": __name__}),
    )
    made.__qualname__ = f"{cls.__qualname__}[gated]"
    _GUARDED[cls], _ORIGINAL[made] = made, cls
    return made


def _guard(tool: BaseTool) -> None:
    object.__setattr__(tool, "__class__", _guarded_class(type(tool)))


def ungated(tool: BaseTool) -> BaseTool:
    """A copy of `tool` as it was before `gated`: no spec and no guard, so it runs wherever
    it is invoked. For baselines and for handing a tool, on purpose, to something Interlock
    does not govern; `tool` itself stays gated."""
    copy = tool.model_copy(deep=False)
    original = _ORIGINAL.get(type(tool))
    if original is not None:
        object.__setattr__(copy, "__class__", original)
    meta = {k: v for k, v in (tool.metadata or {}).items() if k != METADATA_KEY}
    copy.metadata = meta or None
    return copy


def _attach(tool: Any, spec: ToolSpec) -> BaseTool:
    if not isinstance(tool, BaseTool):
        msg = (
            f"gated() expects a LangChain tool (BaseTool), got {type(tool).__name__}; "
            "decorate the function with @tool first."
        )
        raise ConfigError(msg)
    tool.metadata = {**(tool.metadata or {}), METADATA_KEY: spec}
    _guard(tool)
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
