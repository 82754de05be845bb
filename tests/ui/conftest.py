"""Fixtures for the console: a migrated database with reviewers, and AppTest helpers.

`st.cache_resource` outlives an AppTest, so `console_env` clears it afterwards: that closes
the runtime (and its connection pool) of the test's own database before it is dropped.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import interlock.ui
from interlock.graphs import ScriptedChatModel, build_gated_graph, say
from interlock.graphs.ops_agent import SCENARIO_REQUEST
from interlock.nodes import gated
from interlock.risk import Resource
from interlock.runtime import (
    Database,
    DatabaseReviewers,
    ReviewerBook,
    Reviewers,
    Runtime,
    open_database,
    upgrade_database,
)

APP = Path(interlock.ui.__file__).parent / "console_app.py"
PASSWORD = "correct horse battery"
# name -> roles; the names say what each one may do in the tests.
PEOPLE: dict[str, tuple[str, ...]] = {
    "olivia": ("oncall",),
    "sam": ("sre-lead",),
    "sasha": ("sre-lead",),
    "ada": ("admin",),
    "olivia@example.com": ("oncall",),
}


@dataclass(frozen=True)
class ConsoleEnv:
    url: str
    reviewers: Path

    @contextmanager
    def book(self) -> Iterator[ReviewerBook]:
        """Where the console finds reviewers: the database's on Postgres, else the file."""
        if not self.url.startswith("postgresql"):
            yield Reviewers.load(self.reviewers)
            return
        with open_database(self.url) as db:
            yield DatabaseReviewers(db)


@pytest.fixture(scope="session")
def reviewers_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Hashing is slow on purpose (scrypt), so the reviewers file is made once and copied."""
    path = tmp_path_factory.mktemp("reviewers") / "reviewers.toml"
    book = Reviewers.load(path)
    for name, roles in PEOPLE.items():
        book.add(name, roles, PASSWORD, display=name.split("@")[0].title())
    return path


def _copy_into_table(db: Database, book: Reviewers) -> None:
    # The template's hashes as they are: hashing again (scrypt) would cost seconds per test.
    now = datetime.now(UTC)
    with db.transaction() as conn:
        for r in book:
            conn.execute(
                "INSERT INTO interlock_reviewers (name, name_key, roles, display, "
                "password_hash, created_at, updated_at, updated_by) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 'tests')",
                (r.name, r.name.casefold(), json.dumps(list(r.roles)), r.display,
                 r.password_hash, now, now),
            )  # fmt: skip


def _env_for(url: str, folder: Path, template: Path, monkeypatch: pytest.MonkeyPatch) -> ConsoleEnv:
    reviewers = folder / "reviewers.toml"
    reviewers.write_bytes(template.read_bytes())
    with open_database(url) as db:
        upgrade_database(db)
        if db.dialect == "postgres":  # there the console's reviewers are the database's
            _copy_into_table(db, Reviewers.load(reviewers))
    monkeypatch.setenv("INTERLOCK_DATABASE_URL", url)
    monkeypatch.setenv("INTERLOCK_REVIEWERS", str(reviewers))
    monkeypatch.delenv("INTERLOCK_POLICY", raising=False)
    return ConsoleEnv(url=url, reviewers=reviewers)


@pytest.fixture
def console_env(
    db_url: str, tmp_path: Path, reviewers_template: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ConsoleEnv]:
    """The console's settings point at a fresh, migrated database and a reviewers file."""
    yield _env_for(db_url, tmp_path, reviewers_template, monkeypatch)
    st.cache_resource.clear()


@pytest.fixture
def console_on(
    tmp_path: Path, reviewers_template: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[str], Console]]:
    """A console on a database URL of the test's choosing (a private Postgres, say)."""
    yield lambda url: Console(_env_for(url, tmp_path, reviewers_template, monkeypatch))
    st.cache_resource.clear()


# -- a small graph whose one call is given by the request, for varied inbox rows -----------


def _tools() -> list[Any]:
    from langchain_core.tools import tool

    @tool
    def restart_service(service: str, environment: str) -> str:
        """Restart a service."""
        return f"{service} restarted in {environment}"

    @tool
    def delete_volume(volume_id: str, environment: str) -> str:
        """Delete a volume and what is stored on it."""
        return f"{volume_id} deleted in {environment}"

    @tool
    def change_network(environment: str, ingress: str) -> str:
        """Change who may reach an environment."""
        return f"{environment} ingress now {ingress}"

    def env(args: Mapping[str, Any]) -> str | None:
        return str(args.get("environment") or "") or None

    def volume(args: Mapping[str, Any]) -> Resource:
        return Resource(type="volume", id=str(args.get("volume_id")))

    return [
        gated(restart_service, effects={"write"}, reversible=True, environment=env),
        gated(
            delete_volume,
            effects={"delete", "destroy"},
            reversible=False,
            environment=env,
            resource=volume,
            preview=lambda a: f"deletes {a.get('volume_id')} in {a.get('environment')}",
        ),
        gated(change_network, effects={"network"}, reversible=True, environment=env),
    ]


