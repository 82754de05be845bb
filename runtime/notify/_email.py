"""E-mail over SMTP with the standard library (`smtplib`, `email.message`).

One plain-text message per notification: the subject says the event, the action and the
risk; the body the reasons in full and the console link. `Message-ID` is derived from the
delivery id, so a mail delivered twice after a retry threads as one in most clients.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate

from interlock.runtime.notify._config import EmailChannelConfig
from interlock.runtime.notify._http import need_secret
from interlock.runtime.notify._message import EVENT_TITLES, Notification, one_line
from interlock.runtime.notify.errors import ChannelError

__all__ = ["EmailChannel", "email_message"]


def email_message(note: Notification, *, sender: str, to: tuple[str, ...]) -> EmailMessage:
    """The e-mail of `note`."""
    msg = EmailMessage()
    risk = " ".join(str(x) for x in (note["level"], note["score"]) if x is not None)
    subject = f"[Interlock] {one_line(note['summary'], 180)}"
    if risk and risk not in subject:
        subject += f" [{risk}]"
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = f"<{note['id']}@interlock.notify>"
    msg["X-Interlock-Delivery"] = note["id"]
    msg["X-Interlock-Event"] = note["event"]
    lines = [one_line(note["summary"], 1000), ""]
    for label, value in (
        ("Event", EVENT_TITLES.get(note["event"], note["event"])),
        ("Action", note["tool"]),
        ("Target", note["target"]),
        ("Environment", note["environment"]),
        ("Level", note["level"]),
        ("Score", note["score"]),
        ("Team", note["team"]),
        ("Expires", note["expires_at"]),
        ("By", note["actor"]),
        ("Review", note["review_id"]),
        ("Thread", note["thread_id"]),
    ):
        if value is not None:
            lines.append(f"{label + ':':<13}{one_line(value, 1000)}")
    if note["reasons"]:
        lines += ["", "Why it needs a human:"] + [
            f"  - {one_line(r, 10_000)}" for r in note["reasons"]
        ]
    lines.append("")
    if note["link"]:
        lines += ["Open the review (sign in to decide):", note["link"]]
    else:
        lines.append("Open the Interlock console to decide (no console_url is configured).")
    lines += ["", f"Delivery {note['id']} at {note['occurred_at']}. This message approves nothing."]
    msg.set_content("\n".join(lines) + "\n")
    return msg


class EmailChannel:
    """Sends each notification as an e-mail through the configured SMTP server."""

    kind = "email"

    def __init__(
        self, config: EmailChannelConfig, environ: Mapping[str, str] | None = None
    ) -> None:
        self.config = config
        self.name = config.name
        self._environ = environ

    def send(self, note: Notification) -> None:
        cfg = self.config
        password = (
            need_secret(self.name, cfg.password_env, self._environ) if cfg.password_env else None
        )
        message = email_message(note, sender=cfg.sender, to=cfg.to)
        where = f"SMTP server {cfg.host}:{cfg.port}"
        try:
            if cfg.tls == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    cfg.host, cfg.port, timeout=cfg.timeout, context=ssl.create_default_context()
                )
            else:
                smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
            with smtp:
                if cfg.tls == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if cfg.username and password is not None:
                    smtp.login(cfg.username, password)
                refused = smtp.send_message(message)
        except smtplib.SMTPAuthenticationError as exc:
            msg = (
                f"{where} refused the login of {cfg.username} ({exc.smtp_code}); "
                f"check {cfg.password_env}."
            )
            raise ChannelError(msg, False, channel=self.name) from None
        except smtplib.SMTPNotSupportedError:
            msg = (
                f'{where} does not support STARTTLS; set tls = "ssl" or "none" if that is intended.'
            )
            raise ChannelError(msg, False, channel=self.name) from None
        except smtplib.SMTPRecipientsRefused as exc:
            codes = sorted({code for code, _ in exc.recipients.values()})
            retry = all(400 <= c < 500 for c in codes)
            msg = f"{where} refused every recipient ({', '.join(map(str, codes))})."
            raise ChannelError(msg, retry, channel=self.name) from None
        except smtplib.SMTPResponseException as exc:
            # 4xx: the server is busy or greylisting, later may work; 5xx: it will not
            retry = 400 <= exc.smtp_code < 500
            said = one_line(
                exc.smtp_error.decode(errors="replace")
                if isinstance(exc.smtp_error, bytes)
                else exc.smtp_error,
                200,
            )
            msg = f"{where} answered {exc.smtp_code} {said}"
            raise ChannelError(msg, retry, channel=self.name) from None
        except ssl.SSLError as exc:
            msg = f"TLS with {where} failed ({one_line(exc, 200)}); will retry."
            raise ChannelError(msg, True, channel=self.name) from None
        except (OSError, smtplib.SMTPException) as exc:
            # refused, unreachable, timed out, or the server hung up mid-way
            why = f"{type(exc).__name__}: {one_line(exc, 200)}"
            msg = f"could not deliver through {where} ({why}); will retry."
            raise ChannelError(msg, True, channel=self.name) from None
        if refused:
            # some recipients took it: retrying would send it again to those, so report only
            msg = f"{where} refused {', '.join(sorted(refused))}; the others received it."
            raise ChannelError(msg, False, channel=self.name)
