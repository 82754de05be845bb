"""Slack: an incoming webhook, the message in Block Kit built with `slack_sdk`'s own models.

The message has a header, the action and its risk, the top reasons, a context line and one
*link* button to the console review. There is no interactive approval: the button is a URL
button, and the reviewer signs in to the console to decide.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from interlock.runtime.notify._config import SlackChannelConfig
from interlock.runtime.notify._http import need_secret, post
from interlock.runtime.notify._message import EVENT_TITLES, Notification, one_line
from interlock.runtime.notify.errors import ChannelError

__all__ = ["SlackChannel", "slack_blocks", "slack_message"]

_SECTION_MAX = 3000  # Slack's limit for a section's text
_HEADER_MAX = 150


def _esc(text: Any) -> str:
    # Slack mrkdwn: agent-side text must not become a link or a mention (<url|label>, <!here>)
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _chunks(lines: list[str], limit: int) -> list[str]:
    out: list[str] = []
    cur = ""
    for line in lines:
        while len(line) > limit:  # one very long reason: split it, keep all of its text
            if cur:
                out.append(cur)
                cur = ""
            out.append(line[:limit])
            line = line[limit:]
        joined = f"{cur}\n{line}" if cur else line
        if len(joined) > limit:
            out.append(cur)
            cur = line
        else:
            cur = joined
    if cur:
        out.append(cur)
    return out


def slack_blocks(note: Notification) -> list[Any]:
    """The Block Kit blocks (slack_sdk model objects) of `note`."""
    from slack_sdk.models.blocks import (
        ActionsBlock,
        ButtonElement,
        ContextBlock,
        HeaderBlock,
        MarkdownTextObject,
        PlainTextObject,
        SectionBlock,
    )

    title = EVENT_TITLES.get(note["event"], note["event"])
    what = f"*{_esc(one_line(note['tool'] or 'an action', 200))}*"
    if note["target"]:
        target = _esc(one_line(note["target"], 400)).replace("`", "'")
        what += f" on `{target}`"
    if note["environment"]:
        what += f" in *{_esc(one_line(note['environment'], 100))}*"
    fields = [
        MarkdownTextObject(text=f"*{k}*\n{_esc(one_line(v, 200))}")
        for k, v in (
            ("Level", note["level"]),
            ("Score", note["score"]),
            ("Team", note["team"]),
            ("Expires", note["expires_at"]),
        )
        if v is not None
    ]
    blocks: list[Any] = [
        HeaderBlock(text=PlainTextObject(text=one_line(title, _HEADER_MAX))),
        SectionBlock(text=MarkdownTextObject(text=_esc(one_line(note["summary"], 2000)))),
        SectionBlock(text=MarkdownTextObject(text=what), fields=fields or None),
    ]
    if note["reasons"]:
        lines = ["*Why it needs a human*"] + [
            f"• {_esc(one_line(r, 10_000))}" for r in note["reasons"]
        ]
        blocks += [
            SectionBlock(text=MarkdownTextObject(text=c)) for c in _chunks(lines, _SECTION_MAX)
        ]
    context = [f"delivery `{_esc(note['id'])}`", f"at {_esc(note['occurred_at'])}"]
    if note["review_id"]:
        context.insert(0, f"review `{_esc(note['review_id'])}`")
    if note["actor"]:
        context.append(f"by {_esc(one_line(note['actor'], 100))}")
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=" · ".join(context))]))
    if note["link"]:
        blocks.append(
            ActionsBlock(
                elements=[
                    ButtonElement(
                        text=PlainTextObject(text="Open in the console"),
                        url=note["link"],
                        action_id="interlock_open_review",
                        style="primary",
                    )
                ]
            )
        )
    return blocks


def slack_message(note: Notification) -> dict[str, Any]:
    """The JSON object posted to the incoming webhook: `text` (the fallback shown in
    notifications) and `blocks`. Each block is validated by slack_sdk before it is sent."""
    from slack_sdk.errors import SlackObjectFormationError

    blocks = slack_blocks(note)
    try:
        for block in blocks:
            block.validate_json()
    except SlackObjectFormationError as exc:
        msg = f"the Slack message did not validate ({exc}); not retrying."
        raise ChannelError(msg, False) from None
    return {"text": _esc(one_line(note["summary"], 2000)), "blocks": [b.to_dict() for b in blocks]}


class SlackChannel:
    """Posts each notification to the Slack incoming webhook whose URL is in `url_env`."""

    kind = "slack"

    def __init__(
        self, config: SlackChannelConfig, environ: Mapping[str, str] | None = None
    ) -> None:
        self.config = config
        self.name = config.name
        self._environ = environ

    def send(self, note: Notification) -> None:
        url = need_secret(self.name, self.config.url_env, self._environ)
        try:
            message = slack_message(note)
        except ChannelError as exc:
            raise ChannelError(str(exc), exc.retryable, channel=self.name) from None
        body = json.dumps(message, ensure_ascii=False).encode()
        post(
            channel=self.name,
            url=url,
            url_env=self.config.url_env,
            body=body,
            headers={"Content-Type": "application/json; charset=utf-8"},
            timeout=self.config.timeout,
        )
