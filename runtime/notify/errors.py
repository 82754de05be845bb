"""Errors of the notify subpackage, part of Interlock's one hierarchy (`interlock.risk.errors`).

A bad notify file is a `NotifyConfigError` (also a `ConfigError`, so the CLI prints it as one
line). A channel that could not deliver raises `ChannelError`; `retryable` tells the outbox
whether to try again later (a server that is down, slow or busy) or to give up and report it
(a refused request, a missing secret).
"""

from __future__ import annotations

from interlock.risk.errors import ConfigError, InterlockError

__all__ = ["ChannelError", "NotifyConfigError", "NotifyError"]


class NotifyError(InterlockError):
    """Base class of everything the notify subpackage raises."""


class NotifyConfigError(NotifyError, ConfigError):
    """The notify file is missing, unreadable or malformed.

    The message is one line and starts with `file:line` when the line is known.
    """

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None) -> None:
        self.source = source
        self.line = line
        where = ""
        if source is not None:
            where = source if line is None else f"{source}:{line}"
        super().__init__(f"{where}: {message}" if where else message)


class ChannelError(NotifyError):
    """A channel did not deliver a notification.

    `retryable` is True when trying again later may work (connection refused, timeout, a 5xx
    or 429 answer, a 4xx SMTP reply) and False when it will not (a 4xx HTTP answer, a rejected
    recipient, a secret variable that is not set).
    """

    def __init__(self, message: str, retryable: bool, *, channel: str | None = None) -> None:
        self.retryable = retryable
        self.channel = channel
        super().__init__(f"channel {channel}: {message}" if channel else message)
