"""The Policy: rules, thresholds and approvals, from YAML or built in Python.

A `Policy` is what the author wrote, validated. Constructing one also compiles it into the
engine's `CompiledPolicy`, which `assess()` evaluates; the policy itself is never written to
afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from interlock.risk._conditions import Check, Freeze
from interlock.risk._engine import CompiledPolicy
from interlock.risk._model import (
    Action,
    Assessment,
    Context,
    Level,
    Outcome,
    content_hash,
)
from interlock.risk._policy_parse import LOADING, parse_top, validate_policy
from interlock.risk._policy_types import (
    DEFAULT_LEVELS,
    DEFAULT_OUTCOMES,
    ApprovalSpec,
    ParseContext,
    Rule,
    ToolDefaults,
)
from interlock.risk._routes import CompiledRoutes, Route
from interlock.risk._yaml import Lines, load_located, read_text

__all__ = [
    "BUNDLED_POLICIES",
    "ApprovalSpec",
    "Policy",
    "Route",
    "Rule",
    "ToolDefaults",
    "assess",
    "assess_with",
    "assistant_policy",
    "bundled_policy_path",
    "default_policy",
    "load_policy",
    "policy_from_text",
]


@dataclass(frozen=True, kw_only=True)
class Policy:
    """A complete, validated policy. Construct it in Python or with `load_policy()`.

    `roles` is a seniority ladder, junior first: a requirement for a role is met by that role
    or any more senior one, and expiry escalates one rung up.

    `routes` (first match wins), `default_team` and `escalation_teams` (role -> team) say which
    team a review is told to (`Assessment.route`); they never change who may decide.
    """

    name: str
    rules: tuple[Rule, ...]
    roles: tuple[str, ...] = ("oncall", "sre-lead", "admin")
    levels: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_LEVELS))
    outcomes: Mapping[str, Outcome] = field(default_factory=lambda: dict(DEFAULT_OUTCOMES))
    approvals: Mapping[str, ApprovalSpec] = field(default_factory=dict)
    tools: Mapping[str, ToolDefaults] = field(default_factory=dict)
    freezes: tuple[Freeze, ...] = ()
    fail_closed_level: Level = "high"
    routes: tuple[Route, ...] = ()
    default_team: str | None = None
    escalation_teams: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    source: str | None = None

    version: str = field(init=False, default="")
    _engine: CompiledPolicy = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        data = self.to_dict()
        ctx = LOADING.get() or ParseContext(self.source, None)
        try:
            rules = validate_policy(data, ctx)
            version = content_hash(data)[:16]
        except RecursionError:
            msg = "the policy's conditions nest too deeply to check; flatten its `when` blocks."
            raise ctx.error(msg, ("rules",)) from None
        # Derived once, at construction, like `version`: nothing writes to a policy later.
        object.__setattr__(self, "version", version)
        engine = CompiledPolicy(
            rules=rules,
            roles=self.roles,
            levels=self.levels,
            outcomes=self.outcomes,
            approvals=self.approvals,
            tools=self.tools,
            freezes=self.freezes,
            fail_closed_level=self.fail_closed_level,
            version=version,
            routing=CompiledRoutes(self.routes, self.default_team, self.escalation_teams),
        )
        object.__setattr__(self, "_engine", engine)

    def to_dict(self) -> dict[str, Any]:
        """The canonical content; the version is a hash of exactly this."""
        return {
            "name": self.name,
            "description": self.description,
            "roles": list(self.roles),
            "levels": dict(self.levels),
            "outcomes": dict(self.outcomes),
            "approvals": {
                k: {"roles": list(v.roles), "count": v.count} for k, v in self.approvals.items()
            },
            "tools": {
                # `untrusted` only when set, so the versions of earlier policies stay.
                k: {"effects": sorted(v.effects), "reversible": v.reversible}
                | ({"untrusted": True} if v.untrusted else {})
                for k, v in self.tools.items()
            },
            "freezes": [
                {
                    "name": f.name,
                    "timezone": f.timezone,
                    "start": f.start.isoformat(),
                    "end": f.end.isoformat(),
                    "environments": sorted(f.environments),
                }
                for f in self.freezes
            ],
            "fail_closed_level": self.fail_closed_level,
            "rules": [r.to_dict() for r in self.rules],
        } | self._routing_dict()

    def _routing_dict(self) -> dict[str, Any]:
        # Only the keys a policy sets, so the versions of policies without routes stay.
        out: dict[str, Any] = {}
        if self.routes:
            out["routes"] = [r.to_dict() for r in self.routes]
        if self.default_team is not None:
            out["default_team"] = self.default_team
        if self.escalation_teams:
            out["escalation_teams"] = dict(self.escalation_teams)
        return out

    def escalation_team(self, role: str) -> str | None:
        """The team told when a review escalates to `role`; None keeps the review's team."""
        return self.escalation_teams.get(role)

    @classmethod
    def from_dict(
        cls, data: Any, *, source: str | None = None, lines: Lines | None = None
    ) -> Policy:
        """Build from plain data (parsed YAML), with errors naming the field and line."""
        ctx = ParseContext(source, lines)
        kwargs = parse_top(data, ctx)
        token = LOADING.set(ctx)
        try:
            return cls(**kwargs, source=source)
        finally:
            LOADING.reset(token)

    def assess(self, action: Action, context: Context | None = None) -> Assessment:
        """Score `action` under this policy. Never raises for a well-formed action."""
        return self._engine.assess(action, context)

    def tool_defaults(self, tool: str) -> ToolDefaults | None:
        """The `tools:` entry that applies to `tool`: its exact key, then any case, then the
        first matching glob (None: the tool is on no list)."""
        found: ToolDefaults | None = self._engine.tools.match(tool)
        return found

    def rank(self, role: str) -> int:
        """Seniority of `role` on the ladder; -1 when it is not on it."""
        return self._engine.rank(role)

    def compiled(self) -> list[tuple[Rule, list[Check]]]:
        """Each rule with its compiled checks, in policy order."""
        return self._engine.rules

    @property
    def engine(self) -> CompiledPolicy:
        """The compiled form `assess()` evaluates (its candidate cache can be cleared)."""
        return self._engine


