"""The console's long-lived resources: one runtime per database, shared by all sessions.

`st.cache_resource` keeps them for the life of the server process, keyed on the database
URL together with the reviewers file and the policy file, because a cached resource
outlives a single session (and, in tests, a single AppTest). Released resources close
their connections.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from interlock.risk import Policy, default_policy, load_policy
from interlock.runtime import Runtime, Settings, parse_database_url

__all__ = ["ConsoleKey", "console_key", "get_runtime"]


@dataclass(frozen=True, kw_only=True)
class ConsoleKey:
    """What identifies a runtime: where its state lives and which files configure it."""

    url: str
    reviewers: str
    policy: str | None


def console_key() -> ConsoleKey:
    """The key for this process's settings (`INTERLOCK_DATABASE_URL` and friends)."""
    settings = Settings.from_env()
    return ConsoleKey(
        url=settings.database_url,
        reviewers=str(settings.reviewers),
        policy=str(settings.policy) if settings.policy else None,
    )


def _policy(path: str | None) -> Policy:
    return default_policy() if path is None else load_policy(Path(path))


def _close(rt: Runtime) -> None:
    rt.close()


@st.cache_resource(show_spinner="Opening the database…", on_release=_close)
def _open(url: str, reviewers: str, policy: str | None) -> Runtime:
    # On Postgres the reviewers are the database's: a file named by the environment is not
    # who reviews there (the embedded SQLite mode trusts the local user, and its file).
    path = None if parse_database_url(url).dialect == "postgres" else Path(reviewers)
    return Runtime.open(url, policy=_policy(policy), reviewers_path=path)


def get_runtime(key: ConsoleKey | None = None) -> Runtime:
    """The shared runtime for `key` (default: this process's settings)."""
    key = key or console_key()
    return _open(key.url, key.reviewers, key.policy)