def _propose(messages: Any) -> Any:
    wanted = json.loads(str(messages[0].content))
    calls = wanted.get("calls") or [[wanted["tool"], wanted["args"]]]
    return say(wanted.get("say", "Doing what was asked."), *(tuple(c) for c in calls))


def quick_factory(
    *,
    checkpointer: Any,
    policy: Any,
    approvals: Any,
    ledger: Any,
    audit: Any,
    issue_on_resume: bool,
    options: Mapping[str, Any],
) -> Any:
    """A graph that proposes exactly the call its request names (JSON), then says done."""
    builder, gate = build_gated_graph(
        ScriptedChatModel(steps=[_propose], final="Done."),
        _tools(),
        policy,
        agent=str(options.get("agent") or "quick-agent"),
        approvals=approvals,
        ledger=ledger,
        audit=audit,
        issue_on_resume=issue_on_resume,
    )
    return SimpleNamespace(graph=builder.compile(checkpointer=checkpointer), gate=gate)


class Console:
    """Drives the console app in AppTest for one test's database."""

    def __init__(self, env: ConsoleEnv) -> None:
        self.env = env

    def new_app(self) -> AppTest:
        return AppTest.from_file(str(APP), default_timeout=60)

    def sign_in(self, name: str, password: str = PASSWORD) -> AppTest:
        """A console session where `name` signed in with the form."""
        at = self.new_app().run()
        at.text_input(key="auth_name").input(name)
        at.text_input(key="auth_password").input(password)
        at.button[0].click().run()
        assert not at.exception, at.exception
        return at

    def open(self, name: str, page: str) -> AppTest:
        """`name` signed in and switched to `page` (a file name such as `_console_audit.py`)."""
        return self.switch(self.sign_in(name), page)

    def runtime(self) -> Runtime:
        return Runtime.open(
            self.env.url, reviewers_path=self.env.reviewers, graphs={"quick": quick_factory}
        )

    def pocketos(self) -> str:
        """Run the PocketOS scenario; the id of the critical review it stops at."""
        infra = self.env.reviewers.parent / f"infra-{uuid.uuid4().hex[:8]}.json"
        with self.runtime() as rt:
            out = rt.run("ops_agent", SCENARIO_REQUEST, options={"infra": str(infra)})
        assert out.review_id, out
        return out.review_id

    def quick(self, tool: str, say_text: str = "Doing what was asked.", **args: Any) -> str:
        """A review of one call of the small graph's `tool` with `args`."""
        request = json.dumps({"tool": tool, "args": args, "say": say_text})
        with self.runtime() as rt:
            out = rt.run("quick", request, agent="quick-agent")
        assert out.review_id, out
        return out.review_id

    def quick_many(self, *calls: tuple[str, dict[str, Any]]) -> str:
        """One review of several calls proposed together."""
        request = json.dumps({"calls": [list(c) for c in calls]})
        with self.runtime() as rt:
            out = rt.run("quick", request, agent="quick-agent")
        assert out.review_id, out
        return out.review_id

    @staticmethod
    def register_quick() -> None:
        """Let the console's own (cached) runtime rebuild the small graph to resume it."""
        from interlock.ui._console_state import get_runtime

        get_runtime().register_graph("quick", quick_factory)

    def open_review(self, name: str, review_id: str) -> AppTest:
        """`name` signed in, looking at review `review_id`."""
        at = self.sign_in(name)
        at.query_params["review"] = review_id
        return self.switch(at, "_console_review.py")

    @staticmethod
    def switch(at: AppTest, page: str) -> AppTest:
        at.switch_page(page).run()
        assert not at.exception, at.exception
        return at

    @staticmethod
    def texts(at: AppTest) -> str:
        """Everything the page shows as text, for assertions about what a reviewer reads."""
        parts = [e.value for e in at.markdown]
        for kind in (at.error, at.warning, at.info, at.success, at.caption, at.title):
            parts += [str(e.value) for e in kind]
        parts += [str(e.value) for e in at.text] + [str(e.value) for e in at.code]
        parts += [e.value for e in at.sidebar.markdown]
        return "\n".join(parts)


@pytest.fixture
def password() -> str:
    """Every test reviewer's password."""
    return PASSWORD


@pytest.fixture
def console(console_env: ConsoleEnv) -> Console:
    return Console(console_env)
