"""Bad input to the CLI is one line and exit 2: a malformed `--db` URL for every command that
takes one, and a reviewers file whose scrypt parameters are out of range."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer

from interlock.risk.errors import ConfigError
from interlock.runtime import Reviewers, verify_password
from interlock.ui.cli import app

INTERLOCK = str(Path(sys.executable).with_name("interlock"))
ROOT = Path(__file__).resolve().parents[2]
BAD_URLS = ("postgresql://postgres@[::1/x", "postgresql://postgres@host:port/x")
# What each command needs besides --db, so that the URL is the only thing wrong.
EXTRA: dict[str, tuple[str, ...]] = {
    "show": ("rv-000000000000",),
    "decide": ("rv-000000000000", "--as", "sam", "--approve"),
    "resolve": ("rv-000000000000", "--as", "sam", "--ran"),
    "stop": ("--environment", "production", "--as", "ada", "--reason", "x"),
    "resume-scope": ("--environment", "production", "--as", "ada"),
    "prune": ("--older-than", "30d"),
    "demo": ("--decide", "approve"),
    "policy replay": (str(ROOT / "risk" / "policies" / "default.yaml"),),
    "policy publish": ("--as", "ada", "--password-stdin"),
    "reviewers add": ("eve", "--role", "admin", "--password-stdin"),
    "reviewers remove": ("eve",),
    "reviewers passwd": ("eve", "--password-stdin"),
}


def _commands_with_db() -> Iterator[str]:
    def walk(group: object, prefix: str) -> Iterator[str]:
        for name, cmd in group.commands.items():  # type: ignore[attr-defined]
            full = f"{prefix} {name}".strip()
            if getattr(cmd, "commands", None):
                yield from walk(cmd, full)
            elif any("--db" in getattr(p, "opts", ()) for p in cmd.params):
                yield full

    yield from walk(typer.main.get_command(app), "")


COMMANDS = sorted(_commands_with_db())


def _run(*args: str, stdin: str = "", cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERLOCK_")}
    env["COLUMNS"] = "200"
    env["INTERLOCK_REVIEWER_PASSWORD"] = "whatever-password"
    return subprocess.run(
        [INTERLOCK, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=cwd,
    )


def _one_line(out: subprocess.CompletedProcess[str]) -> str:
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    assert "Traceback" not in out.stderr
    assert out.stderr.startswith("error: ")
    assert out.stderr.count("\n") == 1, out.stderr
    return out.stderr


def test_every_command_that_takes_a_database_url_is_listed() -> None:
    assert {"db roles", "reviewers add", "decide", "worker", "demo"} <= set(COMMANDS)
    assert set(EXTRA) <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_a_malformed_database_url_is_one_line(command: str) -> None:
    extra = EXTRA.get(command, ())
    out = _run(*command.split(), *extra, "--db", BAD_URLS[0], stdin="pw-long-enough\n")
    err = _one_line(out)
    assert "is malformed (Invalid IPv6 URL)" in err
    assert "postgresql://user@[::1]:5432/db" in err  # how to write it


def test_a_port_that_is_not_a_number_is_one_line() -> None:
    err = _one_line(_run("db", "status", "--db", BAD_URLS[1]))
    assert "is malformed (Port could not be cast to integer" in err


def _hash(n: int, r: int, p: int) -> str:
    salt = b"s" * 16
    digest = hashlib.scrypt(b"pw", salt=salt, n=2, r=1, p=1, maxmem=1 << 21, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${n}${r}${p}${b64(salt).decode()}${b64(digest).decode()}"


def test_scrypt_parameters_out_of_range_are_one_line(tmp_path: Path) -> None:
    path = tmp_path / "reviewers.toml"
    path.write_text(
        f'[[reviewer]]\nname = "sam"\nroles = ["sre-lead"]\n'
        f'password_hash = "{_hash(2**17, 32, 16)}"\n'
    )
    with pytest.raises(ConfigError, match=r"scrypt parameters out of range \(n=131072"):
        Reviewers.load(path)
    err = _one_line(_run("reviewers", "list", "--file", str(path)))
    assert "scrypt parameters out of range" in err
    assert "interlock reviewers add sam" in err  # how to fix it


def test_small_scrypt_parameters_in_range_verify_instead_of_failing() -> None:
    # n=2, r=1, p=1 is within the bounds; OpenSSL needs more memory than n*r*p suggests.
    assert verify_password("pw", _hash(2, 1, 1))
    assert not verify_password("other", _hash(2, 1, 1))


def test_reviewers_passwd_and_remove_on_the_reviewers_file(tmp_path: Path) -> None:
    path = str(tmp_path / "reviewers.toml")
    file = ("--file", path)
    added = _run("reviewers", "add", "sam", "--role", "sre-lead", "--password-stdin", *file,
                 stdin="first-password\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert added.stderr == ""  # a role the policy names: no warning
    changed = _run("reviewers", "passwd", "SAM", "--password-stdin", *file,
                   stdin="second-password\n")  # fmt: skip
    assert changed.returncode == 0, changed.stderr
    assert "set a new password for reviewer sam" in changed.stdout
    book = Reviewers.load(path)
    assert book.authenticate("sam", "second-password").roles == ("sre-lead",)
    short = _run("reviewers", "passwd", "sam", "--password-stdin", *file, stdin="short\n")
    assert "at least 8" in _one_line(short)
    removed = _run("reviewers", "remove", "Sam", *file)
    assert removed.returncode == 0, removed.stderr
    assert "removed reviewer sam" in removed.stdout
    assert len(Reviewers.load(path)) == 0
    assert "unknown reviewer 'sam'" in _one_line(_run("reviewers", "remove", "sam", *file))


def test_a_role_the_policy_does_not_name_is_kept_with_a_one_line_warning(tmp_path: Path) -> None:
    path = str(tmp_path / "reviewers.toml")
    added = _run("reviewers", "add", "eve", "--role", "wizard", "--role", "oncall",
                 "--password-stdin", "--file", path, stdin="first-password\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "added reviewer eve" in added.stdout
    assert added.stderr.count("\n") == 1, added.stderr
    assert added.stderr.startswith("warning: the policy (")
    assert "names no role 'wizard'; its roles are oncall, sre-lead, admin" in added.stderr
    assert Reviewers.load(path).authenticate("eve", "first-password").roles == (
        "wizard",
        "oncall",
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("demo", "--bogus"), "No such option: --bogus"),
        (("decide",), "Missing argument 'review'"),
        (("stop", "--agent", "ops-agent"), "Missing option '--as'"),
        (("worker", "--once", "--poll", "soon"), "Invalid value for '--poll'"),
        (
            ("audit", "export", "--format", "xml"),
            "Invalid value for '--format': 'xml' is not one of 'jsonl', 'csv'.",
        ),
    ],
    ids=["unknown-option", "missing-argument", "missing-option", "bad-value", "bad-choice"],
)
def test_a_command_line_that_does_not_parse_is_one_line(args: tuple[str, ...], says: str) -> None:
    line = _one_line(_run(*args))
    assert says in line
    command = " ".join(args[: 2 if args[0] == "audit" else 1])
    assert f"Run 'interlock {command} --help' for what it takes." in line
    assert "╭" not in line  # no box


def test_help_and_a_bare_group_still_show_the_help() -> None:
    shown = _run("reviewers", "list", "--help")
    assert (shown.returncode, shown.stderr) == (0, "")
    assert "List reviewers" in shown.stdout
    bare = _run("reviewers")
    assert bare.returncode == 2
    assert "Commands" in bare.stdout + bare.stderr


def test_an_empty_password_on_stdin_is_not_a_wrong_password(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'i.db'}"
    assert _run("db", "upgrade", "--db", url).returncode == 0
    args = ("stop", "--environment", "staging", "--as", "ada", "--reason", "INC-1")
    line = _one_line(_run(*args, "--password-stdin", "--db", url, stdin=""))
    assert "--password-stdin read no password for ada (standard input was empty)" in line
    assert "wrong password" not in line


def test_an_option_that_took_the_next_option_as_its_value_is_one_line_and_decides_nothing(
    tmp_path: Path,
) -> None:
    """`decide R --as sam --reject --no-resume` would reject with the message "--no-resume"
    and resume the thread; it is refused before anything runs, and the review stays open."""
    import json

    db = f"sqlite:///{tmp_path}/demo.db"
    made = _run("demo", "--db", db, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    pending = json.loads(_run("pending", "--db", db, "--json").stdout)
    review = pending[0]["id"]
    line = _one_line(
        _run("decide", review, "--as", "sre-lead-demo", "--reject", "--no-resume", "--db", db)
    )
    assert "--reject takes a value (MSG) and got the option --no-resume instead" in line
    assert "--reject=--no-resume passes that text as the value" in line
    assert "Run 'interlock decide --help' for what it takes." in line
    after = json.loads(_run("pending", "--db", db, "--json").stdout)
    assert [(r["id"], r["status"]) for r in after] == [(review, "pending")]
    # Where the value was swallowed and the command line then fails, the same line is shown
    # instead of Click's "Missing option '--as'".
    line = _one_line(_run("decide", review, "--reject", "--as", "sam", "--db", db))
    assert "--reject takes a value (MSG) and got the option --as instead" in line
    # In a subcommand group, and for an option without a metavar.
    line = _one_line(_run("reviewers", "add", "eve", "--role", "--display", "Eve"))
    assert "--role takes a value and got the option --display instead: put its value" in line
    assert "Run 'interlock reviewers add --help'" in line
