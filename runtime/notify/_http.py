"""One HTTP POST with a hard timeout, its failures sorted into retry-later or give-up.

The URL is a secret (a Slack incoming webhook URL is a credential), so no message here
contains it: errors name the channel and the environment variable instead.
"""

from __future__ import annotations

from collections.abc import Mapping

from interlock.runtime.notify._config import read_secret
from interlock.runtime.notify._message import one_line
from interlock.runtime.notify.errors import ChannelError

__all__ = ["need_secret", "post"]

_RETRY_STATUS = frozenset({408, 425, 429})


def need_secret(channel: str, var: str, environ: Mapping[str, str] | None) -> str:
    """The value of `var`; a non-retryable ChannelError when it is unset (retrying cannot
    help until someone sets it)."""
    value = read_secret(var, environ)
    if value is None:
        msg = f"environment variable {var} is not set; export it where the worker runs."
        raise ChannelError(msg, False, channel=channel)
    return value


def post(
    *, channel: str, url: str, url_env: str, body: bytes, headers: Mapping[str, str], timeout: float
) -> None:
    """POST `body` to `url`; returns on 2xx, else raises ChannelError.

    Retryable: no connection, a timeout, 5xx, 408, 425 and 429. Not retryable: other 4xx and
    3xx (redirects are not followed: a signed body goes only where it was configured to go).
    """
    import httpx  # imported on first send: `interlock --help` stays light

    try:
        response = httpx.post(
            url,
            content=body,
            headers=dict(headers),
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
        )
    except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError):
        msg = f"{url_env} does not hold a valid http(s) URL; fix the variable."
        raise ChannelError(msg, False, channel=channel) from None
    except httpx.TimeoutException:
        msg = f"no answer within {timeout:g}s from the URL in {url_env}; will retry."
        raise ChannelError(msg, True, channel=channel) from None
    except httpx.TransportError as exc:
        msg = f"could not reach the URL in {url_env} ({type(exc).__name__}); will retry."
        raise ChannelError(msg, True, channel=channel) from None
    status = response.status_code
    if 200 <= status < 300:
        return
    said = one_line(response.text, 200)
    said = f": {said}" if said else ""
    if status >= 500 or status in _RETRY_STATUS:
        msg = f"the URL in {url_env} answered {status}{said}; will retry."
        raise ChannelError(msg, True, channel=channel)
    msg = f"the URL in {url_env} answered {status}{said}; not retrying (fix the channel)."
    raise ChannelError(msg, False, channel=channel)
