"""The Slack channel: a Block Kit message built and checked with slack_sdk's own models,
delivered to a real HTTP server on loopback standing in for the incoming webhook."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, SectionBlock

from interlock.runtime.notify import (
    ChannelError,
    SlackChannel,
    SlackChannelConfig,
    build_notification,
    parse_notify_config,
    sample_notification,
    slack_message,
)

if TYPE_CHECKING:
    from conftest import Receiver  # this folder's conftest (the fixture's type)

CFG = parse_notify_config('console_url = "https://console.example.com"', source="n.toml")


def _channel(url: str | None) -> SlackChannel:
    cfg = SlackChannelConfig(name="ops-slack", url_env="SLACK_URL", timeout=2.0)
    return SlackChannel(cfg, {} if url is None else {"SLACK_URL": url})


def _parsed(message: dict[str, Any]) -> list[Block]:
    blocks = [Block.parse(b) for b in message["blocks"]]
    assert all(b is not None for b in blocks)
    for b in blocks:
        assert b is not None
        b.validate_json()  # slack_sdk's own limits and required fields
    return [b for b in blocks if b is not None]


def test_the_message_parses_back_into_valid_slack_blocks_with_only_a_link_button(
    receiver: Receiver,
) -> None:
    note = sample_notification(CFG, team="ops")
    _channel(receiver.url).send(note)
    (got,) = receiver.received
    message = json.loads(got.body)
    assert message["text"] == note["summary"]
    blocks = _parsed(message)
    assert [b.type for b in blocks] == [
        "header",
        "section",
        "section",
        "section",
        "context",
        "actions",
    ]
    text = json.dumps(message)
    for reason in note["reasons"]:
        assert reason in text  # top reasons in full
    assert "delete_volume" in text
    assert "volume vol-test-0001" in text
    assert "production" in text
    assert "critical" in text
    (actions,) = [b for b in blocks if isinstance(b, ActionsBlock)]
    (button,) = actions.elements
    assert isinstance(button, ButtonElement)
    # a URL button opens the console; there is nothing to click that approves
    assert button.url == "https://console.example.com/review?review=rv-notify-test"
    assert button.value is None


def test_without_a_console_url_there_is_no_button() -> None:
    blocks = _parsed(slack_message(sample_notification()))
    assert not [b for b in blocks if isinstance(b, ActionsBlock)]


def test_agent_text_cannot_become_a_slack_link_or_mention() -> None:
    request = {
        "action_requests": [
            {
                "name": "send_email",
                "environment": "production",
                "resource": {
                    "type": "mailbox",
                    "id": "<https://evil.example|click to approve> <!channel>",
                },
                "assessment": {"score": 70, "level": "high", "reasons": []},
            }
        ]
    }
    message = slack_message(build_notification("review_opened", request=request, review_id="rv-1"))
    text = json.dumps(message)
    assert "<https://evil.example" not in text
    assert "<!channel>" not in text
    assert "&lt;https://evil.example|click to approve&gt;" in text
    _parsed(message)


def test_many_long_reasons_are_all_kept_within_slack_limits() -> None:
    reasons = [f"reason {i}: " + "x" * 1400 for i in range(5)] + ["y" * 4500]
    note = build_notification("review_opened", review_id="rv-2", summary="s", reasons=reasons)
    message = slack_message(note)
    blocks = _parsed(message)
    sections = [b for b in blocks if isinstance(b, SectionBlock)]
    joined = "".join(str(s.text.text) for s in sections if s.text is not None)
    for i in range(5):
        assert f"reason {i}: " + "x" * 1400 in joined
    assert joined.count("y") >= 4500


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(429, True), (500, True), (503, True), (400, False), (403, False), (404, False), (410, False)],
)
def test_slack_answers(receiver: Receiver, status: int, retryable: bool) -> None:
    receiver.status = status
    receiver.body = b"invalid_payload" if status == 400 else b"no_service"
    with pytest.raises(ChannelError) as err:
        _channel(receiver.url).send(sample_notification())
    assert err.value.retryable is retryable
    assert "SLACK_URL" in str(err.value)
    assert receiver.url not in str(err.value)


def test_slack_down_is_retryable(dead_port: int) -> None:
    with pytest.raises(ChannelError) as err:
        _channel(f"http://127.0.0.1:{dead_port}/services/T/B/X").send(sample_notification())
    assert err.value.retryable is True


def test_a_missing_webhook_url_is_not_retryable() -> None:
    with pytest.raises(ChannelError) as err:
        _channel(None).send(sample_notification())
    assert err.value.retryable is False
    assert "environment variable SLACK_URL is not set" in str(err.value)
