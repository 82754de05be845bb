"""Value types of the risk engine: what an action is and what an assessment says."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Literal, get_args

from interlock.risk._session_types import Session
from interlock.risk.errors import ActionError

__all__ = [
    "EFFECTS",
    "LEVELS",
    "OUTCOMES",
    "Action",
    "ApprovalRequirement",
    "Assessment",
    "Context",
    "Credential",
    "Effect",
    "Level",
    "Outcome",
    "Reason",
    "Resource",
    "RouteMatch",
    "canonical_json",
    "content_hash",
    "utcnow",
]

Effect = Literal["read", "write", "delete", "destroy", "access", "network", "config", "spend"]
Level = Literal["low", "medium", "high", "critical"]
Outcome = Literal["allow", "review", "deny"]

EFFECTS: tuple[Effect, ...] = get_args(Effect)
LEVELS: tuple[Level, ...] = get_args(Level)
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)


def utcnow() -> datetime:
    """The default clock everywhere: now, in UTC."""
    return datetime.now(UTC)


# What `json.dumps(value, sort_keys=True, ...)` builds on each call, built once.
_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
)


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace: the form every digest and version is taken over."""
    return _CANONICAL.encode(value)


def _freeze(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True, kw_only=True)
class Resource:
    """The target of an action, as far as the tool can tell."""

    type: str = ""
    id: str = ""
    attributes: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "attributes", _freeze(self.attributes))

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "id": self.id, "attributes": dict(self.attributes)}


