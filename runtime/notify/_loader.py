"""Reading the notify file (TOML): every mistake is one line with `file:line` and a fix.

The layout (see `docs/notify.example.toml`):

    console_url = "https://interlock.example.com"
    default_team = "oncall"
    [reminders]
    before_expiry = ["15m"]
    [delivery]
    lease = "60s"
    [teams.oncall]
    members = ["oncall-demo"]
    channels = ["oncall-slack"]
    [channels.oncall-slack]
    kind = "slack"
    url_env = "INTERLOCK_ONCALL_SLACK_URL"
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

from interlock.runtime.notify._channel_parse import read_channels
from interlock.runtime.notify._config import (
    DEFAULT_LEASE,
    NOTIFY_ENV,
    ChannelConfig,
    Delivery,
    NotifyConfig,
    Reminders,
    Team,
)
from interlock.runtime.notify._reader import Reader, parse_duration
from interlock.runtime.notify.errors import NotifyConfigError

__all__ = ["load_notify_config", "notify_config_from_env", "parse_notify_config"]


def _teams(
    r: Reader, doc: Mapping[str, Any], channels: Mapping[str, ChannelConfig]
) -> dict[str, Team]:
    out: dict[str, Team] = {}
    for name, raw in r.table(doc.get("teams", {}), ("teams",)).items():
        path = ("teams", name)
        t = r.table(raw, path)
        r.only(t, path, ("members", "channels"))
        names = r.strings(t, path, "channels")
        for ch in names:
            if ch not in channels:
                known = ", ".join(sorted(channels)) or "none defined yet"
                r.fail(
                    (*path, "channels"),
                    f"teams.{name}.channels names {ch!r}, which is not a channel of this file "
                    f"(channels: {known}); add [channels.{ch}] or fix the name.",
                )
        out[name] = Team(name=name, members=r.strings(t, path, "members"), channels=names)
    return out


def _reminders(r: Reader, doc: Mapping[str, Any]) -> Reminders:
    path = ("reminders",)
    t = r.table(doc.get("reminders", {}), path)
    r.only(t, path, ("before_expiry",))
    found: list[timedelta] = []
    for text in r.strings(t, path, "before_expiry"):
        try:
            d = parse_duration(text)
        except ValueError:
            d = timedelta(0)
        if d <= timedelta(0):
            r.fail(
                (*path, "before_expiry"),
                f"reminders.before_expiry: {text!r} is not a duration above zero; "
                'write e.g. "15m", "1h" or "90s".',
            )
        found.append(d)
    return Reminders(before_expiry=tuple(sorted(set(found), reverse=True)))


_DELIVERY_SECONDS = ("lease", "base_delay", "max_delay", "max_age")


def _delivery(r: Reader, doc: Mapping[str, Any], channels: Mapping[str, ChannelConfig]) -> Delivery:
    path = ("delivery",)
    t = r.table(doc.get("delivery", {}), path)
    r.only(t, path, (*_DELIVERY_SECONDS, "max_attempts"))
    got = {key: r.seconds(t, path, key, example="60s") for key in _DELIVERY_SECONDS}
    attempts = t.get("max_attempts")
    if attempts is not None and (
        isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= 100
    ):
        r.fail(
            (*path, "max_attempts"),
            f"delivery.max_attempts must be a whole number from 1 to 100, got {attempts!r}.",
        )
    lease = got["lease"]
    slowest = max((getattr(c, "timeout", 0.0) for c in channels.values()), default=0.0)
    if (lease or DEFAULT_LEASE) <= slowest:
        # A claim that ran out while its worker still waits on a channel would be sent twice.
        said = f"{lease:g}s" if lease else f"{DEFAULT_LEASE:g}s, the default"
        r.fail(
            (*path, "lease") if lease else (),
            f"delivery.lease ({said}) must be longer than the slowest channel's timeout "
            f"({slowest:g}s); raise [delivery] lease or lower that timeout.",
        )
    return Delivery(
        lease=lease,
        base_delay=got["base_delay"],
        max_delay=got["max_delay"],
        max_attempts=attempts,
        max_age=got["max_age"],
    )


def parse_notify_config(text: str, *, source: str = "<notify>") -> NotifyConfig:
    """The notify configuration in `text` (TOML); `source` names it in error messages."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # Python 3.11's TOMLDecodeError has no lineno: the line is in its message
        at = re.search(r"\(at line (\d+)", str(exc))
        line = int(at.group(1)) if at else None
        detail = str(exc).split(" (at ")[0]
        msg = f"not valid TOML: {detail}."
        raise NotifyConfigError(msg, source=source, line=line) from None
    r = Reader(source, text)
    r.only(doc, (), ("console_url", "default_team", "reminders", "delivery", "teams", "channels"))
    console_url = r.string(doc, (), "console_url")
    if console_url is not None:
        if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", console_url):
            r.fail(
                ("console_url",),
                "console_url must be an http(s) URL without query, e.g. "
                f'"https://interlock.example.com", got {console_url!r}.',
            )
        console_url = console_url.rstrip("/")
    channels = read_channels(r, doc)
    teams = _teams(r, doc, channels)
    default_team = r.string(doc, (), "default_team")
    if default_team is not None and default_team not in teams:
        known = ", ".join(sorted(teams)) or "none defined"
        r.fail(
            ("default_team",),
            f"default_team {default_team!r} is not a team of this file (teams: {known}); "
            f"add [teams.{default_team}] or fix the name.",
        )
    return NotifyConfig(
        teams=MappingProxyType(teams),
        channels=MappingProxyType(channels),
        default_team=default_team,
        reminders=_reminders(r, doc),
        delivery=_delivery(r, doc, channels),
        console_url=console_url,
        source=source,
    )


def load_notify_config(path: str | os.PathLike[str]) -> NotifyConfig:
    """Read and check the notify file at `path`; NotifyConfigError (one line) when it is bad."""
    where = Path(path)
    try:
        text = where.read_text(encoding="utf-8")
    except FileNotFoundError:
        msg = (
            f"notify file {where} does not exist; create it (see docs/notify.example.toml) "
            "or fix INTERLOCK_NOTIFY / --file."
        )
        raise NotifyConfigError(msg) from None
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"cannot read notify file {where}: {exc}"
        raise NotifyConfigError(msg) from None
    return parse_notify_config(text, source=str(where))


def notify_config_from_env(environ: Mapping[str, str] | None = None) -> NotifyConfig | None:
    """The notify file named by `INTERLOCK_NOTIFY`, or None when it is unset (notifications
    off). A file that is named but missing or bad is a NotifyConfigError, never silence."""
    path = (os.environ if environ is None else environ).get(NOTIFY_ENV, "").strip()
    return load_notify_config(path) if path else None
