"""The two sides of the trust boundary, as processes on one machine see them.

The reviewer side holds the signing key and the reviewers; the agent side holds what an agent
process holds: the database URL and the PUBLIC keys in its environment, never the signing key.
Each test opens Runtimes for either side from the environment that side would have, and acts
as an attacker with a shell on the agent side (SQL through the agent's own URL, Python, the
`interlock` CLI in a subprocess with the agent's environment).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from interlock.graphs import Infra
from interlock.runtime import Principal, Runtime
from tests.role_pair import PROD_DELETE, scripted_ops

OTHER_DELETE = ["delete_volume", {"volume_id": "vol-prod-logs", "token": "tok-ci-admin"}]
REVIEWER, PASSWORD = "sam", "sam-password-1"


@dataclass
class Sides:
    url: str
    tmp: Path
    reviewer_env: dict[str, str]
    agent_env: dict[str, str]
    open: Callable[[dict[str, str]], Runtime]

    def reviewer(self) -> Runtime:
        """The console/CLI side: signing key, reviewers file, the database."""
        return self.open(self.reviewer_env)

    def agent(self) -> Runtime:
        """The agent side: the database URL and the public keys, nothing more."""
        return self.open(self.agent_env)

    prod_delete = PROD_DELETE
    other_delete = OTHER_DELETE

    def login(self, rt: Runtime) -> Principal:
        return rt.authenticate(REVIEWER, PASSWORD)

    def start(self, rt: Runtime, call: list[Any] = PROD_DELETE) -> tuple[str, str, Infra]:
        """A thread stopped at the review of `call`: (review id, thread id, its infra)."""
        path = self.tmp / f"infra-{uuid.uuid4().hex[:6]}.json"
        run = rt.run("scripted_ops", "tidy up", options={"infra": str(path), "turns": [[call]]})
        assert run.status == "pending", run
        assert run.review_id
        return run.review_id, run.thread_id, Infra(path)

    @staticmethod
    def events(rt: Runtime) -> list[str]:
        return [r.event for r in rt.audit.rows()]

    @staticmethod
    def ledger_rows(rt: Runtime) -> int:
        with rt.db.connection() as conn:
            return int(conn.scalar("SELECT count(*) AS n FROM interlock_executions"))

    @staticmethod
    def action_of(rt: Runtime, review_id: str) -> dict[str, Any]:
        with rt.db.connection() as conn:
            row = conn.one("SELECT payload FROM interlock_reviews WHERE id = ?", (review_id,))
        assert row is not None
        action: dict[str, Any] = json.loads(row["payload"])["action_requests"][0]
        return action


@pytest.fixture
def sides(
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    signing_keys: tuple[Path, Path],
) -> Iterator[Sides]:
    private, public = signing_keys
    reviewers = tmp_path / "reviewers.toml"
    base = {k: v for k, v in os.environ.items() if not k.startswith("INTERLOCK_")}
    reviewer_env = {
        **base,
        "INTERLOCK_DATABASE_URL": db_url,
        "INTERLOCK_SIGNING_KEY": str(private),
        "INTERLOCK_PUBLIC_KEYS": str(public),
        "INTERLOCK_REVIEWERS": str(reviewers),
    }
    agent_env = {**base, "INTERLOCK_DATABASE_URL": db_url, "INTERLOCK_PUBLIC_KEYS": str(public)}
    opened: list[Runtime] = []

    def open_with(env: dict[str, str]) -> Runtime:
        for key in [k for k in os.environ if k.startswith("INTERLOCK_")]:
            monkeypatch.delenv(key)
        for key, value in env.items():
            if key.startswith("INTERLOCK_"):
                monkeypatch.setenv(key, value)
        rt = Runtime.open(
            db_url,
            reviewers_path=reviewers if "INTERLOCK_REVIEWERS" in env else tmp_path / "none.toml",
            graphs={"scripted_ops": scripted_ops},
        )
        opened.append(rt)
        return rt

    found = Sides(db_url, tmp_path, reviewer_env, agent_env, open_with)
    found.reviewer().reviewers.add(REVIEWER, ["sre-lead"], PASSWORD)
    yield found
    for rt in opened:
        rt.close()
