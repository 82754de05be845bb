"""The reviewers file: hashing, authentication, clear errors, demo accounts."""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path

import pytest

from interlock.risk.errors import AuthorizationError, ConfigError, NotFoundError
from interlock.runtime import (
    DEMO_PASSWORD,
    Principal,
    Reviewers,
    ensure_demo_reviewers,
    hash_password,
    verify_password,
)


def test_password_hash_format_and_salt() -> None:
    one, two = hash_password("correct horse"), hash_password("correct horse")
    assert one.startswith("scrypt$16384$8$1$")
    assert len(one.split("$")) == 6
    assert one != two  # a fresh salt each time
    assert verify_password("correct horse", one)
    assert not verify_password("Correct horse", one)
    assert not verify_password("x", "md5$whatever")
    assert not verify_password("x", "scrypt$1048576$8$1$AAAA$AAAA")  # parameters out of bounds


def test_add_then_authenticate(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "reviewers.toml"
    reviewers = Reviewers.load(path)
    assert len(reviewers) == 0
    alice = reviewers.add("alice", ["oncall", "sre-lead"], "long enough pw", display="Alice M.")
    assert alice.roles == ("oncall", "sre-lead")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # What another process sees after reading the file.
    again = Reviewers.load(path)
    got = again.authenticate("alice", "long enough pw")
    assert (got.name, got.roles, got.display) == ("alice", ("oncall", "sre-lead"), "Alice M.")
    assert got.has_role("sre-lead")
    assert "long enough pw" not in path.read_text()
    assert "password_hash" not in got.to_dict()
    assert again.get("alice").to_dict() == got.to_dict()
    assert isinstance(got, Principal)  # a password login gives the identity decisions take


def test_wrong_password_and_unknown_reviewer(tmp_path: Path) -> None:
    path = tmp_path / "reviewers.toml"
    Reviewers.load(path).add("bob", ["oncall"], "bobs password")
    reviewers = Reviewers.load(path)
    with pytest.raises(AuthorizationError, match="wrong password for reviewer 'bob'"):
        reviewers.authenticate("bob", "bobs passworD")
    with pytest.raises(NotFoundError, match="unknown reviewer 'carol'") as err:
        reviewers.authenticate("carol", "whatever")
    assert "interlock reviewers add carol" in str(err.value)


def test_add_validates_and_refuses_duplicates(tmp_path: Path) -> None:
    reviewers = Reviewers.load(tmp_path / "r.toml")
    reviewers.add("dana", ["oncall"], "first password")
    with pytest.raises(ConfigError, match="already exists"):
        reviewers.add("dana", ["admin"], "second password")
    updated = reviewers.add("dana", ["admin"], "second password", replace=True)
    assert updated.roles == ("admin",)
    assert Reviewers.load(tmp_path / "r.toml").authenticate("dana", "second password")
    with pytest.raises(ConfigError, match="at least 8"):
        reviewers.add("erin", ["oncall"], "short")
    with pytest.raises(ConfigError, match="not allowed"):
        reviewers.add("bad name!", ["oncall"], "long enough pw")
    with pytest.raises(ConfigError, match="at least one role"):
        reviewers.add("frank", [], "long enough pw")


def test_adds_from_two_handles_are_both_kept(tmp_path: Path) -> None:
    path = tmp_path / "r.toml"
    first, second = Reviewers.load(path), Reviewers.load(path)
    first.add("gina", ["oncall"], "password one")
    second.add("hugo", ["oncall"], "password two")
    assert [r.name for r in Reviewers.load(path)] == ["gina", "hugo"]


def test_display_with_awkward_characters_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "r.toml"
    shown = 'Zoë "Z" O\'Neil \\ 日本 \u007f'
    with pytest.raises(ConfigError, match="printable"):
        Reviewers.load(path).add("zoe", ["oncall"], "long enough pw", display=shown)
    shown = 'Zoë "Z" O\'Neil \\ 日本'
    Reviewers.load(path).add("zoe", ["oncall"], "long enough pw", display=shown)
    assert tomllib.loads(path.read_text())["reviewer"][0]["display"] == shown
    assert Reviewers.load(path).get("zoe").display == shown


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[[reviewer]]\nname = 'a'\nroles = [", "not valid TOML"),
        ("[[reviewer]]\nname = 'a'\nroles = ['x']\npassword_hash = 'plain'\n", "scrypt$n$r$p"),
        ("[[reviewer]]\nname = 'a'\nroles = []\n", "non-empty list"),
        ("[[reviewer]]\nname = 'a'\nroles = ['x']\npasword = 'typo'\n", "unknown key(s) pasword"),
        ("[users]\nx = 1\n", "only [[reviewer]]"),
    ],
)
def test_broken_files_give_clear_errors(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "r.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        Reviewers.load(path)
    assert str(path) in str(err.value)
    assert words in str(err.value)


def test_duplicate_names_in_file_are_refused(tmp_path: Path) -> None:
    h = hash_password("long enough pw")
    entry = f"[[reviewer]]\nname = 'a'\nroles = ['x']\npassword_hash = '{h}'\n"
    path = tmp_path / "r.toml"
    path.write_text(entry + entry)
    with pytest.raises(ConfigError, match="appears twice"):
        Reviewers.load(path)


def test_demo_reviewers_on_sqlite(tmp_path: Path, sqlite_url: str) -> None:
    path = tmp_path / "reviewers.toml"
    made = ensure_demo_reviewers(path, sqlite_url)
    assert {r.name for r in made} == {"oncall-demo", "sre-lead-demo", "admin-demo"}
    reviewers = Reviewers.load(path)
    oncall = reviewers.authenticate("oncall-demo", DEMO_PASSWORD)
    assert oncall.demo
    assert oncall.roles == ("oncall",)
    assert "demo" in (oncall.display or "")
    assert reviewers.authenticate("sre-lead-demo", DEMO_PASSWORD).roles == ("sre-lead",)
    assert ensure_demo_reviewers(path, sqlite_url) == []  # idempotent, nothing overwritten


def test_demo_reviewers_keep_existing_people(tmp_path: Path, sqlite_url: str) -> None:
    path = tmp_path / "reviewers.toml"
    Reviewers.load(path).add("ops", ["oncall"], "a real password")
    ensure_demo_reviewers(path, sqlite_url)
    names = [r.name for r in Reviewers.load(path)]
    assert names == ["admin-demo", "oncall-demo", "ops", "sre-lead-demo"]


def test_demo_reviewers_only_on_the_embedded_default(tmp_path: Path, db_url: str) -> None:
    path = tmp_path / "reviewers.toml"
    made = ensure_demo_reviewers(path, db_url)
    if db_url.startswith("sqlite"):
        assert len(made) == 3
    else:
        # A shared Postgres must not get accounts with a published password by accident.
        assert made == []
        assert not path.exists()
        assert len(ensure_demo_reviewers(path, db_url, force=True)) == 3
    assert Reviewers.load(path).authenticate("admin-demo", DEMO_PASSWORD).roles == ("admin",)
