"""Lock waits on Postgres: how long an Interlock statement waits for a lock another session
holds, the one line for a statement that gave up, and the advisory lock admin steps queue on."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from interlock.risk.errors import ConfigError

if TYPE_CHECKING:
    from interlock.runtime.store._db import Conn

__all__ = [
    "LOCK_TIMEOUT_SQLSTATE",
    "PG_LOCK_TIMEOUT_S",
    "lock_timeout_s",
    "lock_wait_message",
    "wait_for_xact_lock",
]

PG_LOCK_TIMEOUT_S = 10.0
"""How long any Interlock statement waits for a row or advisory lock another session holds
(`INTERLOCK_LOCK_TIMEOUT` seconds overrides it). A session of the agent's role may lock rows
it can write (the audit log's head, which every audited write takes) and sit on them in an
open transaction: reviewers' writes then fail after this long with one clear line instead of
hanging (`lock_wait_message`)."""
LOCK_TIMEOUT_SQLSTATE = "55P03"


def lock_timeout_s(environ: Mapping[str, str] | None = None) -> float:
    """`INTERLOCK_LOCK_TIMEOUT` (seconds), else `PG_LOCK_TIMEOUT_S`."""
    raw = (os.environ if environ is None else environ).get("INTERLOCK_LOCK_TIMEOUT", "").strip()
    if not raw:
        return PG_LOCK_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.1 <= value <= 3600:
        msg = (
            f"INTERLOCK_LOCK_TIMEOUT must be seconds from 0.1 to 3600, got {raw!r}; unset it "
            f"for the default ({PG_LOCK_TIMEOUT_S:g} s)."
        )
        raise ConfigError(msg)
    return value


def lock_wait_message(exc: BaseException) -> str | None:
    """The one line for a statement Postgres cancelled after the lock timeout
    (`lock_timeout_s`) waiting for a lock; None for any other error."""
    if getattr(exc, "sqlstate", None) != LOCK_TIMEOUT_SQLSTATE:
        return None
    return (
        f"the database gave up after {lock_timeout_s():g} s waiting for a lock that another "
        "session holds in an open transaction (on Interlock's rows, such as the audit log's "
        "head); nothing was recorded. Find that session with `SELECT pid, usename, "
        "xact_start FROM pg_stat_activity WHERE state LIKE 'idle in transaction%'`, end it "
        "with `SELECT pg_terminate_backend(pid)`, and try again."
    )


def wait_for_xact_lock(conn: Conn, key: int) -> None:
    """Take a transaction-scoped advisory lock on Postgres, waiting as long as it takes: the
    one-at-a-time admin steps (migrations, role setup) queue behind each other rather than
    fail after the lock timeout; the rest of the transaction keeps that timeout."""
    ms = int(lock_timeout_s() * 1000)
    conn.execute("SET LOCAL lock_timeout = 0")
    conn.execute("SELECT pg_advisory_xact_lock(?)", (key,))
    conn.execute(f"SET LOCAL lock_timeout = {ms}")
