"""The e-mail channel against a real SMTP server on loopback (aiosmtpd): the test reads the
subject, the body and the link of what arrived; refusals and outages are sorted into
retry-later and give-up."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from interlock.runtime.notify import (
    ChannelError,
    EmailChannel,
    EmailChannelConfig,
    build_notification,
    parse_notify_config,
    sample_notification,
)

CFG = parse_notify_config('console_url = "https://console.example.com"', source="n.toml")


@dataclass
class Mailbox:
    port: int
    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    rcpt_answer: str | None = None
    """What the server answers to RCPT TO (None: accept)."""


class _Handler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.box.rcpt_answer:
            return self.box.rcpt_answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content, policy=default)
        assert isinstance(msg, EmailMessage)
        self.box.messages.append((list(envelope.rcpt_tos), msg))
        return "250 Message accepted"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        b"interlock",
        b"mail-pass",
    )
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox(port=_free_port())
    controller = Controller(
        _Handler(box),
        hostname="127.0.0.1",
        port=box.port,
        authenticator=_authenticator,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


def _channel(
    port: int, *, env: dict[str, str] | None = None, timeout: float = 5.0, **kw: Any
) -> EmailChannel:
    kw.setdefault("tls", "none")
    cfg = EmailChannelConfig(
        name="ops-email",
        host="127.0.0.1",
        port=port,
        sender="interlock@example.com",
        to=("ops@example.com", "db@example.com"),
        timeout=timeout,
        **kw,
    )
    return EmailChannel(cfg, env or {})


def test_the_mail_arrives_with_subject_body_and_link(mailbox: Mailbox) -> None:
    note = sample_notification(CFG, team="ops")
    _channel(mailbox.port).send(note)
    ((rcpts, msg),) = mailbox.messages
    assert rcpts == ["ops@example.com", "db@example.com"]
    assert msg["From"] == "interlock@example.com"
    assert msg["Subject"].startswith("[Interlock] Test notification")
    assert "[critical 95]" in msg["Subject"]
    assert msg["X-Interlock-Delivery"] == note["id"]
    assert msg["Message-ID"] == f"<{note['id']}@interlock.notify>"
    body = msg.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "https://console.example.com/review?review=rv-notify-test" in text
    for reason in note["reasons"]:
        assert reason in text
    assert "Action:      delete_volume" in text
    assert "Target:      volume vol-test-0001" in text
    assert "Environment: production" in text
    assert "This message approves nothing." in text


def test_the_subject_of_a_real_review_names_the_action_and_risk(mailbox: Mailbox) -> None:
    request = {
        "action_requests": [
            {
                "name": "delete_volume",
                "environment": "production",
                # agent-side text trying to inject a header
                "resource": {"type": "volume", "id": "vol-1\r\nBcc: attacker@example.com"},
                "assessment": {
                    "score": 92,
                    "level": "critical",
                    "reasons": [
                        {"rule": "prod-delete", "text": "Deletes in production", "points": 70}
                    ],
                },
            }
        ]
    }
    note = build_notification("review_opened", request=request, review_id="rv-7", config=CFG)
    _channel(mailbox.port).send(note)
    ((rcpts, msg),) = mailbox.messages
    assert msg["Subject"] == (
        "[Interlock] Review needed: delete_volume on volume vol-1 Bcc: attacker@example.com "
        "in production (critical 92)"
    )
    assert msg["Bcc"] is None
    assert "attacker@example.com" not in rcpts
    body = msg.get_body(("plain",))
    assert body is not None
    assert "Deletes in production (prod-delete, +70)" in body.get_content()


def test_login_with_the_password_from_the_environment(mailbox: Mailbox) -> None:
    channel = _channel(
        mailbox.port, env={"SMTP_PASS": "mail-pass"}, username="interlock", password_env="SMTP_PASS"
    )
    channel.send(sample_notification())
    assert len(mailbox.messages) == 1


def test_a_wrong_password_is_not_retryable(mailbox: Mailbox) -> None:
    channel = _channel(
        mailbox.port, env={"SMTP_PASS": "wrong"}, username="interlock", password_env="SMTP_PASS"
    )
    with pytest.raises(ChannelError) as err:
        channel.send(sample_notification())
    assert err.value.retryable is False
    assert "refused the login of interlock (535); check SMTP_PASS" in str(err.value)
    assert mailbox.messages == []


def test_a_missing_password_variable_is_not_retryable(mailbox: Mailbox) -> None:
    channel = _channel(mailbox.port, username="interlock", password_env="SMTP_PASS")
    with pytest.raises(ChannelError) as err:
        channel.send(sample_notification())
    assert err.value.retryable is False
    assert str(err.value) == (
        "channel ops-email: environment variable SMTP_PASS is not set; "
        "export it where the worker runs."
    )


def test_starttls_against_a_server_without_it_is_refused_not_sent_in_clear(
    mailbox: Mailbox,
) -> None:
    with pytest.raises(ChannelError) as err:
        _channel(mailbox.port, tls="starttls").send(sample_notification())
    assert err.value.retryable is False
    assert "does not support STARTTLS" in str(err.value)
    assert mailbox.messages == []


@pytest.mark.parametrize(
    ("answer", "retryable"),
    [("550 5.1.1 No such user", False), ("451 4.7.1 Greylisted, try again later", True)],
)
def test_refused_recipients(mailbox: Mailbox, answer: str, retryable: bool) -> None:
    mailbox.rcpt_answer = answer
    with pytest.raises(ChannelError) as err:
        _channel(mailbox.port).send(sample_notification())
    assert err.value.retryable is retryable
    assert f"refused every recipient ({answer[:3]})" in str(err.value)


def test_smtp_server_down_is_retryable() -> None:
    with pytest.raises(ChannelError) as err:
        _channel(_free_port()).send(sample_notification())
    assert err.value.retryable is True
    assert "ConnectionRefusedError" in str(err.value)


def test_a_server_that_never_greets_times_out_and_is_retryable() -> None:
    with socket.socket() as silent:  # accepts connections (backlog) and says nothing
        silent.bind(("127.0.0.1", 0))
        silent.listen(5)
        port = silent.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(ChannelError) as err:
            _channel(port, timeout=0.5).send(sample_notification())
        assert time.monotonic() - started < 3
    assert err.value.retryable is True
    assert "will retry" in str(err.value)
