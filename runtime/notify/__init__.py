"""Routing and notifications: teams, channels, the durable outbox, reminders and metrics."""

__all__: list[str] = []
