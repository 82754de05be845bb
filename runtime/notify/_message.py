"""The message every channel sends: `Notification`, built from a review's ReviewRequest.

A notification tells; it never approves. It carries a deep link to the console, where the
reviewer signs in and decides. The text in it partly comes from the agent side (a target
name, a tool argument), so `one_line` makes each value a single printable line before a
channel puts it in a subject, a terminal or a Slack block.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from typing_extensions import TypedDict

from interlock.runtime.notify._config import NotifyConfig

__all__ = [
    "EVENT_TITLES",
    "NOTIFY_EVENTS",
    "Notification",
    "NotifyEvent",
    "build_notification",
    "one_line",
    "sample_notification",
]

NotifyEvent = Literal[
    "review_opened",
    "review_escalated",
    "review_expiring",
    "review_expired",
    "execution_in_doubt",
    "scope_stopped",
    "role_requested",
]
NOTIFY_EVENTS: tuple[NotifyEvent, ...] = (
    "review_opened",
    "review_escalated",
    "review_expiring",
    "review_expired",
    "execution_in_doubt",
    "scope_stopped",
    "role_requested",
)
EVENT_TITLES: Mapping[str, str] = {
    "review_opened": "Review needed",
    "review_escalated": "Review escalated",
    "review_expiring": "Review expiring soon",
    "review_expired": "Review expired",
    "execution_in_doubt": "Execution in doubt",
    "scope_stopped": "Scope stopped",
    "role_requested": "Role requested",
}
_LEVELS = ("low", "medium", "high", "critical")
_FIELDS = frozenset(
    {
        "thread_id",
        "team",
        "tool",
        "target",
        "environment",
        "level",
        "score",
        "reasons",
        "expires_at",
        "actor",
        "link",
        "summary",
        "escalated_to",
    }
)
_ROW_COLUMNS = (
    "thread_id",
    "team",
    "tool",
    "target",
    "environment",
    "level",
    "score",
    "expires_at",
    "escalated_to",
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


class Notification(TypedDict):
    """One message about one event, for one channel (the payload of an outbox row)."""

    id: str
    """The delivery id: the outbox row's id and the receivers' dedupe key."""
    event: NotifyEvent
    """What happened."""
    occurred_at: str
    """When it happened, ISO-8601 UTC."""
    review_id: str | None
    """The review it is about (None for a stopped scope)."""
    thread_id: str | None
    """The agent thread the review paused."""
    team: str | None
    """The team the policy routed the review to (who is told, not who may decide)."""
    tool: str | None
    """The action: the tool the agent wants to run."""
    target: str | None
    """What the action touches, e.g. `volume vol-prod-db`."""
    environment: str | None
    """Where the action lands, e.g. `production`."""
    level: str | None
    """low | medium | high | critical."""
    score: int | None
    """The risk score, 0-100."""
    reasons: list[str]
    """The top reasons, highest contribution first, in full."""
    link: str | None
    """The console deep link (`{console_url}/review?review=<id>`), or None without a console
    URL. Opening it signs the reviewer in; nothing is decided by the link."""
    expires_at: str | None
    """When the review expires unanswered, ISO-8601 UTC."""
    actor: str | None
    """Who caused the event (the reviewer who escalated, the admin who stopped a scope)."""
    summary: str
    """One line saying all of the above that matters."""


def one_line(value: Any, limit: int = 300) -> str:
    """`value` as one printable line (control characters and line breaks become spaces),
    at most `limit` characters."""
    text = " ".join(_CONTROL.sub(" ", str(value)).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _iso(value: datetime | str | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _target(action: Mapping[str, Any]) -> str | None:
    res = action.get("resource") or {}
    if isinstance(res, Mapping) and (res.get("type") or res.get("id")):
        return f"{res.get('type', '')} {res.get('id', '')}".strip()
    return None


def _from_request(request: Mapping[str, Any], top: int) -> dict[str, Any]:
    actions: Sequence[Mapping[str, Any]] = request.get("action_requests") or []
    first = actions[0] if actions else {}
    views = [a.get("assessment") or {} for a in actions]
    levels = [v.get("level") for v in views if v.get("level") in _LEVELS]
    scored = [
        (int(r.get("points") or 0), str(r.get("text") or r.get("rule") or ""), str(r.get("rule")))
        for v in views
        for r in v.get("reasons") or []
    ]
    scored.sort(key=lambda r: -r[0])
    reasons = list(dict.fromkeys(f"{text} ({rule}, +{pts})" for pts, text, rule in scored))
    target = _target(first)
    if target is not None and len(actions) > 1:
        target = f"{target} (+{len(actions) - 1} more)"
    route = request.get("route")
    team = request.get("team") or (route.get("team") if isinstance(route, Mapping) else None)
    return {
        "tool": first.get("name"),
        "target": target,
        "environment": first.get("environment"),
        "level": max(levels, key=_LEVELS.index) if levels else None,
        "score": max((int(v.get("score") or 0) for v in views), default=None),
        "reasons": reasons[:top],
        "thread_id": request.get("thread_id"),
        "expires_at": request.get("expires_at"),
        "team": team,
        "escalated_to": request.get("escalated_to"),
    }


def _summary(event: str, f: Mapping[str, Any], occurred: datetime) -> str:
    what = " ".join(
        x
        for x in (
            f.get("tool") or "",
            f"on {f['target']}" if f.get("target") else "",
            f"in {f['environment']}" if f.get("environment") else "",
        )
        if x
    )
    risk = " ".join(str(x) for x in (f.get("level"), f.get("score")) if x is not None)
    head = EVENT_TITLES.get(event, event)
    if event == "review_escalated" and f.get("escalated_to"):
        head = f"{head} to {f['escalated_to']}"
    if event == "review_expiring" and f.get("expires_at"):
        try:
            left = datetime.fromisoformat(str(f["expires_at"])) - occurred
            head = f"{head} (in {max(0, round(left.total_seconds() / 60))} min)"
        except ValueError:
            pass
    parts = [head + (f": {what}" if what else "")]
    if risk:
        parts.append(f"({risk})")
    if f.get("actor"):
        parts.append(f"by {f['actor']}")
    return one_line(" ".join(parts))


def build_notification(
    event: NotifyEvent,
    *,
    request: Mapping[str, Any] | None = None,
    row: Mapping[str, Any] | None = None,
    delivery_id: str | None = None,
    review_id: str | None = None,
    config: NotifyConfig | None = None,
    occurred_at: datetime | None = None,
    top: int = 3,
    **fields: Any,
) -> Notification:
    """The notification of `event` about the review whose ReviewRequest is `request`.

    `fields` override or supply what the request does not say (`thread_id`, `team`, `tool`,
    `target`, `environment`, `level`, `score`, `reasons`, `expires_at`, `actor`, `link`,
    `summary`): for a stopped scope, for example, there is no request. The link is
    `config.link_for(review_id)` unless `link` is given. `delivery_id` defaults to a new id;
    the outbox passes its row id.

    `row` is an `interlock_reviews` row (a mapping of its columns) instead of `request`: its
    `payload` is the ReviewRequest and its columns (`id`, `thread_id`, `team`, `tool`,
    `target`, `environment`, `level`, `score`, `expires_at`, `escalated_to`) win over it.
    """
    unknown = set(fields) - _FIELDS
    if unknown:
        msg = f"build_notification: unknown fields {sorted(unknown)}; allowed: {sorted(_FIELDS)}."
        raise TypeError(msg)
    occurred = occurred_at or datetime.now(UTC)
    if row is not None:
        payload = row.get("payload")
        if isinstance(payload, str | bytes):
            payload = json.loads(payload)
        request = payload if isinstance(payload, Mapping) else request
        review_id = review_id or row.get("id")
    f: dict[str, Any] = _from_request(request, top) if request is not None else {}
    if row is not None:
        f.update({k: row[k] for k in _ROW_COLUMNS if row.get(k) is not None})
    f.update({k: v for k, v in fields.items() if v is not None})
    link = fields.get("link") or (config.link_for(review_id) if config is not None else None)
    note = Notification(
        id=delivery_id or f"nt-{uuid.uuid4().hex}",
        event=event,
        occurred_at=_iso(occurred) or "",
        review_id=review_id,
        thread_id=f.get("thread_id"),
        team=f.get("team"),
        tool=f.get("tool"),
        target=f.get("target"),
        environment=f.get("environment"),
        level=f.get("level"),
        score=None if f.get("score") is None else int(f["score"]),
        reasons=[str(r) for r in f.get("reasons") or []],
        link=link,
        expires_at=_iso(f.get("expires_at")),
        actor=f.get("actor"),
        summary="",
    )
    note["summary"] = one_line(f["summary"]) if f.get("summary") else _summary(event, f, occurred)
    return note


def sample_notification(
    config: NotifyConfig | None = None, *, team: str | None = None
) -> Notification:
    """A made-up `review_opened` notification (for `interlock notify test`)."""
    request = {
        "thread_id": "notify-test",
        "expires_at": _iso(datetime.now(UTC) + timedelta(minutes=30)),
        "action_requests": [
            {
                "name": "delete_volume",
                "environment": "production",
                "resource": {"type": "volume", "id": "vol-test-0001"},
                "assessment": {
                    "score": 95,
                    "level": "critical",
                    "reasons": [
                        {
                            "rule": "destructive",
                            "text": "Deletes data that cannot be recovered",
                            "points": 60,
                        },
                        {
                            "rule": "production",
                            "text": "Acts on the production environment",
                            "points": 35,
                        },
                    ],
                },
            }
        ],
    }
    return build_notification(
        "review_opened",
        request=request,
        review_id="rv-notify-test",
        config=config,
        team=team,
        summary="Test notification from `interlock notify test`: nothing is waiting for review.",
    )
