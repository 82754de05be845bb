"""Live metrics in Prometheus' text format, read from the database at each scrape.

`InterlockCollector(db)` is a `prometheus_client` custom collector: each scrape runs a few
grouped queries in one snapshot (`interlock.runtime.notify._metrics_sql`), so every worker
and console on one database shows the same numbers, and they match what SQL says. The
families (all prefixed `interlock_`):

- `reviews_pending{level,team,kind}`, `reviews_oldest_pending_age_seconds`: the inbox now
  (`team=""`: no team was routed). `reviews_opened_total{level,team,kind}`: all time.
- `review_decision_seconds{level}`: a histogram of time to decision, from a review's
  creation to the decision that settled it, over **all** decided proposals (decided, or
  escalated by a reviewer; expired, cancelled and in-doubt ones are not decisions). All time,
  like every counter here: Prometheus' `rate()`/`histogram_quantile()` give any window.
- `decisions_total{type,by}`: each recorded decision (`by`: `reviewer`, or `expiry` for what
  the runtime decided when a review timed out). `escalations_total{via}` (`decision`,
  `expiry`), `expiries_total{result}` (`escalated`, `denied`).
- `in_doubt_total`: executions put in front of a human as in doubt; `executions_in_doubt`:
  those not yet resolved; `executions_running`: ledger rows started, not finished.
- `gate_outcomes_total{outcome}`: `allow` (ledger rows of allowed calls), `review` and `deny`
  (the audited `review_required` and `action_denied` events).
- `outbox_backlog{channel}`, `outbox_oldest_pending_age_seconds`: notifications waiting;
  `notifications_failed{channel}`: given up on (status failed; `interlock notify status`);
  `notifications_delivered{channel}`.
- `audit_events_total{event}`: every audited event by name (refusals, forged approvals,
  failed sign-ins... included).
- `metrics_read_seconds`: how long this scrape's reads took (the one number that is this
  process's own).

`prometheus_client` is imported only when a collector collects or a server starts, so
`interlock --help` never loads it.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from interlock.risk.errors import ConfigError
from interlock.runtime.notify._metrics_sql import (
    DECISION_BUCKETS,
    AuditTally,
    MetricsSnapshot,
    read_snapshot,
)
from interlock.runtime.store import Database

if TYPE_CHECKING:
    from prometheus_client.core import Metric

__all__ = [
    "DECISION_BUCKETS",
    "METRICS_ADDRESS_ENV",
    "METRICS_PORT_ENV",
    "InterlockCollector",
    "MetricsServer",
    "MetricsSnapshot",
    "metrics_port_from_env",
    "metrics_text",
    "serve_metrics",
]

METRICS_PORT_ENV = "INTERLOCK_METRICS_PORT"
"""The port `interlock worker` / `interlock console` serve /metrics on when no
`--metrics-port` is given."""
METRICS_ADDRESS_ENV = "INTERLOCK_METRICS_ADDRESS"
"""The address to bind (default 127.0.0.1: loopback only)."""


def _age(since: datetime | None, now: datetime) -> float:
    return max(0.0, (now - since).total_seconds()) if since is not None else 0.0


class InterlockCollector:
    """Reads the database at each `collect()`; register it on a `CollectorRegistry`."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.tally = AuditTally()

    def snapshot(self) -> MetricsSnapshot:
        """The numbers, without the Prometheus wrapping."""
        return read_snapshot(self.db, self.tally)

    def describe(self) -> list[Metric]:
        # Registering must not query the database: no families announced up front.
        return []

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        started = time.perf_counter()
        s = self.snapshot()
        read = time.perf_counter() - started
        now = datetime.now(UTC)

        def gauge(name: str, doc: str, labels: list[str], values: dict[Any, int]) -> Metric:
            g = GaugeMetricFamily(f"interlock_{name}", doc, labels=labels)
            for key, n in sorted(values.items()):
                g.add_metric(list(key) if isinstance(key, tuple) else [key], n)
            return g

        def counter(name: str, doc: str, labels: list[str], values: dict[Any, int]) -> Metric:
            c = CounterMetricFamily(f"interlock_{name}", doc, labels=labels)
            for key, n in sorted(values.items()):
                c.add_metric(list(key) if isinstance(key, tuple) else [key], n)
            return c

        lkt = ["level", "team", "kind"]
        yield gauge("reviews_pending", "Reviews waiting for a decision.", lkt, dict(s.pending))
        yield GaugeMetricFamily(
            "interlock_reviews_oldest_pending_age_seconds",
            "Age of the oldest pending review (0 when none).",
            value=_age(s.oldest_pending, now),
        )
        yield counter("reviews_opened", "Reviews ever opened.", lkt, dict(s.opened))
        h = HistogramMetricFamily(
            "interlock_review_decision_seconds",
            "Time from a review's creation to the decision that settled it (all time).",
            labels=["level"],
        )
        for level, t in sorted(s.decision_times.items()):
            bounds = [(f"{b:g}", n) for b, n in zip(DECISION_BUCKETS, t.buckets, strict=True)]
            h.add_metric([level], [*bounds, ("+Inf", t.count)], t.seconds)
        yield h
        yield counter("decisions", "Recorded decisions by type.", ["type", "by"], dict(s.decisions))
        yield counter("escalations", "Escalated reviews.", ["via"], dict(s.escalations))
        yield counter("expiries", "Expired reviews.", ["result"], dict(s.expiries))
        yield CounterMetricFamily(
            "interlock_in_doubt",
            "Executions put in front of a human because their outcome was unknown.",
            value=s.in_doubt_opened,
        )
        by_status: dict[str, int] = {}
        for (status, _path), n in s.executions.items():
            by_status[status] = by_status.get(status, 0) + n
        yield GaugeMetricFamily(
            "interlock_executions_in_doubt",
            "Executions in doubt, not yet resolved.",
            value=by_status.get("in_doubt", 0),
        )
        yield GaugeMetricFamily(
            "interlock_executions_running",
            "Executions started and not finished.",
            value=by_status.get("started", 0),
        )
        yield counter(
            "gate_outcomes", "What the gate decided per call.", ["outcome"], s.gate_outcomes
        )
        outbox: dict[str, dict[str, int]] = {}
        for (status, channel), n in s.outbox.items():
            outbox.setdefault(status, {})[channel] = n
        yield gauge(
            "outbox_backlog", "Notifications waiting.", ["channel"], outbox.get("pending", {})
        )
        yield GaugeMetricFamily(
            "interlock_outbox_oldest_pending_age_seconds",
            "Age of the oldest waiting notification (0 when none).",
            value=_age(s.outbox_oldest_pending, now),
        )
        yield gauge(
            "notifications_failed",
            "Notifications given up on after their retries.",
            ["channel"],
            outbox.get("failed", {}),
        )
        yield gauge(
            "notifications_delivered",
            "Notifications delivered.",
            ["channel"],
            outbox.get("delivered", {}),
        )
        yield counter("audit_events", "Audited events by name.", ["event"], dict(s.audit_events))
        yield GaugeMetricFamily(
            "interlock_metrics_read_seconds",
            "How long this scrape's database reads took (this process's own number).",
            value=read,
        )


