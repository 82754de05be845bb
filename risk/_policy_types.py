"""The parts of a policy: rules, approval and tool specs, and where a loader error points."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from interlock.risk._model import (
    EFFECTS,
    Effect,
    Level,
    Outcome,
)
from interlock.risk._yaml import Lines
from interlock.risk.errors import PolicyError

__all__ = [
    "DEFAULT_LEVELS",
    "DEFAULT_OUTCOMES",
    "EFFECT_NAMES",
    "RULE_ID",
    "ApprovalSpec",
    "ParseContext",
    "Path_",
    "Rule",
    "ToolDefaults",
    "fmt_path",
]

RULE_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
EFFECT_NAMES: dict[str, bool] = dict.fromkeys(EFFECTS, True)
Path_ = tuple[str | int, ...]


def fmt_path(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


class ParseContext:
    """Where validation is: the file and its line table, so errors point at the line."""

    def __init__(self, source: str | None, lines: Lines | None) -> None:
        self.source, self.lines = source, lines or {}

    def error(self, message: str, path: Path_) -> PolicyError:
        line = None
        for n in range(len(path), -1, -1):
            if path[:n] in self.lines:
                line = self.lines[path[:n]]
                break
        return PolicyError(message, source=self.source, line=line, field=fmt_path(path) or None)


@dataclass(frozen=True, kw_only=True)
class ApprovalSpec:
    """`count` distinct approvers holding `role` or a more senior role."""

    roles: tuple[str, ...]
    count: int = 1


@dataclass(frozen=True, kw_only=True)
class ToolDefaults:
    """Effects the policy assumes for a tool that declares none of its own; `untrusted`: its
    results are content the user did not write (web pages, emails, documents)."""

    effects: frozenset[Effect]
    reversible: bool | None = None
    untrusted: bool = False


@dataclass(frozen=True, kw_only=True)
class Rule:
    """One rule: when its conditions hold, it adds points, a floor and/or a hard outcome."""

    id: str
    reason: str
    when: Mapping[str, Any]
    points: int = 0
    floor: Level | None = None
    outcome: Outcome | None = None
    approval: ApprovalSpec | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "reason": self.reason, "when": self.when}
        if self.points:
            out["points"] = self.points
        if self.floor:
            out["floor"] = self.floor
        if self.outcome:
            out["outcome"] = self.outcome
        if self.approval:
            out["approval"] = {"roles": list(self.approval.roles), "count": self.approval.count}
        return out


DEFAULT_LEVELS: Mapping[str, int] = {"medium": 25, "high": 50, "critical": 75}
DEFAULT_OUTCOMES: Mapping[str, Outcome] = {
    "low": "allow",
    "medium": "allow",
    "high": "review",
    "critical": "review",
}
