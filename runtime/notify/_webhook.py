"""The generic webhook: the notification as JSON, signed so the receiver can trust it.

Headers: `X-Interlock-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed by the
secret>`, `X-Interlock-Delivery: <delivery id>` (the same on every retry: the receiver's
dedupe key), `X-Interlock-Timestamp: <unix seconds of this attempt>` and
`X-Interlock-Event: <event>`. A receiver checks the signature with `verify_signature` (or the
same three lines of HMAC in any language) before it reads the body.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping

from interlock.runtime.notify._config import WebhookChannelConfig
from interlock.runtime.notify._http import need_secret, post
from interlock.runtime.notify._message import Notification

__all__ = ["SIGNATURE_HEADER", "WebhookChannel", "sign_body", "verify_signature", "webhook_body"]

SIGNATURE_HEADER = "X-Interlock-Signature"


def webhook_body(note: Notification) -> bytes:
    """The exact bytes that are sent and signed: compact JSON, sorted keys, UTF-8."""
    return json.dumps(note, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign_body(body: bytes, secret: str) -> str:
    """The `X-Interlock-Signature` value of `body`: `sha256=<hex>`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, header: str | None, secret: str) -> bool:
    """True when `header` is the signature of `body` under `secret` (constant-time compare)."""
    return bool(header) and hmac.compare_digest(sign_body(body, secret), str(header))


class WebhookChannel:
    """POSTs each notification as signed JSON to the URL in `url_env`."""

    kind = "webhook"

    def __init__(
        self, config: WebhookChannelConfig, environ: Mapping[str, str] | None = None
    ) -> None:
        self.config = config
        self.name = config.name
        self._environ = environ

    def send(self, note: Notification) -> None:
        cfg = self.config
        url = need_secret(self.name, cfg.url_env, self._environ)
        secret = need_secret(self.name, cfg.secret_env, self._environ)
        body = webhook_body(note)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "interlock-notify",
            SIGNATURE_HEADER: sign_body(body, secret),
            "X-Interlock-Delivery": note["id"],
            "X-Interlock-Event": note["event"],
            "X-Interlock-Timestamp": str(int(time.time())),
        }
        post(
            channel=self.name,
            url=url,
            url_env=cfg.url_env,
            body=body,
            headers=headers,
            timeout=cfg.timeout,
        )