def load_policy(path: str | Path) -> Policy:
    """Load and validate a YAML policy; errors name the file, line and field."""
    p = Path(path)
    return policy_from_text(read_text(p), str(p))


def policy_from_text(text: str, source: str) -> Policy:
    """Validate a YAML policy held as text (`source` names where it came from in errors)."""
    data, lines = load_located(text, source)
    return Policy.from_dict(data, source=source, lines=lines)


_BUNDLED: dict[str, Policy] = {}
BUNDLED_POLICIES = ("default", "assistant")
"""The names of the policies bundled with Interlock (`bundled_policy_path(name)`)."""


def bundled_policy_path(name: str = "default") -> Path:
    """Where a bundled policy's YAML is (`default` or `assistant`), to copy or pass on."""
    if name not in BUNDLED_POLICIES:
        msg = f"no bundled policy {name!r}; bundled: {', '.join(BUNDLED_POLICIES)}."
        raise ValueError(msg)
    return Path(str(resources.files("interlock.risk").joinpath(f"policies/{name}.yaml")))


def _bundled(name: str) -> Policy:
    found = _BUNDLED.get(name)
    if found is None:
        ref = resources.files("interlock.risk").joinpath(f"policies/{name}.yaml")
        text = ref.read_text(encoding="utf-8")
        data, lines = load_located(text, f"{name}.yaml")
        found = _BUNDLED[name] = Policy.from_dict(data, source=f"{name}.yaml", lines=lines)
    return found


def default_policy() -> Policy:
    """The bundled policy (`risk/policies/default.yaml`), loaded once."""
    return _bundled("default")


def assistant_policy() -> Policy:
    """The bundled personal-assistant profile (`risk/policies/assistant.yaml`), loaded once:
    for agents with a person's email, calendar, files, payments, bookings and chat, where the
    session rules stop what injected content steers towards a new recipient, payee or URL."""
    return _bundled("assistant")


def assess(
    action: Action, context: Context | None = None, *, policy: Policy | None = None
) -> Assessment:
    """Score `action` under `policy` (the bundled default when omitted)."""
    return (policy or default_policy())._engine.assess(action, context)


def assess_with(policy: Policy, action: Action, context: Context | None = None) -> Assessment:
    """`policy.assess(action, context)`, kept for callers of the earlier name."""
    return policy._engine.assess(action, context)
