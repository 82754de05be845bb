"""What the notify file says, as frozen values: teams, channels, reminders, delivery, the
console URL.

The file itself is read by `_loader.load_notify_config`. Secrets are never values here: a
channel names the environment variables that hold its URL, HMAC secret or password, and they
are read when a message is sent (so a rotated secret needs no restart), or checked by
`missing_secrets` (`interlock notify check`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType
from typing import ClassVar, Literal

__all__ = [
    "CHANNEL_KINDS",
    "DEFAULT_LEASE",
    "NOTIFY_ENV",
    "ChannelConfig",
    "Delivery",
    "EmailChannelConfig",
    "FileChannelConfig",
    "NotifyConfig",
    "Reminders",
    "SlackChannelConfig",
    "Team",
    "TerminalChannelConfig",
    "WebhookChannelConfig",
    "read_secret",
]

NOTIFY_ENV = "INTERLOCK_NOTIFY"
"""The variable naming the notify file; unset means notifications are off."""
CHANNEL_KINDS = ("webhook", "slack", "email", "file", "terminal")
DEFAULT_LEASE = 60.0
"""Seconds a delivery claim lasts unless `[delivery] lease` says otherwise."""


def _key(name: str) -> str:
    # the same normalisation as interlock.runtime.review.identity_key (strip + casefold)
    return name.strip().casefold()


@dataclass(frozen=True, kw_only=True)
class Team:
    """A named group of reviewers and the channels that tell them."""

    name: str
    members: tuple[str, ...] = ()
    """Reviewer names (as in the reviewers file); compared case-insensitively."""
    channels: tuple[str, ...] = ()
    """Names of channels in the same file."""


@dataclass(frozen=True, kw_only=True)
class Reminders:
    """When to remind a team of a review that is still pending."""

    before_expiry: tuple[timedelta, ...] = ()
    """How long before a review expires to remind, longest first (e.g. 15 minutes)."""


@dataclass(frozen=True, kw_only=True)
class Delivery:
    """How the outbox leases, retries and gives up (`[delivery]`); None keeps the default."""

    lease: float | None = None
    """Seconds a worker's claim on a message lasts (longer than every channel's timeout)."""
    base_delay: float | None = None
    """Seconds before the first retry; each further retry waits twice as long."""
    max_delay: float | None = None
    """The longest wait between two attempts, in seconds."""
    max_attempts: int | None = None
    """Attempts before a message is `failed`."""
    max_age: float | None = None
    """Seconds after which a message that still fails is `failed`."""


@dataclass(frozen=True, kw_only=True)
class WebhookChannelConfig:
    """A generic webhook: JSON POST signed with HMAC-SHA256 (`X-Interlock-Signature`)."""

    kind: ClassVar[Literal["webhook"]] = "webhook"
    name: str
    url_env: str
    """The variable holding the URL."""
    secret_env: str
    """The variable holding the HMAC secret."""
    timeout: float = 5.0
    """Seconds for connecting, sending and reading the answer, each."""
    line: int | None = field(default=None, compare=False)
    """Where the channel's table starts in the file (for messages)."""

    @property
    def env_vars(self) -> tuple[tuple[str, str], ...]:
        return (("url_env", self.url_env), ("secret_env", self.secret_env))


@dataclass(frozen=True, kw_only=True)
class SlackChannelConfig:
    """A Slack incoming webhook; the message is Block Kit with a link to the console."""

    kind: ClassVar[Literal["slack"]] = "slack"
    name: str
    url_env: str
    """The variable holding the incoming webhook URL (the URL is the secret)."""
    timeout: float = 5.0
    line: int | None = field(default=None, compare=False)

    @property
    def env_vars(self) -> tuple[tuple[str, str], ...]:
        return (("url_env", self.url_env),)


