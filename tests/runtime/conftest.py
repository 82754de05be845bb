"""Fixtures for runtime tests: an open, migrated database on each backend, and a Runtime."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from interlock.graphs import Infra, ScriptedChatModel, build_gated_graph, make_ops_tools, say
from interlock.runtime import Database, Runtime, open_database, upgrade_database


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """`db_url` opened and upgraded to the latest schema (SQLite and Postgres)."""
    with open_database(db_url) as database:
        upgrade_database(database)
        yield database


def scripted_ops(**kw: Any) -> Any:
    """The ops tools driven by a script: options `infra` (file) and `turns`, a list of model
    turns, each a list of [tool, args] calls. Past the script the agent says "Done."."""
    options = kw["options"]
    turns = [
        say(f"turn {i}", *[(t, a) for t, a in calls]) for i, calls in enumerate(options["turns"])
    ]
    builder, gate = build_gated_graph(
        ScriptedChatModel(steps=turns),
        make_ops_tools(Infra(options["infra"])),
        kw["policy"],
        agent="ops-agent",
        approvals=kw["approvals"],
        ledger=kw["ledger"],
        audit=kw["audit"],
        issue_on_resume=kw["issue_on_resume"],
    )
    return SimpleNamespace(graph=builder.compile(checkpointer=kw["checkpointer"]), gate=gate)


@pytest.fixture
def open_rt(db_url: str, tmp_path: Path) -> Iterator[Callable[..., Runtime]]:
    """Opens Runtimes on `db_url` (both backends) with the `scripted_ops` graph registered;
    keyword arguments go to `Runtime.open`. All are closed after the test."""
    opened: list[Runtime] = []

    def open_one(**kwargs: Any) -> Runtime:
        kwargs.setdefault("reviewers_path", tmp_path / "reviewers.toml")
        kwargs["graphs"] = {"scripted_ops": scripted_ops, **kwargs.get("graphs", {})}
        opened.append(Runtime.open(db_url, **kwargs))
        return opened[-1]

    yield open_one
    for runtime in opened:
        runtime.close()


@pytest.fixture
def rt(open_rt: Callable[..., Runtime]) -> Runtime:
    """A `Runtime` on `db_url` (both backends) with the `scripted_ops` graph registered."""
    return open_rt()


@pytest.fixture
def ops_options(tmp_path: Path) -> dict[str, str]:
    """Options that give the ops agent its own simulated infrastructure file."""
    return {"infra": str(tmp_path / "infra.json")}
