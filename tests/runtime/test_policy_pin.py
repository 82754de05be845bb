"""The pinned policy (both backends): an admin publishes it on the reviewer side; every
runtime on the database then runs it, and one configured with another version refuses to
open in one line. Publishing is validated first, audited, and only an admin's."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from interlock.risk import bundled_policy_path, default_policy, load_policy
from interlock.risk.errors import AuthorizationError, ConfigError, PolicyError
from interlock.runtime import Authenticator, Principal, Reviewer, Reviewers, Runtime, hash_password

INTERLOCK = str(Path(sys.executable).with_name("interlock"))
TEXT = bundled_policy_path("default").read_text(encoding="utf-8")


def _principal(name: str, role: str) -> Principal:
    who = Reviewer(name=name, roles=(role,), password_hash=hash_password("pin-password-1"))
    book = Reviewers(Path("reviewers.toml"), {name: who})
    return Authenticator(book).password(name, "pin-password-1")


ADA, SAM = _principal("ada", "admin"), _principal("sam", "sre-lead")


def _lenient(tmp_path: Path) -> Path:
    path = tmp_path / "lenient.yaml"
    path.write_text(TEXT.replace("name: interlock-default", "name: lenient", 1), "utf-8")
    return path


def test_without_a_pin_each_runtime_runs_its_own_policy(
    open_rt: Callable[..., Runtime], tmp_path: Path
) -> None:
    lenient = load_policy(_lenient(tmp_path))
    rt = open_rt(policy=lenient)
    assert rt.policy_pin.current() is None
    assert rt.policy.version == lenient.version


def test_a_published_policy_is_what_every_runtime_runs(
    open_rt: Callable[..., Runtime], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = open_rt()
    pin = rt.policy_pin.publish(TEXT, by=ADA, source="default.yaml")
    assert (pin.version, pin.name, pin.actor) == (
        default_policy().version,
        "interlock-default",
        "ada",
    )
    assert [r.event for r in rt.audit.rows()].count("policy_published") == 1
    # Configured with another version: refused, in one line that says what to do.
    lenient = load_policy(_lenient(tmp_path))
    with pytest.raises(ConfigError, match="Unset it to run the pinned policy") as refused:
        open_rt(policy=lenient)
    assert "\n" not in str(refused.value)
    monkeypatch.setenv("INTERLOCK_POLICY", str(_lenient(tmp_path)))
    with pytest.raises(ConfigError, match=r"INTERLOCK_POLICY \(.*lenient.yaml\) is lenient"):
        open_rt()
    monkeypatch.delenv("INTERLOCK_POLICY")
    assert open_rt().policy.version == pin.version
    # Publishing the lenient one moves every runtime to it; publishing it again changes nothing.
    moved = rt.policy_pin.publish(_lenient(tmp_path).read_text("utf-8"), by=ADA, source="x")
    assert open_rt().policy.version == moved.version == lenient.version
    assert rt.policy_pin.publish(_lenient(tmp_path).read_text("utf-8"), by=ADA, source="x") == moved
    assert [r.event for r in rt.audit.rows()].count("policy_published") == 2


def test_only_an_admin_publishes_and_a_bad_policy_pins_nothing(
    open_rt: Callable[..., Runtime],
) -> None:
    rt = open_rt()
    with pytest.raises(AuthorizationError, match="needs the admin role"):
        rt.policy_pin.publish(TEXT, by=SAM, source="default.yaml")
    hand_made = Reviewer(name="mallory", roles=("admin",))
    with pytest.raises(AuthorizationError, match="authenticated principal"):
        rt.policy_pin.publish(TEXT, by=hand_made, source="default.yaml")
    with pytest.raises(PolicyError):
        rt.policy_pin.publish("rules: [1, 2", by=ADA, source="broken.yaml")
    assert rt.policy_pin.current() is None
    assert "policy_published" not in [r.event for r in rt.audit.rows()]


def test_a_pin_whose_text_was_changed_by_hand_is_refused(open_rt: Callable[..., Runtime]) -> None:
    rt = open_rt()
    rt.policy_pin.publish(TEXT, by=ADA, source="default.yaml")
    with rt.db.transaction() as conn:
        conn.execute(
            "UPDATE interlock_policy_pin SET text = ?",
            (TEXT.replace("name: interlock-default", "name: swapped", 1),),
        )
    with pytest.raises(ConfigError, match=r"not the \w+ it was published as"):
        open_rt()


def _cli(cwd: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERLOCK_")}
    env.update(COLUMNS="200", INTERLOCK_REVIEWERS=str(cwd / "reviewers.toml"))
    return subprocess.run(
        [INTERLOCK, *args], cwd=cwd, env=env, input=stdin, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


def test_publish_and_pinned_on_the_command_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'i.db'}"
    assert _cli(tmp_path, "db", "upgrade", "--db", url).returncode == 0
    added = _cli(tmp_path, "reviewers", "add", "ada", "--role", "admin", "--password-stdin",
                 stdin="pin-password-1\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "No policy is pinned" in _cli(tmp_path, "policy", "pinned", "--db", url).stdout
    broken = tmp_path / "broken.yaml"
    broken.write_text("rules: [1, 2", "utf-8")
    bad = _cli(tmp_path, "policy", "publish", str(broken), "--as", "ada", "--password-stdin",
               "--db", url, stdin="pin-password-1\n")  # fmt: skip
    assert bad.returncode == 2, bad.stdout
    assert bad.stderr.count("\n") == 1, bad.stderr
    assert bad.stderr.startswith("error: ")
    lenient = _lenient(tmp_path)
    done = _cli(tmp_path, "policy", "publish", str(lenient), "--as", "ada", "--password-stdin",
                "--db", url, stdin="pin-password-1\n")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "pinned policy lenient" in done.stdout
    shown = _cli(tmp_path, "policy", "pinned", "--db", url)
    assert f"pinned: lenient {load_policy(lenient).version}, published by ada" in shown.stdout
