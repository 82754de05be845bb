"""`interlock db|audit|reviewers` as a user runs them: separate processes, real databases."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from interlock.runtime import LATEST_VERSION, AuditLog, open_database

BIN = Path(sys.executable).with_name("interlock")


def run(
    *args: str, stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN), *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )


def one_line_error(out: subprocess.CompletedProcess[str]) -> str:
    assert out.returncode == 2, out.stdout + out.stderr
    assert "Traceback" not in out.stdout + out.stderr
    text = out.stderr.strip()
    assert text.startswith("error:")
    assert "\n" not in text
    return text


def _fill(url: str, n: int = 5) -> None:
    with open_database(url) as db:
        log = AuditLog(db)
        for i in range(1, n + 1):
            log.append("decision", actor=f"r{i}", review_id=f"rev{i}", data={"i": i})


def _tamper(url: str, sql: str) -> None:
    with open_database(url) as db, db.transaction() as conn:
        if conn.dialect == "postgres":
            conn.execute("ALTER TABLE interlock_audit DISABLE TRIGGER USER")
        else:
            conn.execute("DROP TRIGGER interlock_audit_no_update")
            conn.execute("DROP TRIGGER interlock_audit_no_delete")
        conn.execute(sql)


def test_help_lists_the_runtime_commands() -> None:
    out = run("--help")
    assert out.returncode == 0
    for word in ("db", "audit", "reviewers"):
        assert word in out.stdout


def test_db_upgrade_twice(db_url: str) -> None:
    first = run("db", "upgrade", "--db", db_url)
    assert first.returncode == 0, first.stderr
    every = ", ".join(str(v) for v in range(1, LATEST_VERSION + 1))
    assert f"schema version {LATEST_VERSION} (applied version(s) {every})" in first.stdout
    second = run("db", "upgrade", "--db", db_url, "--json")
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout) | {"url": ""} == {
        "url": "",
        "before": LATEST_VERSION,
        "after": LATEST_VERSION,
        "applied": [],
        "created": [],
    }
    status = run("db", "status", "--db", db_url, "--json")
    assert json.loads(status.stdout)["version"] == LATEST_VERSION


def test_db_upgrade_uses_the_environment_default(tmp_path: Path) -> None:
    out = run("db", "upgrade", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / ".interlock" / "interlock.db").exists()


def test_db_upgrade_names_the_file_and_directories_it_created(tmp_path: Path) -> None:
    # A typo in a path creates a database somewhere new: the user is told where.
    path = tmp_path / "typo" / "deep" / "x.db"
    first = run("db", "upgrade", "--db", f"sqlite:///{path}")
    assert first.returncode == 0, first.stderr
    said = " ".join(first.stdout.split())
    assert f"Created {path} and the directories {path.parents[1]}, {path.parent}." in said
    again = run("db", "upgrade", "--db", f"sqlite:///{path}", "--json")
    assert json.loads(again.stdout)["created"] == []
    beside = run("db", "upgrade", "--db", f"sqlite:///{path.parent / 'y.db'}")
    assert "Created" in beside.stdout
    assert "director" not in beside.stdout


def test_missing_postgres_database_says_how_to_create_it(pg_url: str) -> None:
    from urllib.parse import urlsplit, urlunsplit

    url = urlunsplit(urlsplit(pg_url)._replace(path="/interlock_no_such_db"))
    text = one_line_error(run("pending", "--db", url))
    assert 'database "interlock_no_such_db" does not exist' in text
    assert "createdb interlock_no_such_db" in text
    assert "interlock db upgrade --db" in text


def test_concurrent_upgrade_processes(pg_url: str) -> None:
    procs = [
        subprocess.Popen(
            [str(BIN), "db", "upgrade", "--db", pg_url, "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], results
    applied = sorted(json.loads(stdout)["applied"] for stdout, _ in results)
    # each version once
    assert sorted(v for one in applied for v in one) == list(range(1, LATEST_VERSION + 1))


def test_audit_verify_ok_then_tampered(db_url: str) -> None:
    assert run("db", "upgrade", "--db", db_url).returncode == 0
    _fill(db_url)
    ok = run("audit", "verify", "--db", db_url)
    assert ok.returncode == 0, ok.stderr
    assert "intact: 5 row(s)" in ok.stdout
    _tamper(db_url, "UPDATE interlock_audit SET actor = 'mallory' WHERE seq = 3")
    bad = run("audit", "verify", "--db", db_url)
    assert bad.returncode == 1
    assert "BROKEN at row 3" in bad.stdout
    as_json = run("audit", "verify", "--db", db_url, "--json")
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout)["first_bad_seq"] == 3


def test_audit_verify_names_a_removed_last_row(sqlite_url: str) -> None:
    assert run("db", "upgrade", "--db", sqlite_url).returncode == 0
    _fill(sqlite_url)
    _tamper(sqlite_url, "DELETE FROM interlock_audit WHERE seq = 5")
    bad = run("audit", "verify", "--db", sqlite_url)
    assert bad.returncode == 1
    assert "row 5" in bad.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["db", "upgrade"],
        ["db", "status"],
        ["audit", "verify"],
        ["audit", "export"],
    ],
)
def test_bad_url_is_one_line_and_exit_2(args: list[str]) -> None:
    text = one_line_error(run(*args, "--db", "mysql://root@db/x"))
    assert "sqlite:///" in text
    assert "postgresql://" in text


def test_unreachable_postgres_is_one_line_without_password() -> None:
    text = one_line_error(run("audit", "verify", "--db", "postgresql://u:pw@127.0.0.1:1/x"))
    assert "cannot connect" in text
    assert ":pw@" not in text


def test_missing_database_or_tables_say_what_to_run(tmp_path: Path, db_url: str) -> None:
    missing = tmp_path / "nope.db"
    text = one_line_error(run("audit", "verify", "--db", f"sqlite:///{missing}"))
    assert "interlock db upgrade" in text
    assert not missing.exists()
    open_database(db_url).close()  # the database exists, Interlock's tables do not
    text = one_line_error(run("audit", "verify", "--db", db_url))
    assert "has no Interlock tables" in text


def test_audit_export_jsonl_and_csv(db_url: str, tmp_path: Path) -> None:
    assert run("db", "upgrade", "--db", db_url).returncode == 0
    _fill(db_url, 3)
    out = run("audit", "export", "--db", db_url)
    assert out.returncode == 0, out.stderr
    lines = [json.loads(x) for x in out.stdout.splitlines()]
    assert [x["seq"] for x in lines] == [1, 2, 3]
    assert lines[1]["prev_hash"] == lines[0]["hash"]
    assert "exported 3 audit row(s)" in out.stderr
    target = tmp_path / "audit.csv"
    out = run("audit", "export", "--db", db_url, "--format", "csv", "--out", str(target))
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert [r["hash"] for r in rows] == [x["hash"] for x in lines]
    assert json.loads(rows[0]["data"]) == {"i": 1}
    later = run("audit", "export", "--db", db_url, "--since", lines[2]["ts"])
    assert [json.loads(x)["seq"] for x in later.stdout.splitlines()] == [3]
    future = run("audit", "export", "--db", db_url, "--since", "2999-01-01")
    assert (future.returncode, future.stdout) == (0, "")
    one_line_error(run("audit", "export", "--db", db_url, "--since", "yesterday"))


def test_reviewers_add_and_list(tmp_path: Path) -> None:
    path = tmp_path / "reviewers.toml"
    out = run(
        "reviewers", "add", "alice", "--role", "oncall", "--role", "sre-lead",
        "--password-stdin", "--file", str(path), stdin="s3cret-password\n",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "added reviewer alice (roles: oncall, sre-lead)" in out.stdout
    listed = run("reviewers", "list", "--file", str(path), "--json")
    assert json.loads(listed.stdout) == [
        {"name": "alice", "roles": ["oncall", "sre-lead"], "display": None, "demo": False}
    ]
    table = run("reviewers", "list", "--file", str(path))
    assert "alice" in table.stdout
    assert "scrypt" not in table.stdout + listed.stdout
    from interlock.runtime import Reviewers

    assert Reviewers.load(path).authenticate("alice", "s3cret-password").name == "alice"
    again = run(
        "reviewers", "add", "alice", "--role", "admin", "--password-stdin", "--file", str(path),
        stdin="another-password\n",
    )  # fmt: skip
    assert "already exists" in one_line_error(again)
    short = run(
        "reviewers", "add", "bob", "--role", "oncall", "--password-stdin", "--file", str(path),
        stdin="short\n",
    )  # fmt: skip
    assert "at least 8" in one_line_error(short)


def test_reviewers_add_without_a_terminal_or_with_a_bad_name_asks_for_nothing(
    tmp_path: Path,
) -> None:
    # A script without --password-stdin: one line that says how, not a prompt that echoes.
    path = str(tmp_path / "reviewers.toml")
    text = one_line_error(
        run("reviewers", "add", "dana", "--role", "oncall", "--file", path, stdin="")
    )
    assert "no terminal to ask for dana's password" in text
    assert "interlock reviewers add dana --role oncall --password-stdin" in text
    text = one_line_error(run("reviewers", "passwd", "dana", "--file", path, stdin=""))
    assert "interlock reviewers passwd dana --password-stdin" in text
    # A name that cannot be a reviewer is refused before any password is asked for.
    text = one_line_error(
        run("reviewers", "add", "d ana", "--role", "oncall", "--file", path, stdin="")
    )
    assert "reviewer name 'd ana' is not allowed" in text
    assert not Path(path).exists()


def test_reviewers_add_reads_the_environment_path(tmp_path: Path) -> None:
    env_path = tmp_path / "from-env.toml"
    out = subprocess.run(
        [str(BIN), "reviewers", "add", "carol", "--role", "admin", "--password-stdin"],
        input="long enough pw\n",
        capture_output=True,
        text=True,
        env={**os.environ, "INTERLOCK_REVIEWERS": str(env_path)},
        check=False,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert env_path.exists()


def test_runtime_imports_stay_light() -> None:
    """`interlock --help` must not pay for LangGraph, psycopg or Streamlit."""
    code = (
        "import sys, interlock.runtime, interlock.ui._cli_runtime; "
        "print(sorted(m for m in ('langgraph', 'psycopg', 'psycopg_pool', 'streamlit') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
