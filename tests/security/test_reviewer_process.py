"""The reviewer side's process against what the agent side can write or pass in.

- A decision the database refuses (the agent role's URL) reports the database's own reason in
  one line and leaves no thread claim (advisory lock) behind.
- A graph name read from the agent-writable `interlock_threads` table is built only if the
  reviewer's process was configured with it: an unknown `module:attr` is refused with one
  line, nothing is imported, and `interlock decide` exits non-zero.
- A `--db` URL whose `options` set `search_path` is refused in one line (exit 2).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from interlock.graphs import Infra
from interlock.risk.errors import InterlockError
from interlock.runtime import Reviewer, Runtime
from interlock.runtime.review.principal import principal_for
from tests.role_pair import PROD_DELETE, role_pair, scripted_ops

INTERLOCK = str(Path(sys.executable).with_name("interlock"))


@dataclass(frozen=True)
class Split:
    admin: str
    agent_url: str
    reviewer_url: str
    tmp: Path
    signing_key: str
    public_keys: str

    def env(self, url: str, *, signing: bool) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("INTERLOCK_")}
        env = {**base, "INTERLOCK_DATABASE_URL": url, "INTERLOCK_PUBLIC_KEYS": self.public_keys}
        if signing:
            env["INTERLOCK_SIGNING_KEY"] = self.signing_key
        return env

    def cli(self, *args: str, env: dict[str, str], stdin: str = "") -> Any:
        return subprocess.run(
            [INTERLOCK, *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            cwd=self.tmp,
            timeout=120,
        )


@pytest.fixture
def split(pg_url: str, tmp_path: Path, signing_keys: tuple[Path, Path]) -> Iterator[Split]:
    private, public = signing_keys
    people = {"sam": ("sre-lead", "sam-password-1")}
    with role_pair(pg_url, reviewers=people, reviewer_password="reviewer-pw-1") as got:
        yield Split(pg_url, got.agent_url, got.reviewer_url, tmp_path, str(private), str(public))


def _pending(split: Split) -> tuple[str, str, Infra]:
    infra = split.tmp / f"infra-{uuid.uuid4().hex[:6]}.json"
    with Runtime.open(split.agent_url, graphs={"s": scripted_ops}) as rt:
        run = rt.run("s", "tidy up", options={"infra": str(infra), "turns": [[PROD_DELETE]]})
    assert run.status == "pending"
    assert run.review_id
    return run.review_id, run.thread_id, Infra(infra)


def _advisory_locks(admin: str) -> list[Any]:
    with psycopg.connect(admin, autocommit=True) as conn:
        return conn.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())"
        ).fetchall()


# -- F10: a refused decision ----------------------------------------------------------------


def test_a_decision_the_database_refuses_names_the_cause_and_leaves_no_lock(
    split: Split, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The agent side, in Python, gets past authentication (a principal made in-process) and
    holds a signing key of its own: the database still refuses the decision's writes. The
    error is the refusal itself, in one line, and the thread's claim is given back."""
    review_id, _, infra = _pending(split)
    monkeypatch.setenv("INTERLOCK_SIGNING_KEY", split.signing_key)
    monkeypatch.setenv("INTERLOCK_PUBLIC_KEYS", split.public_keys)
    with Runtime.open(split.agent_url, graphs={"s": scripted_ops}) as rt:
        who = principal_for(Reviewer(name="mallory", roles=("admin",)), "password")
        with pytest.raises(InterlockError) as caught:
            rt.decisions.decide(review_id, {"type": "approve"}, reviewer=who)
        text = str(caught.value)
        assert "\n" not in text
        assert "permission denied for table" in text, text
        assert "reviewer side" in text, text
        assert "InFailedSqlTransaction" not in text
        assert _advisory_locks(split.admin) == []
        # The connection went back to the pool usable: the next read works.
        assert rt.inbox.summary(review_id).status == "pending"
    assert "vol-prod-db" in infra.read()["volumes"]


# -- F6: a graph name from the database ------------------------------------------------------


def _forged_thread(split: Split, template: str, graph: str) -> str:
    """As the agent role: a thread row naming `graph`, and a pending review for it copied
    from `template` (two INSERTs the agent role holds). The new review's id."""
    with psycopg.connect(split.agent_url) as conn:
        cur = conn.execute("SELECT * FROM interlock_reviews WHERE id = %s", (template,))
        cols = [d.name for d in cur.description or ()]
        row = dict(zip(cols, cur.fetchone() or (), strict=True))
        thread = f"evil-{uuid.uuid4().hex[:8]}"
        conn.execute(
            "INSERT INTO interlock_threads (thread_id, graph, options, agent, requester, "
            "created_at) VALUES (%s, %s, '{}', 'ops-agent', 'root', now())",
            (thread, graph),
        )
        new = {**row, "id": f"rv-{uuid.uuid4().hex[:12]}", "thread_id": thread}
        new.update(status="pending", decided_at=None, outcome=None, resumed_at=None)
        new.update(next_review_id=None, checkpoint_id=None, expires_at=None)
        names = ", ".join(new)
        marks = ", ".join(["%s"] * len(new))
        conn.execute(
            f"INSERT INTO interlock_reviews ({names}) VALUES ({marks})", list(new.values())
        )
    return str(new["id"])


