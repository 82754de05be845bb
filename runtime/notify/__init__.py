"""Routing and notifications: teams, channels, the durable outbox, reminders and metrics."""

from interlock.runtime.notify.metrics import (
    DECISION_BUCKETS,
    METRICS_ADDRESS_ENV,
    METRICS_PORT_ENV,
    InterlockCollector,
    MetricsServer,
    MetricsSnapshot,
    metrics_port_from_env,
    metrics_text,
    serve_metrics,
)

__all__: list[str] = [
    # metrics (H6)
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
