"""Channels: what tells a team, behind one small interface the outbox calls.

`build_channels(config)` gives one `Channel` per channel of the notify file. `send(note)`
returns when the channel accepted the message, or raises `ChannelError` (`retryable` says
whether the outbox should try again later). Every send has a timeout, so a dead channel holds
a worker for seconds at most; nothing here is ever called from a gate or a decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Protocol, runtime_checkable

from interlock.runtime.notify._config import (
    ChannelConfig,
    EmailChannelConfig,
    FileChannelConfig,
    NotifyConfig,
    SlackChannelConfig,
    WebhookChannelConfig,
)
from interlock.runtime.notify._email import EmailChannel
from interlock.runtime.notify._local import FileChannel, TerminalChannel
from interlock.runtime.notify._message import Notification
from interlock.runtime.notify._slack import SlackChannel
from interlock.runtime.notify._webhook import WebhookChannel

__all__ = [
    "Channel",
    "EmailChannel",
    "FileChannel",
    "SlackChannel",
    "TerminalChannel",
    "WebhookChannel",
    "build_channel",
    "build_channels",
]


@runtime_checkable
class Channel(Protocol):
    """Something that delivers a notification somewhere."""

    name: str
    """The channel's name in the notify file (the outbox row's `channel`)."""
    kind: str
    """webhook | slack | email | file | terminal."""

    def send(self, note: Notification) -> None:
        """Deliver `note` now, or raise ChannelError(message, retryable)."""
        ...


def build_channel(config: ChannelConfig, environ: Mapping[str, str] | None = None) -> Channel:
    """The channel for one channel table. Secrets are read from `environ` (default: the
    process environment, at each send)."""
    if isinstance(config, WebhookChannelConfig):
        return WebhookChannel(config, environ)
    if isinstance(config, SlackChannelConfig):
        return SlackChannel(config, environ)
    if isinstance(config, EmailChannelConfig):
        return EmailChannel(config, environ)
    if isinstance(config, FileChannelConfig):
        return FileChannel(config)
    return TerminalChannel(config)


def build_channels(
    config: NotifyConfig, environ: Mapping[str, str] | None = None
) -> Mapping[str, Channel]:
    """Channel name -> Channel, for every channel of `config`."""
    return MappingProxyType(
        {name: build_channel(c, environ) for name, c in config.channels.items()}
    )
