"""Shared by the tests that split one Postgres database into the agent and reviewer roles
(`interlock db roles`): the scripted ops agent, the production delete it proposes, and a
fresh pair of roles per test (role names are cluster-wide, so each test has unique ones,
dropped afterwards)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from interlock.graphs import scripted_ops_agent
from interlock.runtime import Runtime, open_database, upgrade_database
from interlock.runtime.store import RolesResult, setup_roles

__all__ = ["PROD_DELETE", "role_pair", "scripted_ops"]

PROD_DELETE = ["delete_volume", {"volume_id": "vol-prod-db", "token": "tok-ci-admin"}]


def scripted_ops(**kw: Any) -> Any:
    """The demo ops agent playing `options["turns"]` against `options["infra"]`."""
    return scripted_ops_agent(kw["options"]["turns"], kw["options"]["infra"], **kw)


@contextmanager
def role_pair(
    admin_url: str,
    *,
    reviewers: dict[str, tuple[str, str]] | None = None,
    reviewer_password: str | None = None,
) -> Iterator[RolesResult]:
    """Upgrade the database at `admin_url`, create its two roles (the agent's password is
    `agent-pw-1`) and add `reviewers` (name: (role, password)) as the owner; drop both
    roles and what they own on the way out."""
    tag = uuid.uuid4().hex[:8]
    names = (f"ia_{tag}", f"ir_{tag}")
    with open_database(admin_url) as db:
        upgrade_database(db)
        db.checkpointer()
        got = setup_roles(
            db,
            agent=names[0],
            reviewer=names[1],
            agent_password="agent-pw-1",
            reviewer_password=reviewer_password,
        )
    if reviewers:
        with Runtime.open(admin_url) as admin:
            for name, (role, password) in reviewers.items():
                admin.reviewers.add(name, [role], password)
    try:
        yield got
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP OWNED BY "{names[0]}", "{names[1]}"')
            for name in names:
                conn.execute(f'DROP ROLE IF EXISTS "{name}"')
