"""Rendering helpers shared by the console pages.

Agent and tool output is untrusted: a model can be talked into writing markdown links,
images that call home, or HTML. Everything that came from an agent, a tool or a request goes
through `untrusted()` (plain text, never markdown), `md()` (our own markdown with the
untrusted parts escaped) or a dataframe cell, which the browser draws as text. Nothing in the
console uses `unsafe_allow_html`.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import streamlit as st

from interlock.risk.errors import ConfigError
from interlock.runtime.store import lock_wait_message

__all__ = [
    "DB_ERRORS",
    "LEVELS_URGENT_FIRST",
    "LEVEL_COLOURS",
    "age_text",
    "code_span",
    "db_guard",
    "esc",
    "level_badge",
    "md",
    "outcome_badge",
    "untrusted",
]


def _db_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [sqlite3.OperationalError]
    try:  # the console runs on SQLite without the [postgres] extra installed
        import psycopg
        import psycopg_pool
    except ImportError:
        return tuple(errors)
    return (psycopg.OperationalError, psycopg_pool.PoolTimeout, *errors)


# Errors that mean "the database is not answering right now", not "the request is wrong".
DB_ERRORS: tuple[type[BaseException], ...] = _db_errors()

LEVELS_URGENT_FIRST = ("critical", "high", "medium", "low")
# Pill colours for the level column of tables, in LEVELS_URGENT_FIRST order.
LEVEL_COLOURS = ("#d32f2f", "#ef6c00", "#f9a825", "#2e7d32")
_LEVEL_COLOUR = {"low": "green", "medium": "orange", "high": "red", "critical": "red"}
_OUTCOME_COLOUR = {"allow": "green", "review": "orange", "deny": "red"}
# CommonMark lets any ASCII punctuation be backslash-escaped; escaping all of it also
# defuses Streamlit's own syntax (`:red[...]`, `$math$`, `:emoji:`).
_PUNCT = re.compile(r"([!-/:-@\[-`{-~])")


def esc(value: object) -> str:
    """`value` as markdown that renders literally: no links, images, HTML or directives."""
    text = str(value)
    return _PUNCT.sub(r"\\\1", text).replace("\n", "  \n")


def code_span(value: object) -> str:
    """`value` as an inline code span (backslash escapes do not work inside one)."""
    return "`" + str(value).replace("`", "'").replace("\n", " ") + "`"


def md(template: str, *values: object) -> None:
    """Markdown written by us, with each untrusted `{}` value escaped."""
    st.markdown(template.format(*(esc(v) for v in values)))


def untrusted(text: object, *, code: bool = False, language: str | None = None) -> None:
    """Agent or tool text, shown exactly as written and never interpreted."""
    value = "" if text is None else str(text)
    if code:
        st.code(value, language=language, wrap_lines=True)
    else:
        st.text(value)


def level_badge(level: str) -> str:
    """Markdown for a coloured level; `level` is escaped because it comes from a request."""
    colour = _LEVEL_COLOUR.get(level)
    return f":{colour}-badge[{esc(level)}]" if colour else esc(level)


def outcome_badge(outcome: str) -> str:
    colour = _OUTCOME_COLOUR.get(outcome)
    return f":{colour}-badge[{esc(outcome)}]" if colour else esc(outcome)


def age_text(delta: timedelta) -> str:
    """A short human duration: 45 s, 12 min, 3 h 05 min, 2 d 4 h; negative means overdue."""
    seconds = int(delta.total_seconds())
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    if seconds < 60:
        return f"{sign}{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{sign}{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{sign}{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{sign}{days} d {hours} h"


def now_utc() -> datetime:
    return datetime.now(UTC)


_DOWN_KEY = "interlock.db_down"
_SAVED_KEY = "interlock.saved_inputs"
# Inputs a reviewer typed or picked. Streamlit forgets a widget's value after a run that did
# not draw it, which is what happens when the database fails halfway through a page.
_KEEP = re.compile(
    r"^(decide_.+_(kind|args|message|role|note|confirm)"
    r"|inbox_(level|env|tool|role|mine|soon)"
    r"|audit_(thread|actor|event|decision|dates)"
    r"|controls_(scope|value|reason)"
    r"|policy_(example|try_json))$"
)


def _keep_inputs() -> None:
    saved = dict(st.session_state.get(_SAVED_KEY) or {})
    for key in list(st.session_state.keys()):
        if isinstance(key, str) and _KEEP.match(key):
            saved[key] = st.session_state[key]
    st.session_state[_SAVED_KEY] = saved


def _restore_inputs() -> None:
    # Before any widget of this run exists: a value set now becomes the widget's value.
    for key, value in (st.session_state.pop(_SAVED_KEY, None) or {}).items():
        if key not in st.session_state:
            st.session_state[key] = value


def _unavailable(exc: BaseException) -> bool:
    if isinstance(exc, DB_ERRORS):
        return True
    # Opening the runtime while the server is down: the driver's error arrives wrapped.
    return isinstance(exc, ConfigError) and str(exc).startswith("cannot connect to")


def db_guard(body: Callable[[], Any]) -> None:
    """Run a page body; when the database does not answer, say so and retry by itself.

    The page's widgets keep their values in the session, so after recovery the reviewer
    finds their input where they left it.
    """
    _restore_inputs()
    try:
        body()
    except Exception as exc:
        waited = lock_wait_message(exc)
        if waited is not None:  # another session sits on a lock: retrying would not help
            _keep_inputs()
            # Our own text, not the database's: its SQL shows as code, not as escaped marks.
            text = waited[0].upper() + waited[1:]
            st.error(f"**Not recorded.** {text}", icon=":material/lock:")
            return
        if not _unavailable(exc):
            raise
        _keep_inputs()
        st.session_state[_DOWN_KEY] = True
        st.error(
            "**Database unavailable, retrying.** Interlock cannot reach its database right now "
            "(it may be restarting). The page reloads by itself when the database answers "
            "again, with what you typed still in place. If you had just submitted a decision, "
            "the review will show whether it was recorded.",
            icon=":material/cloud_off:",
        )
        st.caption(f"Detail: {esc(type(exc).__name__)}: {esc(str(exc).strip()[:300])}")
        _retry_soon()
    else:
        if st.session_state.pop(_DOWN_KEY, False):
            st.toast("The database is back.", icon=":material/check_circle:")


@st.fragment(run_every=timedelta(seconds=3))
def _retry_soon() -> None:
    # Re-running the whole page is the retry: it runs when the fragment's timer fires.
    if st.button("Retry now", key="db_retry_now"):
        st.rerun(scope="app")
    st.caption(f"Next attempt in a few seconds · {now_utc():%H:%M:%S} UTC")
    if st.session_state.get("_db_retry_armed"):
        st.session_state["_db_retry_armed"] = False
        st.rerun(scope="app")
    st.session_state["_db_retry_armed"] = True