@dataclass(frozen=True, kw_only=True)
class EmailChannelConfig:
    """E-mail over SMTP (stdlib `smtplib`)."""

    kind: ClassVar[Literal["email"]] = "email"
    name: str
    host: str
    port: int
    sender: str
    """The From address."""
    to: tuple[str, ...]
    tls: Literal["starttls", "ssl", "none"] = "starttls"
    """`starttls` (port 587), `ssl` (SMTPS, port 465) or `none` (a relay on a trusted
    network, or a local test server)."""
    username: str | None = None
    password_env: str | None = None
    """The variable holding the SMTP password (with `username`)."""
    timeout: float = 10.0
    line: int | None = field(default=None, compare=False)

    @property
    def env_vars(self) -> tuple[tuple[str, str], ...]:
        return (("password_env", self.password_env),) if self.password_env else ()


@dataclass(frozen=True, kw_only=True)
class FileChannelConfig:
    """Appends each notification as one JSON line to `path` (no server needed)."""

    kind: ClassVar[Literal["file"]] = "file"
    name: str
    path: str
    """Relative paths are relative to the working directory of the process that sends."""
    line: int | None = field(default=None, compare=False)

    @property
    def env_vars(self) -> tuple[tuple[str, str], ...]:
        return ()


@dataclass(frozen=True, kw_only=True)
class TerminalChannelConfig:
    """Prints each notification as one readable line on stderr (or stdout)."""

    kind: ClassVar[Literal["terminal"]] = "terminal"
    name: str
    stream: Literal["stderr", "stdout"] = "stderr"
    line: int | None = field(default=None, compare=False)

    @property
    def env_vars(self) -> tuple[tuple[str, str], ...]:
        return ()


ChannelConfig = (
    WebhookChannelConfig
    | SlackChannelConfig
    | EmailChannelConfig
    | FileChannelConfig
    | TerminalChannelConfig
)


def read_secret(var: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The value of `var`, or None when it is unset or empty."""
    value = (os.environ if environ is None else environ).get(var)
    return value or None


@dataclass(frozen=True, kw_only=True)
class NotifyConfig:
    """The whole notify file. Build it with `load_notify_config(path)`."""

    teams: Mapping[str, Team] = field(default_factory=lambda: MappingProxyType({}))
    """Team name -> team."""
    channels: Mapping[str, ChannelConfig] = field(default_factory=lambda: MappingProxyType({}))
    """Channel name -> its configuration."""
    default_team: str | None = None
    """The team told about a review that has no team, or a team this file does not know."""
    reminders: Reminders = field(default_factory=Reminders)
    delivery: Delivery = field(default_factory=Delivery)
    console_url: str | None = None
    """Base URL of the console; deep links are `{console_url}/review?review=<id>`."""
    source: str | None = None
    """The file this came from."""

    def team(self, name: str | None) -> Team | None:
        """The team called `name`, else the default team, else None."""
        if name is not None and name in self.teams:
            return self.teams[name]
        return self.teams.get(self.default_team) if self.default_team else None

    def channels_for(self, team: str | None) -> tuple[str, ...]:
        """The channel names that tell `team` (None or an unknown team: the default team's)."""
        found = self.team(team)
        return found.channels if found is not None else ()

    def teams_of(self, reviewer: str) -> tuple[str, ...]:
        """The teams `reviewer` is a member of (names compared case-insensitively), sorted."""
        who = _key(reviewer)
        return tuple(
            sorted(n for n, t in self.teams.items() if any(_key(m) == who for m in t.members))
        )

    def link_for(self, review_id: str | None) -> str | None:
        """The console deep link of a review, or None without a console URL or review."""
        if not self.console_url or not review_id:
            return None
        return f"{self.console_url}/review?review={review_id}"

    def missing_secrets(self, environ: Mapping[str, str] | None = None) -> list[str]:
        """One line per environment variable a channel names that is unset or empty."""
        where = self.source or "notify file"
        out: list[str] = []
        for ch in self.channels.values():
            for key, var in ch.env_vars:
                if read_secret(var, environ) is None:
                    at = f"{where}:{ch.line}" if ch.line else where
                    out.append(
                        f"{at}: channel {ch.name!r} ({ch.kind}): environment variable {var} "
                        f"({key}) is not set; export it where the worker runs."
                    )
        return out
