"""How a decision transaction fails: a lost race, a refused grant, and giving the thread's
claim back after either."""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING

from interlock.runtime.store._claims import Claim
from interlock.runtime.store._db import Conn

if TYPE_CHECKING:
    from interlock.runtime.execution._runner import Engine

__all__ = ["denied_message", "give_back", "is_integrity"]


def is_integrity(exc: BaseException) -> bool:
    """A unique constraint refused the write: another decision on the review won."""
    name = type(exc).__name__
    return name in ("IntegrityError", "UniqueViolation") or "unique" in str(exc).lower()


def denied_message(exc: BaseException, recorded: bool) -> str:
    """Postgres refused a write of the decision (SQLSTATE 42501): its own reason, one line."""
    first = (str(exc).strip().splitlines() or ["permission denied"])[0].rstrip(".")
    done = "The decision was recorded; the resume was not." if recorded else "Nothing was recorded."
    return (
        f"the database refused: {first}. This database user may not do that (it is the agent "
        "side's, or another that lacks the grants); decide with the reviewer side's URL "
        f"(`interlock db roles --print-urls`). {done}"
    )


def give_back(engine: Engine, conn: Conn, claim: Claim, *, failed: bool) -> None:
    """Release the thread's claim on the connection holding it. After an error that
    connection may sit in an aborted transaction, where the unlock fails too (hiding the real
    error, leaving the advisory lock held): roll back first; if the release still fails, the
    propagating error is the one to report and closing the connection drops the lock."""
    pg = conn.dialect == "postgres"
    if not failed:
        engine.locks.release(conn, claim)
        return
    if pg and not (conn.raw.closed or conn.raw.broken) and conn.in_transaction:
        with suppress(Exception):
            conn.raw.rollback()
    try:
        engine.locks.release(conn, claim)
    except Exception:
        if pg:
            with suppress(Exception):
                conn.raw.close()
