"""The notify loop of a worker, and `drain` for the embedded mode.

`start_notify_loop` runs delivery and the reminder scan in a thread of its own, so a slow
or dead channel never delays a resume; it does nothing when `INTERLOCK_NOTIFY` is unset.
A database outage or a channel's bug is logged and retried after a pause; the loop ends
when `stop` is set. `drain` delivers everything due now in the calling process (`make demo`,
scripts without a worker).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping

from interlock.runtime.notify._config import NotifyConfig
from interlock.runtime.notify.channels import build_channels
from interlock.runtime.notify.outbox import (
    DeliveryReport,
    OutboxOptions,
    Sender,
    active_config,
    deliver_due,
    outbox_options,
)
from interlock.runtime.notify.reminders import enqueue_reminders
from interlock.runtime.store import Database

__all__ = ["NotifyLoop", "drain", "start_notify_loop"]

_log = logging.getLogger("interlock.notify")


def drain(
    db: Database,
    *,
    config: NotifyConfig | None = None,
    channels: Mapping[str, Sender] | None = None,
    worker_id: str = "embedded",
    options: OutboxOptions | None = None,
) -> DeliveryReport:
    """Deliver every due message now, in this process (reminders included)."""
    config = config or active_config()
    total = DeliveryReport()
    if config is None:
        return total
    enqueue_reminders(db, config)
    senders: Mapping[str, Sender] = channels or build_channels(config)
    options = options or outbox_options(config)
    while True:
        got = deliver_due(db, senders, worker_id=worker_id, options=options)
        total.delivered += got.delivered
        total.retrying += got.retrying
        total.failed += got.failed
        if got.claimed == 0:  # a retried row waits for its backoff: not claimed again
            return total


class NotifyLoop:
    """Delivery and reminders for one worker (see the module docstring)."""

    def __init__(
        self,
        db: Database,
        config: NotifyConfig,
        *,
        worker_id: str,
        poll: float = 1.0,
        remind_every: float = 30.0,
        options: OutboxOptions | None = None,
        channels: Mapping[str, Sender] | None = None,
    ) -> None:
        self.db, self.config, self.worker_id = db, config, worker_id
        self.poll, self.remind_every = poll, remind_every
        self.options = options or outbox_options(config)
        self.channels: Mapping[str, Sender] = channels or build_channels(config)
        self.report = DeliveryReport()

    def once(self) -> DeliveryReport:
        got = deliver_due(self.db, self.channels, worker_id=self.worker_id, options=self.options)
        self.report.delivered += got.delivered
        self.report.retrying += got.retrying
        self.report.failed += got.failed
        return got

    def run(self, stop: threading.Event) -> None:
        pause = 0.0
        next_reminders = 0.0
        clock = 0.0
        first = True  # one pass even when stopped at once (`interlock worker --once`)
        while first or not stop.is_set():
            first = False
            try:
                if clock >= next_reminders:
                    enqueue_reminders(self.db, self.config)
                    next_reminders = clock + self.remind_every
                got = self.once()
                pause = 0.0
            except Exception:
                pause = min(30.0, max(1.0, pause * 2))
                _log.exception("notify loop: retrying in %gs", pause)
                stop.wait(pause)
                clock += pause
                continue
            if got.claimed == 0:
                stop.wait(self.poll)
                clock += self.poll

    def start(self, stop: threading.Event) -> threading.Thread:
        thread = threading.Thread(target=self.run, args=(stop,), name="interlock-notify")
        thread.daemon = True
        thread.start()
        return thread


def start_notify_loop(
    db: Database, stop: threading.Event, *, worker_id: str
) -> threading.Thread | None:
    """Start a worker's notify thread, or None when notifications are off."""
    config = active_config()
    if config is None:
        return None
    return NotifyLoop(db, config, worker_id=worker_id).start(stop)
