"""`interlock notify status`: the outbox per channel (pending, retrying, delivered, failed,
the oldest pending message's age and the last error), read from the database.

Exit code 1 when any message failed, so a cron job or a health check can alert on it.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.markup import escape

from interlock.runtime.store.settings import Settings
from interlock.ui._cli_review import DbOpt
from interlock.ui._output import console, print_json

__all__ = ["notify_line", "status_command"]


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