@dataclass(frozen=True, kw_only=True)
class Credential:
    """The credential the agent acts with.

    `environments` lists where it reaches; `"*"` means everywhere.
    """

    name: str = ""
    environments: frozenset[str] = frozenset()
    permissions: frozenset[str] = frozenset()

    def reaches_beyond(self, environment: str | None) -> bool:
        """True when the credential is scoped wider than the one environment of the task.

        A credential that states no scope at all is treated as reaching everywhere: an
        unscoped token is exactly the kind that deleted a production volume.
        """
        if not self.environments or "*" in self.environments:
            return True
        return bool(self.environments - ({environment} if environment else set()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "environments": sorted(self.environments),
            "permissions": sorted(self.permissions),
        }


@dataclass(frozen=True, kw_only=True)
class Action:
    """A tool call an agent proposes, with what the policy may know about its target.

    `effects=None` means the tool declared nothing: the engine treats it as unknown and
    fails closed to review.
    """

    tool: str
    args: Mapping[str, Any] = field(default_factory=dict)
    environment: str | None = None
    resource: Resource | None = None
    effects: frozenset[Effect] | None = None
    reversible: bool | None = None
    agent: str | None = None
    credential: Credential | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.tool, str) or not self.tool:
            msg = f"Action.tool must be a non-empty string, got {self.tool!r}."
            raise ActionError(msg)
        for name in ("environment", "agent"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                msg = f"Action.{name} must be a string or None, got {type(value).__name__}."
                raise ActionError(msg)
        object.__setattr__(self, "args", _freeze(self.args))
        if self.effects is not None:
            bad = sorted(str(e) for e in self.effects if e not in EFFECTS)
            if bad:
                msg = (
                    f"Action {self.tool!r} declares unknown effects {bad}; "
                    f"allowed: {', '.join(EFFECTS)}."
                )
                raise ActionError(msg)
            object.__setattr__(self, "effects", frozenset(self.effects))

    def to_dict(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "args": _plain(self.args),
            "environment": self.environment,
            "resource": self.resource.to_dict() if self.resource else None,
            "effects": sorted(self.effects) if self.effects is not None else None,
            "reversible": self.reversible,
            "agent": self.agent,
            "credential": self.credential.to_dict() if self.credential else None,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Action:
        """Build an action from JSON-like data, with errors that say what to fix."""
        return _action_from_dict(data)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


_ACTION_FIELDS = (
    "tool",
    "args",
    "environment",
    "resource",
    "effects",
    "reversible",
    "agent",
    "credential",
)


# A corpus line's own fields around the action (see interlock.risk._corpus).
_CORPUS_FIELDS = frozenset({"expected", "note", "id", "session"})


def _action_from_dict(data: Any) -> Action:
    if not isinstance(data, Mapping):
        msg = f"An action must be a JSON object, got {type(data).__name__}."
        raise ActionError(msg)
    unknown = sorted(set(map(str, data)) - set(_ACTION_FIELDS) - _CORPUS_FIELDS)
    if unknown:
        msg = f"Unknown action fields {unknown}; allowed: {', '.join(_ACTION_FIELDS)}."
        raise ActionError(msg)
    args = data.get("args") or {}
    if not isinstance(args, Mapping):
        msg = f"Action 'args' must be an object, got {type(args).__name__}."
        raise ActionError(msg)
    env = data.get("environment")
    if env is not None and not isinstance(env, str):
        msg = f"Action 'environment' must be a string, got {env!r}."
        raise ActionError(msg)
    resource = None
    raw_res = data.get("resource")
    if raw_res is not None:
        if not isinstance(raw_res, Mapping):
            msg = f"Action 'resource' must be an object with type, id, attributes; got {raw_res!r}."
            raise ActionError(msg)
        attrs = raw_res.get("attributes") or {}
        if not isinstance(attrs, Mapping):
            msg = "Action 'resource.attributes' must be an object."
            raise ActionError(msg)
        resource = Resource(
            type=str(raw_res.get("type", "")), id=str(raw_res.get("id", "")), attributes=attrs
        )
    effects = data.get("effects")
    if effects is not None:
        if isinstance(effects, str) or not isinstance(effects, list | tuple):
            msg = f"Action 'effects' must be a list such as [\"read\"], got {effects!r}."
            raise ActionError(msg)
        effects = frozenset(effects)
    reversible = data.get("reversible")
    if reversible is not None and not isinstance(reversible, bool):
        msg = f"Action 'reversible' must be true or false, got {reversible!r}."
        raise ActionError(msg)
    credential = None
    raw_cred = data.get("credential")
    if raw_cred is not None:
        if not isinstance(raw_cred, Mapping):
            msg = "Action 'credential' must be an object with name, environments, permissions."
            raise ActionError(msg)
        envs = raw_cred.get("environments") or []
        perms = raw_cred.get("permissions") or []
        if isinstance(envs, str) or isinstance(perms, str):
            msg = "Credential 'environments' and 'permissions' must be lists of strings."
            raise ActionError(msg)
        credential = Credential(
            name=str(raw_cred.get("name", "")),
            environments=frozenset(map(str, envs)),
            permissions=frozenset(map(str, perms)),
        )
    agent = data.get("agent")
    return Action(
        tool=data.get("tool"),  # type: ignore[arg-type]  # validated in __post_init__
        args=args,
        environment=env,
        resource=resource,
        effects=effects,
        reversible=reversible,
        agent=str(agent) if agent is not None else None,
        credential=credential,
    )


@dataclass(frozen=True, kw_only=True)
class Context:
    """What the engine knows besides the action: the time, scopes an admin stopped, and
    what the thread did before (`session`; None is a fresh thread)."""

    now: datetime = field(default_factory=utcnow)
    stopped_agents: frozenset[str] = frozenset()
    stopped_environments: frozenset[str] = frozenset()
    session: Session | None = None


@dataclass(frozen=True, kw_only=True)
class Reason:
    """One line of the explanation: which rule, what it means, what it added."""

    rule: str
    text: str
    points: int = 0
    floor: Level | None = None
    outcome: Outcome | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "text": self.text,
            "points": self.points,
            "floor": self.floor,
            "outcome": self.outcome,
        }


@dataclass(frozen=True, kw_only=True)
class ApprovalRequirement:
    """`count` distinct approvers, each holding one of `roles`."""

    roles: tuple[str, ...]
    count: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {"roles": list(self.roles), "count": self.count}


@dataclass(frozen=True, kw_only=True)
class RouteMatch:
    """Which team a review of this action is told to, and why. Who may *decide* is still
    `Assessment.approval` (roles and separation of duties), never the route."""

    team: str
    route: str
    """The route that matched: its `name`, `routes[i]`, or `default_team`."""
    why: str
    """One line a reviewer reads: the route and the facts it matched on."""

    def to_dict(self) -> dict[str, str]:
        return {"team": self.team, "route": self.route, "why": self.why}


@dataclass(frozen=True, kw_only=True)
class Assessment:
    """The engine's verdict on one action."""

    score: int
    level: Level
    outcome: Outcome
    reasons: tuple[Reason, ...]
    approval: ApprovalRequirement | None
    policy_version: str
    signals: frozenset[str] = frozenset()
    effects: frozenset[str] | None = None
    """What the action does, as the engine took it (declared, defaulted, analysed)."""
    route: RouteMatch | None = None
    """The team a review is told to (None: the policy has no routes or default team)."""

    def to_dict(self) -> dict[str, Any]:
        # `route` only when there is one, so earlier audit rows read back unchanged.
        extra = {"route": self.route.to_dict()} if self.route is not None else {}
        return extra | {
            "score": self.score,
            "level": self.level,
            "outcome": self.outcome,
            "reasons": [r.to_dict() for r in self.reasons],
            "approval": self.approval.to_dict() if self.approval else None,
            "policy_version": self.policy_version,
            "signals": sorted(self.signals),
        }


def content_hash(value: Any) -> str:
    """SHA-256 hex of the canonical JSON of `value`."""
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()