def metrics_text(db: Database) -> str:
    """The exposition once (what `interlock metrics` prints)."""
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(InterlockCollector(db))
    return generate_latest(registry).decode()


@dataclass
class MetricsServer:
    """A running /metrics endpoint; `close()` stops it."""

    address: str
    port: int
    server: Any
    thread: threading.Thread

    @property
    def url(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"http://{host}:{self.port}/metrics"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def serve_metrics(db: Database, port: int, address: str = "127.0.0.1") -> MetricsServer:
    """Serve /metrics for `db` on `address:port` (port 0: any free one) from a daemon
    thread. A port that cannot be bound is one clear ConfigError."""
    from prometheus_client import CollectorRegistry, start_http_server

    if isinstance(port, bool) or not 0 <= port <= 65535:
        msg = f"metrics port {port!r} is not a TCP port: give 1-65535 (or 0 for any free one)."
        raise ConfigError(msg)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(InterlockCollector(db))
    try:
        server, thread = start_http_server(port, addr=address, registry=registry)
    except OSError as exc:
        msg = (
            f"cannot serve metrics on {address}:{port}: {exc.strerror or exc}. Pick a free "
            "port with --metrics-port (or INTERLOCK_METRICS_PORT), or leave it unset."
        )
        raise ConfigError(msg) from None
    return MetricsServer(
        address=address, port=int(server.server_port), server=server, thread=thread
    )


def metrics_port_from_env() -> int | None:
    """`INTERLOCK_METRICS_PORT` as a port, None when unset; a bad value is a ConfigError."""
    raw = os.environ.get(METRICS_PORT_ENV, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 0 <= int(raw) <= 65535:
        msg = (
            f"{METRICS_PORT_ENV}={raw!r} is not a TCP port: set it to 1-65535, or unset it to "
            "serve no metrics."
        )
        raise ConfigError(msg)
    return int(raw)
