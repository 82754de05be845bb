"""The one error hierarchy for all of Interlock.

Every message says what was received, what is allowed and how to fix it. Callers build the
message first and then raise, so the text is easy to read in the code that raises it.
"""

from __future__ import annotations

__all__ = [
    "ActionError",
    "AuthorizationError",
    "ConfigError",
    "ConflictError",
    "DecisionError",
    "ExecutionRefused",
    "InterlockError",
    "NotFoundError",
    "PolicyError",
    "StopsChanged",
]


class InterlockError(Exception):
    """Base class. The CLI prints these as one line and exits with `exit_code`."""

    exit_code = 2


class ConfigError(InterlockError):
    """A setting, URL or file named by configuration is missing or malformed."""


class PolicyError(InterlockError):
    """A policy file or policy object is malformed.

    `source`, `line` and `field` locate the problem when it comes from a file.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.source = source
        self.line = line
        self.field = field
        where = ""
        if source is not None:
            where = source if line is None else f"{source}:{line}"
        if field:
            where = f"{where}: {field}" if where else field
        super().__init__(f"{where}: {message}" if where else message)


class ActionError(InterlockError):
    """An action (tool call) is malformed: wrong types, unknown fields."""


class DecisionError(InterlockError):
    """A reviewer's decision is malformed or not allowed for this action."""


class ConflictError(DecisionError):
    """The decision is no longer current: decided already, moved on, or expired."""

    exit_code = 3


class AuthorizationError(DecisionError):
    """The reviewer is unknown, lacks a required role, or would approve their own action."""


class NotFoundError(InterlockError):
    """An unknown thread, review or reviewer."""


class ExecutionRefused(InterlockError):
    """Guarded execution refused to run a tool: no allow and no matching approval."""


class StopsChanged(ExecutionRefused):
    """A ledger refused to open a row because a stop switch was set after the call was
    assessed: nothing ran; guarded execution reads the stops again and assesses anew."""
