"""The webhook channel against a real HTTP server on loopback: the receiver verifies the
HMAC over the raw body and dedupes on the delivery id; a channel that is down is retryable,
a refusal is not."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import TYPE_CHECKING

import pytest

from interlock.runtime.notify import (
    ChannelError,
    WebhookChannel,
    WebhookChannelConfig,
    build_channels,
    build_notification,
    parse_notify_config,
    sample_notification,
    verify_signature,
)

if TYPE_CHECKING:
    from conftest import Receiver  # this folder's conftest (the fixture's type)

SECRET = "s3cret-for-tests"


def _channel(url: str, *, timeout: float = 2.0, secret: str | None = SECRET) -> WebhookChannel:
    env = {"HOOK_URL": url}
    if secret is not None:
        env["HOOK_SECRET"] = secret
    cfg = WebhookChannelConfig(
        name="hook", url_env="HOOK_URL", secret_env="HOOK_SECRET", timeout=timeout
    )
    return WebhookChannel(cfg, env)


def test_the_receiver_verifies_the_hmac_and_reads_the_delivery_id(receiver: Receiver) -> None:
    note = sample_notification()
    before = int(time.time())
    _channel(receiver.url).send(note)
    (got,) = receiver.received
    assert got.path == "/hook/secret-path"
    # the receiver's own check, written as a receiver would, over the raw bytes
    expected = "sha256=" + hmac.new(SECRET.encode(), got.body, hashlib.sha256).hexdigest()
    assert got.headers["X-Interlock-Signature"] == expected
    assert verify_signature(got.body, got.headers["X-Interlock-Signature"], SECRET)
    assert not verify_signature(got.body, expected, "another-secret")
    assert not verify_signature(got.body + b" ", expected, SECRET)
    assert got.headers["X-Interlock-Delivery"] == note["id"]
    assert got.headers["X-Interlock-Event"] == "review_opened"
    assert before <= int(got.headers["X-Interlock-Timestamp"]) <= int(time.time())
    assert got.headers["Content-Type"] == "application/json"
    assert json.loads(got.body) == note


def test_a_retry_carries_the_same_delivery_id_and_body(receiver: Receiver) -> None:
    note = sample_notification()
    channel = _channel(receiver.url)
    channel.send(note)
    channel.send(note)
    first, second = receiver.received
    assert first.headers["X-Interlock-Delivery"] == second.headers["X-Interlock-Delivery"]
    assert first.body == second.body
    seen = {r.headers["X-Interlock-Delivery"] for r in receiver.received}
    assert seen == {note["id"]}  # what a receiver deduplicating on the id keeps: one


@pytest.mark.parametrize("status", [500, 502, 503, 429, 408])
def test_a_server_error_or_busy_answer_is_retryable(receiver: Receiver, status: int) -> None:
    receiver.status = status
    receiver.body = b"try later"
    with pytest.raises(ChannelError) as err:
        _channel(receiver.url).send(sample_notification())
    assert err.value.retryable is True
    assert (
        str(err.value)
        == f"channel hook: the URL in HOOK_URL answered {status}: try later; will retry."
    )
    assert "secret-path" not in str(err.value)  # the URL is a secret: never in a message


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410])
def test_a_client_error_is_not_retryable(receiver: Receiver, status: int) -> None:
    receiver.status = status
    receiver.body = b"bad signature"
    with pytest.raises(ChannelError) as err:
        _channel(receiver.url).send(sample_notification())
    assert err.value.retryable is False
    assert "not retrying" in str(err.value)


def test_a_redirect_is_not_followed(receiver: Receiver) -> None:
    receiver.status = 302
    receiver.location = "http://127.0.0.1:9/elsewhere"
    with pytest.raises(ChannelError) as err:
        _channel(receiver.url).send(sample_notification())
    assert err.value.retryable is False
    assert len(receiver.received) == 1


def test_connection_refused_is_retryable(dead_port: int) -> None:
    with pytest.raises(ChannelError) as err:
        _channel(f"http://127.0.0.1:{dead_port}/hook").send(sample_notification())
    assert err.value.retryable is True
    assert (
        str(err.value)
        == "channel hook: could not reach the URL in HOOK_URL (ConnectError); will retry."
    )


def test_a_server_that_does_not_answer_times_out_and_is_retryable(receiver: Receiver) -> None:
    receiver.delay = 3.0
    started = time.monotonic()
    with pytest.raises(ChannelError) as err:
        _channel(receiver.url, timeout=0.5).send(sample_notification())
    assert time.monotonic() - started < 2.5  # the worker is never held longer than the timeout
    assert err.value.retryable is True
    assert (
        str(err.value)
        == "channel hook: no answer within 0.5s from the URL in HOOK_URL; will retry."
    )


def test_a_missing_secret_is_not_retryable_and_sends_nothing(receiver: Receiver) -> None:
    with pytest.raises(ChannelError) as err:
        _channel(receiver.url, secret=None).send(sample_notification())
    assert err.value.retryable is False
    assert str(err.value) == (
        "channel hook: environment variable HOOK_SECRET is not set; "
        "export it where the worker runs."
    )
    assert receiver.received == []


def test_a_variable_that_holds_no_url_is_not_retryable() -> None:
    with pytest.raises(ChannelError) as err:
        _channel("not a url").send(sample_notification())
    assert err.value.retryable is False
    assert "HOOK_URL does not hold a valid http(s) URL" in str(err.value)


def test_built_from_the_notify_file_with_secrets_from_the_environment(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = parse_notify_config(
        'console_url = "http://127.0.0.1:8501"\n'
        '[channels.ops-hook]\nkind = "webhook"\n'
        'url_env = "T_HOOK_URL"\nsecret_env = "T_HOOK_KEY"\n',
        source="n.toml",
    )
    monkeypatch.setenv("T_HOOK_URL", receiver.url)
    monkeypatch.setenv("T_HOOK_KEY", "rotated-key")
    channel = build_channels(cfg)["ops-hook"]
    assert (channel.name, channel.kind) == ("ops-hook", "webhook")
    request = {
        "thread_id": "t-1",
        "action_requests": [
            {
                "name": "drop_table",
                "environment": "production",
                "resource": {"type": "table", "id": "orders"},
                "assessment": {"score": 90, "level": "critical", "reasons": []},
            }
        ],
    }
    note = build_notification("review_opened", request=request, review_id="rv-9", config=cfg)
    channel.send(note)
    (got,) = receiver.received
    assert verify_signature(got.body, got.headers["X-Interlock-Signature"], "rotated-key")
    body = json.loads(got.body)
    assert body["link"] == "http://127.0.0.1:8501/review?review=rv-9"
    assert (body["tool"], body["target"], body["environment"]) == (
        "drop_table",
        "table orders",
        "production",
    )
