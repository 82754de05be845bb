"""Notifications in `interlock demo`, with no server: the terminal and a JSON Lines file.

Without `INTERLOCK_NOTIFY`, the demo writes its own notify file next to its database (every
team of the bundled policy told through a terminal channel on stdout and a file channel,
`.interlock/demo-notifications.jsonl`) and names it for this process only. Messages go
through the real outbox: enqueued with each event, then drained in this process after the
run (`interlock.runtime.notify.delivery.drain`), since no worker is running.
"""

from __future__ import annotations

import os
from pathlib import Path

from interlock.runtime import Runtime
from interlock.ui._output import console

__all__ = ["demo_notify", "show_notifications"]

_DEMO_FILE = """# Written by `interlock demo` (used only while INTERLOCK_NOTIFY is unset).
console_url = "http://localhost:8501"
default_team = "oncall"
[reminders]
before_expiry = ["15m"]
[teams.oncall]
channels = ["terminal", "file"]
[teams.sre]
channels = ["terminal", "file"]
[teams.dba]
channels = ["terminal", "file"]
[channels.terminal]
kind = "terminal"
stream = "stdout"
[channels.file]
kind = "file"
path = "{path}"
"""


def demo_notify(root: Path) -> Path | None:
    """Name the demo's notify file in this process, unless INTERLOCK_NOTIFY names one;
    the notifications file (JSON Lines), or None when the user's own file is in use."""
    if os.environ.get("INTERLOCK_NOTIFY", "").strip():
        return None
    root.mkdir(parents=True, exist_ok=True)
    lines = (root / "demo-notifications.jsonl").resolve()
    config = root / "demo-notify.toml"
    config.write_text(_DEMO_FILE.format(path=lines.as_posix()), encoding="utf-8")
    os.environ["INTERLOCK_NOTIFY"] = str(config)
    return lines


def show_notifications(rt: Runtime, lines: Path | None) -> None:
    """Deliver what the run enqueued, now, and say where it went."""
    from interlock.runtime.notify.delivery import drain

    console.rule("[bold]notifications[/] (the outbox, delivered in this process)")
    got = drain(rt.db, worker_id="interlock-demo")
    if not got.claimed:
        console.print("[dim]no notification was due[/]")
    elif lines is not None:
        console.print(f"[dim]{len(got.delivered)} delivered; also appended to {lines}[/]")
