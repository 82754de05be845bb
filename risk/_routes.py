"""Routes: which team a review is *told* to, by environment, agent, tool, level or rule.

A route never says who may decide: the approval roles and separation of duties stay the
authority. Routes are tried in the order the policy lists them and the **first** match wins
(like a firewall's rules: put the narrow routes first); a key a route leaves out matches
anything. When none matches, the policy's `default_team` is told (None when it names none:
the notification settings' default team then hears of it).

`tool`, `agent` and `rule` take shell-style globs (`*sql*`, `prod-*`), matched without regard
to case like the `tools:` aliases; `environment` and `level` are exact names. `rule` matches
when any rule that fired for the action has a matching id.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from interlock.risk._model import LEVELS, RouteMatch
from interlock.risk._policy_types import RULE_ID, ParseContext, Path_
from interlock.risk._regex import compile_glob

__all__ = [
    "ROUTE_KEYS",
    "CompiledRoutes",
    "Route",
    "parse_routing",
    "validate_routing",
]

ROUTE_KEYS = ("name", "team", "environment", "agent", "tool", "level", "rule")
_MATCH_KEYS = ("environment", "agent", "tool", "level", "rule")


@dataclass(frozen=True, kw_only=True)
class Route:
    """Send reviews matching every given key to `team`; an empty key matches anything."""

    team: str
    name: str = ""
    environment: tuple[str, ...] = ()
    agent: tuple[str, ...] = ()
    tool: tuple[str, ...] = ()
    level: tuple[str, ...] = ()
    rule: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"team": self.team}
        if self.name:
            out["name"] = self.name
        for key in _MATCH_KEYS:
            if getattr(self, key):
                out[key] = list(getattr(self, key))
        return out

    def label(self, index: int) -> str:
        return self.name or f"routes[{index}]"


def _names(raw: Any, key: str, path: Path_, ctx: ParseContext) -> tuple[str, ...]:
    values = [raw] if isinstance(raw, str) else raw
    if (
        not isinstance(values, list)
        or not values
        or not all(isinstance(v, str) and v for v in values)
    ):
        msg = f"route `{key}` must be a name or a non-empty list of names, got {raw!r}."
        raise ctx.error(msg, (*path, key))
    return tuple(values)


def parse_routing(data: Mapping[str, Any], ctx: ParseContext) -> dict[str, Any]:
    """The `routes`, `default_team` and `escalation_teams` keys of a policy document."""
    out: dict[str, Any] = {}
    if "routes" in data:
        raw = data["routes"]
        if not isinstance(raw, list):
            msg = "`routes` must be a list of {team, environment?, agent?, tool?, level?, rule?}."
            raise ctx.error(msg, ("routes",))
        out["routes"] = tuple(_parse_route(r, ("routes", i), ctx) for i, r in enumerate(raw))
    if "default_team" in data:
        out["default_team"] = data["default_team"]
    if "escalation_teams" in data:
        raw = data["escalation_teams"]
        if not isinstance(raw, dict):
            msg = "`escalation_teams` must map a role to the team told when a review escalates."
            raise ctx.error(msg, ("escalation_teams",))
        out["escalation_teams"] = dict(raw)
    return out


def _parse_route(raw: Any, path: Path_, ctx: ParseContext) -> Route:
    if not isinstance(raw, dict) or "team" not in raw:
        msg = f"each route is a mapping with `team` and any of {', '.join(_MATCH_KEYS)}."
        raise ctx.error(msg, path)
    unknown = [k for k in raw if k not in ROUTE_KEYS]
    if unknown:
        msg = f"unknown route key {unknown[0]!r}; allowed: {', '.join(ROUTE_KEYS)}."
        raise ctx.error(msg, (*path, unknown[0]))
    name = raw.get("name", "")
    if not isinstance(name, str):
        msg = f"route `name` must be a string, got {name!r}."
        raise ctx.error(msg, (*path, "name"))
    fields = {k: _names(raw[k], k, path, ctx) for k in _MATCH_KEYS if k in raw}
    team = raw["team"]
    if not isinstance(team, str):
        msg = f"route `team` must be a team name like sre, got {team!r}."
        raise ctx.error(msg, (*path, "team"))
    return Route(team=team, name=name, **fields)


def _check_team(team: Any, path: Path_, ctx: ParseContext) -> None:
    if not isinstance(team, str) or not RULE_ID.match(team):
        msg = (
            f"a team name must be a lowercase slug like sre or db-oncall, got {team!r}; "
            "it names a team of the notification settings."
        )
        raise ctx.error(msg, path)


def validate_routing(data: Mapping[str, Any], ctx: ParseContext) -> None:
    """Check the canonical routing content (`Policy.to_dict()`), errors at their lines."""
    roles = data["roles"]
    names: set[str] = set()
    for i, route in enumerate(data.get("routes") or ()):
        path: Path_ = ("routes", i)
        _check_team(route["team"], (*path, "team"), ctx)
        name = route.get("name", "")
        if name and name in names:
            msg = f"route name {name!r} is used twice; names must be unique."
            raise ctx.error(msg, (*path, "name"))
        names.add(name)
        bad = [lv for lv in route.get("level", ()) if lv not in LEVELS]
        if bad:
            msg = f"route `level` must be drawn from {', '.join(LEVELS)}, got {bad[0]!r}."
            raise ctx.error(msg, (*path, "level"))
    if data.get("default_team") is not None:
        _check_team(data["default_team"], ("default_team",), ctx)
    for role, team in (data.get("escalation_teams") or {}).items():
        if role not in roles:
            msg = (
                f"`escalation_teams` names role {role!r}, which is not on the ladder "
                f"({', '.join(roles)})."
            )
            raise ctx.error(msg, ("escalation_teams", role))
        _check_team(team, ("escalation_teams", role), ctx)


_Test = Callable[[str], bool]
_UNSEEN = object()
# The bound only keeps a stream of unusual actions from growing the memo without limit.
_CACHE_LIMIT = 8192


class CompiledRoutes:
    """A policy's routes in the form `route()` evaluates: each key a compiled test."""

    __slots__ = ("_cache", "_compiled", "default_team", "escalation_teams")

    def __init__(
        self,
        routes: Sequence[Route],
        default_team: str | None,
        escalation_teams: Mapping[str, str],
    ) -> None:
        self.default_team = default_team
        self.escalation_teams = dict(escalation_teams)
        self._cache: dict[tuple[Any, ...], RouteMatch | None] = {}
        self._compiled: list[tuple[Route, str, list[tuple[str, _Test]]]] = []
        for i, route in enumerate(routes):
            tests: list[tuple[str, _Test]] = []
            for key in _MATCH_KEYS:
                values = getattr(route, key)
                if not values:
                    continue
                if key in ("environment", "level"):
                    tests.append((key, frozenset(values).__contains__))
                else:
                    tests.append((key, compile_glob(list(values), ignore_case=True)))
            self._compiled.append((route, route.label(i), tests))

    def __bool__(self) -> bool:
        return bool(self._compiled) or self.default_team is not None

    def route(
        self,
        *,
        environment: str | None,
        agent: str | None,
        tool: str,
        level: str,
        rules: Sequence[str],
    ) -> RouteMatch | None:
        """The first route that matches, else the default team; None without either."""
        # Few distinct combinations recur (a thread repeats its tools), and the gate runs this
        # on every call: memoise the answer, a pure function of its inputs.
        key = (environment, agent, tool, level, tuple(rules))
        found = self._cache.get(key, _UNSEEN)
        if found is not _UNSEEN:
            return found  # type: ignore[return-value]
        found = self._route(environment, agent, tool, level, rules)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = found
        return found

    def _route(
        self,
        environment: str | None,
        agent: str | None,
        tool: str,
        level: str,
        rules: Sequence[str],
    ) -> RouteMatch | None:
        facts: dict[str, Sequence[str]] = {
            "environment": [environment] if environment else [],
            "agent": [agent] if agent else [],
            "tool": [tool],
            "level": [level],
            "rule": rules,
        }
        for route, label, tests in self._compiled:
            why: list[str] = []
            for key, test in tests:
                hit = next((v for v in facts[key] if test(v)), None)
                if hit is None:
                    break
                why.append(f"{key} {hit}")
            else:
                said = ", ".join(why) if why else "it matches every review"
                return RouteMatch(team=route.team, route=label, why=f"{label}: {said}")
        if self.default_team is None:
            return None
        return RouteMatch(
            team=self.default_team,
            route="default_team",
            why="no route matched, so the policy's default team",
        )
