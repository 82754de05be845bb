"""Fixtures for the console: a migrated database with reviewers, and AppTest helpers.

`st.cache_resource` outlives an AppTest, so `console_env` clears it afterwards: that closes
the runtime (and its connection pool) of the test's own database before it is dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import interlock.ui
from interlock.runtime import Reviewers, open_database, upgrade_database

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


@pytest.fixture(scope="session")
def reviewers_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Hashing is slow on purpose (scrypt), so the reviewers file is made once and copied."""
    path = tmp_path_factory.mktemp("reviewers") / "reviewers.toml"
    book = Reviewers.load(path)
    for name, roles in PEOPLE.items():
        book.add(name, roles, PASSWORD, display=name.split("@")[0].title())
    return path


@pytest.fixture
def console_env(
    db_url: str, tmp_path: Path, reviewers_template: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ConsoleEnv]:
    """The console's settings point at a fresh, migrated database and a reviewers file."""
    reviewers = tmp_path / "reviewers.toml"
    reviewers.write_bytes(reviewers_template.read_bytes())
    with open_database(db_url) as db:
        upgrade_database(db)
    monkeypatch.setenv("INTERLOCK_DATABASE_URL", db_url)
    monkeypatch.setenv("INTERLOCK_REVIEWERS", str(reviewers))
    monkeypatch.delenv("INTERLOCK_POLICY", raising=False)
    yield ConsoleEnv(url=db_url, reviewers=reviewers)
    st.cache_resource.clear()


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