@pytest.mark.parametrize("decision", [["--reject", "no"], ["--approve"]])
def test_a_graph_name_from_the_database_is_not_imported_by_the_reviewer(
    split: Split, decision: list[str]
) -> None:
    template, _, infra = _pending(split)
    marker = split.tmp / "imported.txt"
    (split.tmp / "evilmod.py").write_text(
        f"open({str(marker)!r}, 'w').write('imported')\n"
        "def factory(**kw):\n    raise SystemExit(0)\n"
    )
    review_id = _forged_thread(split, template, "evilmod:factory")
    env = split.env(split.reviewer_url, signing=True)
    env["PYTHONPATH"] = str(split.tmp)  # the module is importable: only the check stops it
    done = split.cli(
        "decide",
        review_id,
        "--as",
        "sam",
        *decision,
        "--password-stdin",
        env=env,
        stdin="sam-password-1\n",
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "'evilmod:factory' is not one this reviewer-side process was configured with" in (
        " ".join(done.stderr.split())
    )
    assert not marker.exists()
    with psycopg.connect(split.admin) as conn:
        assert conn.execute("SELECT count(*) FROM interlock_decisions").fetchone() == (0,)
    assert "vol-prod-db" in infra.read()["volumes"]


def test_the_stdlib_this_module_is_not_imported_either(split: Split) -> None:
    template, _, _ = _pending(split)
    review_id = _forged_thread(split, template, "this:nothing")
    env = split.env(split.reviewer_url, signing=True)
    done = split.cli(
        "decide",
        review_id,
        "--as",
        "sam",
        "--reject",
        "no",
        "--password-stdin",
        env=env,
        stdin="sam-password-1\n",
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Zen of Python" not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def test_a_listed_factory_is_built_by_the_reviewer(split: Split) -> None:
    """`INTERLOCK_GRAPHS` names the reviewer side's own `module:attr` graphs: those it builds.
    The worker on the agent side resolves the same name without being told."""
    infra = split.tmp / "infra.json"
    (split.tmp / "mygraphs.py").write_text(
        "from interlock.graphs import scripted_ops_agent\n"
        "def scripted(**kw):\n"
        "    return scripted_ops_agent(kw['options']['turns'], kw['options']['infra'], **kw)\n"
    )
    code = (
        "import json, sys\nfrom interlock.runtime import Runtime\n"
        "with Runtime.open() as rt:\n"
        "    run = rt.run('mygraphs:scripted', 'tidy', options=json.loads(sys.argv[1]))\n"
        "    print(run.review_id)\n"
    )
    options = {"infra": str(infra), "turns": [[PROD_DELETE]]}
    env = {**split.env(split.agent_url, signing=False), "PYTHONPATH": str(split.tmp)}
    started = subprocess.run(
        [sys.executable, "-c", code, json.dumps(options)],
        capture_output=True,
        text=True,
        env=env,
        cwd=split.tmp,
        timeout=120,
        check=True,
    )
    review_id = started.stdout.strip().splitlines()[-1]
    rv_env = {**split.env(split.reviewer_url, signing=True), "PYTHONPATH": str(split.tmp)}
    refused = split.cli(
        "decide",
        review_id,
        "--as",
        "sam",
        "--reject",
        "no",
        "--password-stdin",
        env=rv_env,
        stdin="sam-password-1\n",
    )
    assert refused.returncode == 2, refused.stdout + refused.stderr
    rv_env["INTERLOCK_GRAPHS"] = "mygraphs:scripted"
    done = split.cli(
        "decide",
        review_id,
        "--as",
        "sam",
        "--reject",
        "no",
        "--password-stdin",
        env=rv_env,
        stdin="sam-password-1\n",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "vol-prod-db" in Infra(infra).read()["volumes"]


# -- F11: a URL that redirects the tables; a demo that prints a password ---------------------


@pytest.mark.parametrize(
    "options",
    ["-c%20search_path%3Devil", "--search_path%3Devil", "-csearch-path%3Dpublic,evil"],
)
def test_a_url_that_sets_search_path_is_refused_in_one_line(split: Split, options: str) -> None:
    url = f"{split.admin}?options={options}"
    done = split.cli("pending", "--db", url, env=split.env(split.admin, signing=False))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "search_path" in done.stderr


def test_other_url_options_still_connect(split: Split) -> None:
    url = f"{split.admin}?options=-c%20statement_timeout%3D60000"
    done = split.cli("pending", "--db", url, env=split.env(split.admin, signing=False))
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_demo_prints_no_password(split: Split) -> None:
    env = split.env(split.agent_url, signing=False)
    done = split.cli("demo", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "agent-pw-1" not in done.stdout + done.stderr
    assert ":***@" in done.stdout
    assert "REVIEWER_URL" in done.stdout


def test_the_edit_preview_imports_no_graph_a_thread_row_names(
    split: Split, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The console's edit preview (`edit_scope`) is reviewer-side too: before any decision,
    a thread row's `module:attr` is refused, not imported."""
    from interlock.runtime import edit_scope

    template, _, _ = _pending(split)
    marker = split.tmp / "preview-imported.txt"
    (split.tmp / "previewmod.py").write_text(
        f"open({str(marker)!r}, 'w').write('imported')\ndef factory(**kw):\n    return None\n"
    )
    monkeypatch.syspath_prepend(str(split.tmp))
    review_id = _forged_thread(split, template, "previewmod:factory")
    with Runtime.open(split.reviewer_url) as rt:
        with rt.db.connection() as conn:
            row = conn.one("SELECT thread_id FROM interlock_reviews WHERE id = ?", (review_id,))
        assert row is not None
        thread = str(row["thread_id"])
        with pytest.raises(InterlockError, match="not one this reviewer-side process"):
            edit_scope(rt.engine(), thread)
    assert not marker.exists()
