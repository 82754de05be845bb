"""Routing and notifications: teams, channels, the durable outbox, reminders and metrics."""

from interlock.runtime.notify._config import (
    CHANNEL_KINDS,
    NOTIFY_ENV,
    ChannelConfig,
    EmailChannelConfig,
    FileChannelConfig,
    NotifyConfig,
    Reminders,
    SlackChannelConfig,
    Team,
    TerminalChannelConfig,
    WebhookChannelConfig,
)
from interlock.runtime.notify._email import email_message
from interlock.runtime.notify._loader import (
    load_notify_config,
    notify_config_from_env,
    parse_notify_config,
)
from interlock.runtime.notify._local import terminal_line
from interlock.runtime.notify._message import (
    EVENT_TITLES,
    NOTIFY_EVENTS,
    Notification,
    NotifyEvent,
    build_notification,
    one_line,
    sample_notification,
)
from interlock.runtime.notify._reader import parse_duration
from interlock.runtime.notify._slack import slack_blocks, slack_message
from interlock.runtime.notify._webhook import (
    SIGNATURE_HEADER,
    sign_body,
    verify_signature,
    webhook_body,
)
from interlock.runtime.notify.channels import (
    Channel,
    EmailChannel,
    FileChannel,
    SlackChannel,
    TerminalChannel,
    WebhookChannel,
    build_channel,
    build_channels,
)
from interlock.runtime.notify.errors import ChannelError, NotifyConfigError, NotifyError
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
    "CHANNEL_KINDS",
    "DECISION_BUCKETS",
    "EVENT_TITLES",
    "METRICS_ADDRESS_ENV",
    "METRICS_PORT_ENV",
    "NOTIFY_ENV",
    "NOTIFY_EVENTS",
    "SIGNATURE_HEADER",
    "Channel",
    "ChannelConfig",
    "ChannelError",
    "EmailChannel",
    "EmailChannelConfig",
    "FileChannel",
    "FileChannelConfig",
    "InterlockCollector",
    "MetricsServer",
    "MetricsSnapshot",
    "Notification",
    "NotifyConfig",
    "NotifyConfigError",
    "NotifyError",
    "NotifyEvent",
    "Reminders",
    "SlackChannel",
    "SlackChannelConfig",
    "Team",
    "TerminalChannel",
    "TerminalChannelConfig",
    "WebhookChannel",
    "WebhookChannelConfig",
    "build_channel",
    "build_channels",
    "build_notification",
    "email_message",
    "load_notify_config",
    "metrics_port_from_env",
    "metrics_text",
    "notify_config_from_env",
    "one_line",
    "parse_duration",
    "parse_notify_config",
    "sample_notification",
    "serve_metrics",
    "sign_body",
    "slack_blocks",
    "slack_message",
    "terminal_line",
    "verify_signature",
    "webhook_body",
]
