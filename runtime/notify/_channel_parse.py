"""The channel tables of the notify file, one parser per kind."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Literal, cast

from interlock.runtime.notify._config import (
    CHANNEL_KINDS,
    ChannelConfig,
    EmailChannelConfig,
    FileChannelConfig,
    SlackChannelConfig,
    TerminalChannelConfig,
    WebhookChannelConfig,
)
from interlock.runtime.notify._reader import Reader

__all__ = ["read_channels"]

_CHANNEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def _webhook(
    r: Reader, name: str, t: Mapping[str, Any], path: tuple[str, ...], line: int | None
) -> ChannelConfig:
    r.only(t, path, ("kind", "url_env", "secret_env", "timeout"))
    url_env = r.env_name(t, path, "url_env") or r.fail(
        path, f"{'.'.join(path)} needs url_env (the variable holding the webhook URL)."
    )
    secret_env = r.env_name(t, path, "secret_env") or r.fail(
        path, f"{'.'.join(path)} needs secret_env (the variable holding the HMAC secret)."
    )
    return WebhookChannelConfig(
        name=name,
        url_env=url_env,
        secret_env=secret_env,
        timeout=r.timeout(t, path, 5.0),
        line=line,
    )


def _slack(
    r: Reader, name: str, t: Mapping[str, Any], path: tuple[str, ...], line: int | None
) -> ChannelConfig:
    r.only(t, path, ("kind", "url_env", "timeout"))
    url_env = r.env_name(t, path, "url_env") or r.fail(
        path,
        f"{'.'.join(path)} needs url_env (the variable holding the Slack incoming webhook URL).",
    )
    return SlackChannelConfig(
        name=name, url_env=url_env, timeout=r.timeout(t, path, 5.0), line=line
    )


_DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}


def _email(
    r: Reader, name: str, t: Mapping[str, Any], path: tuple[str, ...], line: int | None
) -> ChannelConfig:
    r.only(
        t,
        path,
        ("kind", "host", "port", "tls", "sender", "to", "username", "password_env", "timeout"),
    )
    dotted = ".".join(path)
    host = r.required(t, path, "host", "the SMTP server, e.g. smtp.example.com")
    tls = r.string(t, path, "tls") or "starttls"
    if tls not in _DEFAULT_PORTS:
        r.fail((*path, "tls"), f"{dotted}.tls must be one of starttls, ssl, none, got {tls!r}.")
    port = t.get("port", _DEFAULT_PORTS[tls])
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        r.fail((*path, "port"), f"{dotted}.port must be a port number 1-65535, got {port!r}.")
    sender = r.required(t, path, "sender", "the From address, e.g. interlock@example.com")
    to = r.strings(t, path, "to")
    if not to:
        r.fail(path, f'{dotted} needs to = ["someone@example.com", ...] (at least one recipient).')
    for address in (sender, *to):
        if "@" not in address or any(c in address for c in "\r\n"):
            r.fail(path, f"{dotted}: {address!r} is not an e-mail address.")
    username = r.string(t, path, "username")
    password_env = r.env_name(t, path, "password_env")
    if (username is None) != (password_env is None):
        r.fail(
            path,
            f"{dotted}: give username and password_env together "
            "(or neither, for a server that needs no login).",
        )
    return EmailChannelConfig(
        name=name,
        host=host,
        port=port,
        tls=cast("Literal['starttls', 'ssl', 'none']", tls),
        sender=sender,
        to=to,
        username=username,
        password_env=password_env,
        timeout=r.timeout(t, path, 10.0),
        line=line,
    )


def _file(
    r: Reader, name: str, t: Mapping[str, Any], path: tuple[str, ...], line: int | None
) -> ChannelConfig:
    r.only(t, path, ("kind", "path"))
    where = r.required(
        t, path, "path", "the JSON Lines file to append to, e.g. .interlock/notifications.jsonl"
    )
    return FileChannelConfig(name=name, path=where, line=line)


def _terminal(
    r: Reader, name: str, t: Mapping[str, Any], path: tuple[str, ...], line: int | None
) -> ChannelConfig:
    r.only(t, path, ("kind", "stream"))
    stream = r.string(t, path, "stream") or "stderr"
    if stream not in ("stderr", "stdout"):
        r.fail(
            (*path, "stream"), f"{'.'.join(path)}.stream must be stderr or stdout, got {stream!r}."
        )
    return TerminalChannelConfig(name=name, stream=stream, line=line)  # type: ignore[arg-type]


_KINDS: dict[
    str, Callable[[Reader, str, Mapping[str, Any], tuple[str, ...], int | None], ChannelConfig]
] = {
    "webhook": _webhook,
    "slack": _slack,
    "email": _email,
    "file": _file,
    "terminal": _terminal,
}


def read_channels(r: Reader, doc: Mapping[str, Any]) -> dict[str, ChannelConfig]:
    out: dict[str, ChannelConfig] = {}
    for name, raw in r.table(doc.get("channels", {}), ("channels",)).items():
        path = ("channels", name)
        if not _CHANNEL_NAME.fullmatch(name):
            r.fail(
                path,
                f"channel name {name!r}: use letters, digits, '-', '_' or '.', "
                "starting with a letter or digit.",
            )
        t = r.table(raw, path)
        kind = t.get("kind")
        if kind not in _KINDS:
            r.fail(
                (*path, "kind") if "kind" in t else path,
                f"channels.{name}.kind must be one of {', '.join(CHANNEL_KINDS)}, got {kind!r}.",
            )
        out[name] = _KINDS[kind](r, name, t, path, r.lines.line(path))
    return out
