"""`interlock notify status`: the outbox per channel (pending, retrying, delivered, failed,
the oldest pending message's age and the last error), read from the database; and
`interlock notify retry`, which puts failed messages back in the queue.

`status` exits 1 when any message failed, so a cron job or a health check can alert on it.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.markup import escape

from interlock.risk.errors import ConfigError
from interlock.runtime.store.settings import Settings
from interlock.ui._cli_review import DbOpt
from interlock.ui._output import console, print_json

__all__ = ["notify_line", "retry_command", "status_command"]


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def status_command(
    db: DbOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Show the notification outbox per channel: waiting, sent, failed, and the last error."""
    from interlock.runtime.notify.status import outbox_status
    from interlock.runtime.store import open_database, require_schema

    url = db or Settings.from_env().database_url
    with open_database(url, create=False) as database:
        require_schema(database)
        rows = outbox_status(database)
    notifying = bool(os.environ.get("INTERLOCK_NOTIFY", "").strip())
    failed = sum(r.failed for r in rows)
    if as_json:
        print_json({"notify_file_set": notifying, "channels": [r.to_dict() for r in rows]})
    else:
        if not notifying:
            console.print(
                "INTERLOCK_NOTIFY is not set here: this process writes no notifications.",
                highlight=False,
            )
        if not rows:
            console.print("the outbox is empty: no notification was written yet.")
        for r in rows:
            line = (
                f"{r.channel}: {r.pending} pending ({r.retrying} retrying), {r.delivered} "
                f"delivered, {r.failed} failed; oldest pending {_age(r.oldest_pending_age)}"
            )
            if r.last_error:
                line += f"; last error: {r.last_error}"
            console.print(escape(line), soft_wrap=True, highlight=False)
    if failed:
        raise typer.Exit(1)


def retry_command(
    db: DbOpt = None,
    channel: Annotated[
        str | None, typer.Option("--channel", help="Only this channel's failed messages.")
    ] = None,
) -> None:
    """Put failed notifications back in the queue (after fixing the channel): the worker
    sends each again, under its own delivery id."""
    import getpass

    from interlock.runtime.notify.status import outbox_status, retry_failed
    from interlock.runtime.store import open_database, require_schema

    url = db or Settings.from_env().database_url
    with open_database(url, create=False) as database:
        require_schema(database)
        if channel is not None:
            known = [r.channel for r in outbox_status(database)]
            if channel not in known:
                names = ", ".join(known) or "none yet"
                msg = (
                    f"no message for channel {channel!r} in the outbox (channels: {names}); "
                    "pick one of those, or leave out --channel to retry every failed message."
                )
                raise ConfigError(msg)
        got = retry_failed(database, actor=getpass.getuser(), channel=channel)
    if not got:
        where = f" for {channel}" if channel else ""
        console.print(f"no failed messages{escape(where)}: nothing changed.", highlight=False)
        return
    total = sum(len(v) for v in got.values())
    per = ", ".join(f"{k} {len(v)}" for k, v in got.items())
    console.print(
        escape(
            f"put {total} failed message(s) back in the queue ({per}); a running "
            "`interlock worker` with INTERLOCK_NOTIFY set sends them at its next pass."
        ),
        soft_wrap=True,
        highlight=False,
    )


def notify_line() -> str:
    """What `interlock worker` says once at start: whether and where it notifies."""
    from interlock.runtime.notify import NotifyConfigError, load_notify_config

    path = os.environ.get("INTERLOCK_NOTIFY", "").strip()
    if not path:
        return "notifications: off (INTERLOCK_NOTIFY is not set)"
    try:
        config = load_notify_config(path)
    except NotifyConfigError as exc:
        return f"notifications: off, the notify file is bad: {exc}"
    names = ", ".join(sorted(config.channels)) or "no channels"
    return f"notifications: {path} ({names}); delivered from this worker"
