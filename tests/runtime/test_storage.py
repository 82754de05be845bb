"""Opening databases from URLs: settings, URL errors, checkpoints that survive a reopen."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypedDict

import pytest

from interlock.risk.errors import ConfigError
from interlock.runtime import Database, Settings, open_checkpointer, open_database


class _State(TypedDict, total=False):
    asked: str
    answer: str


def _graph(checkpointer: Any) -> Any:
    from langgraph.graph import END, START, StateGraph
    from langgraph.types import interrupt

    def ask(state: _State) -> dict[str, str]:
        return {"answer": str(interrupt({"question": f"run {state['asked']}?"}))}

    builder = StateGraph(_State)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    builder.add_edge("ask", END)
    return builder.compile(checkpointer=checkpointer)


def test_settings_defaults_and_environment() -> None:
    assert Settings.from_env({}) == Settings()
    assert Settings().database_url == "sqlite:///./.interlock/interlock.db"
    assert Settings().policy is None
    got = Settings.from_env(
        {
            "INTERLOCK_DATABASE_URL": "postgresql://u@h:5432/d",
            "INTERLOCK_POLICY": "/etc/p.yaml",
            "INTERLOCK_REVIEWERS": "/etc/r.toml",
        }
    )
    assert got.database_url == "postgresql://u@h:5432/d"
    assert got.policy == Path("/etc/p.yaml")
    assert got.reviewers == Path("/etc/r.toml")
    # An empty variable restores the default instead of meaning "nothing".
    assert Settings.from_env({"INTERLOCK_POLICY": "", "INTERLOCK_DATABASE_URL": " "}) == Settings()


@pytest.mark.parametrize(
    "url",
    ["mysql://root@db/x", "sqlite://", "sqlite:///", "sqlite:///:memory:", "redis://h", "x"],
)
def test_unsupported_url_says_what_is_allowed(url: str) -> None:
    with pytest.raises(ConfigError) as err:
        open_database(url)
    assert "sqlite:///" in str(err.value)


def test_password_is_never_echoed_in_errors() -> None:
    with pytest.raises(ConfigError) as err:
        open_database("postgresql://app:s3cret@127.0.0.1:1/nodb")
    assert "s3cret" not in str(err.value)
    assert "cannot connect" in str(err.value)


def test_sqlite_creates_the_parent_directory_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "x.db"
    with open_database(f"sqlite:///{path}") as db, db.connection() as conn:
        assert conn.scalar("PRAGMA journal_mode") == "wal"
    assert path.exists()


def test_missing_sqlite_file_is_an_error_when_not_creating(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/absent.db"
    with pytest.raises(ConfigError, match="interlock db upgrade"):
        open_database(url, create=False)
    assert not (tmp_path / "absent.db").exists()


def test_checkpointer_pauses_and_resumes_across_reopen(db_url: str) -> None:
    from langgraph.types import Command

    cfg = {"configurable": {"thread_id": f"t-{uuid.uuid4().hex[:8]}"}}
    with open_checkpointer(db_url) as saver:
        first = _graph(saver).invoke({"asked": "backup"}, cfg)
        assert first["__interrupt__"][0].value == {"question": "run backup?"}
    # A new process would do exactly this: open again and answer the pending interrupt.
    with open_checkpointer(db_url) as saver:
        graph = _graph(saver)
        assert graph.get_state(cfg).interrupts
        done = graph.invoke(Command(resume="yes"), cfg)
        assert done == {"asked": "backup", "answer": "yes"}
        assert not graph.get_state(cfg).interrupts


def test_checkpointer_and_own_tables_share_one_database(db: Database) -> None:
    cfg = {"configurable": {"thread_id": "shared"}}
    _graph(db.checkpointer()).invoke({"asked": "x"}, cfg)
    assert db.checkpointer() is db.checkpointer()
    with db.connection() as conn:
        assert conn.scalar("SELECT count(*) AS n FROM interlock_stops") == 0


def test_transaction_commits_or_rolls_back(db: Database) -> None:
    now = datetime.now(UTC)
    insert = "INSERT INTO interlock_stops (scope, value, actor, created_at) VALUES (?, ?, ?, ?)"
    with db.transaction() as conn:
        conn.execute(insert, ("agent", "a1", "me", now))

    def fail_halfway() -> None:
        with db.transaction() as conn:
            conn.execute(insert, ("agent", "a2", "me", now))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail_halfway()
    with db.connection() as conn:
        rows = conn.all("SELECT value, created_at FROM interlock_stops ORDER BY value")
    assert [r["value"] for r in rows] == ["a1"]
    # Timestamps come back as aware datetimes on both backends, to the microsecond.
    assert rows[0]["created_at"] == now


def test_timestamps_compare_in_sql(db: Database) -> None:
    base = datetime(2026, 1, 1, 12, tzinfo=UTC)
    with db.transaction() as conn:
        for i, when in enumerate([base, base + timedelta(hours=1), base - timedelta(days=400)]):
            conn.execute(
                "INSERT INTO interlock_stops (scope, value, actor, created_at) VALUES (?, ?, ?, ?)",
                ("env", f"e{i}", "me", when.astimezone(tz=None)),
            )
    with db.connection() as conn:
        later = conn.all(
            "SELECT value FROM interlock_stops WHERE created_at >= ? ORDER BY created_at", (base,)
        )
    assert [r["value"] for r in later] == ["e0", "e1"]
