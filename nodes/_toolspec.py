"""What a tool declares about itself so the gate can assess its calls.

The metadata is a frozen `ToolSpec` kept in `tool.metadata["interlock"]`. Attach it with
`gated(tool, effects=...)` or the decorator form `@gated(effects=...)` stacked over `@tool`.
A tool without a spec is unknown to the gate, and the risk engine fails closed to review.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, overload

from langchain_core.tools import BaseTool

from interlock.nodes._payloads import DECISION_TYPES, DecisionType
from interlock.risk import EFFECTS, Credential, Effect, Resource
from interlock.risk.errors import ConfigError

__all__ = ["METADATA_KEY", "ToolSpec", "gated", "spec_of"]

METADATA_KEY = "interlock"

Args = Mapping[str, Any]


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
    """

    effects: frozenset[Effect]
    reversible: bool | None = None
    idempotent: bool = False
    environment: str | Callable[[Args], str | None] | None = None
    resource: Callable[[Args], Resource | None] | None = None
    credential: Callable[[Args], Credential | None] | None = None
    preview: Callable[[Args], str] | None = None
    allowed_decisions: tuple[DecisionType, ...] = DECISION_TYPES

    def __post_init__(self) -> None:
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

    def environment_of(self, args: Args) -> str | None:
        env = self.environment
        return env(args) if callable(env) else env


def spec_of(tool: BaseTool) -> ToolSpec | None:
    """The spec attached to `tool`, or None when the tool declared nothing."""
    spec = (tool.metadata or {}).get(METADATA_KEY)
    return spec if isinstance(spec, ToolSpec) else None


def _attach(tool: Any, spec: ToolSpec) -> BaseTool:
    if not isinstance(tool, BaseTool):
        msg = (
            f"gated() expects a LangChain tool (BaseTool), got {type(tool).__name__}; "
            "decorate the function with @tool first."
        )
        raise ConfigError(msg)
    tool.metadata = {**(tool.metadata or {}), METADATA_KEY: spec}
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
) -> BaseTool | Callable[[BaseTool], BaseTool]:
    """Declare a tool's metadata: `gated(my_tool, effects={"read"})` or `@gated(...)`."""
    spec = ToolSpec(
        effects=frozenset(effects),
        reversible=reversible,
        idempotent=idempotent,
        environment=environment,
        resource=resource,
        credential=credential,
        preview=preview,
        allowed_decisions=tuple(allowed_decisions),
    )
    if tool is not None:
        return _attach(tool, spec)

    def decorate(t: BaseTool) -> BaseTool:
        return _attach(t, spec)

    return decorate
