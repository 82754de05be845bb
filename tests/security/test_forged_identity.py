"""An agent that makes up a reviewer: in Python, or on the command line.

Decisions take a `Principal`, which only an authenticator issues (a password checked against
the reviewers store, OIDC claims mapped to a stored reviewer, a session token). A hand-made
`Reviewer`, a forged or altered `Principal`, one carried in from another process, or
`interlock decide --as` a name nobody registered is refused with one line: nothing is
recorded, nothing runs, and the refusal is audited.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from interlock.risk.errors import AuthorizationError
from interlock.runtime import Principal, Reviewer

INTERLOCK = Path(sys.executable).with_name("interlock")


def _unchanged(agent: Any, review_id: str, infra: Any) -> None:
    assert agent.inbox.summary(review_id).status == "pending"
    with agent.db.connection() as conn:
        assert conn.scalar("SELECT count(*) AS n FROM interlock_decisions") == 0
        assert conn.scalar("SELECT count(*) AS n FROM interlock_approvals") == 0
    assert infra.events() == []


def _pickled_in_another_process(sides: Any) -> Any:
    """sam's principal, authenticated and pickled by a separate Python process."""
    code = (
        "import pickle, sys\n"
        "from interlock.runtime import Reviewers\n"
        "who = Reviewers.load(sys.argv[1]).authenticate('sam', 'sam-password-1')\n"
        "sys.stdout.buffer.write(pickle.dumps(who))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, sides.reviewer_env["INTERLOCK_REVIEWERS"]],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return pickle.loads(out.stdout)  # the test's own child process wrote it


FORGERIES = {
    "a hand-made Reviewer": lambda sides: Reviewer(name="mallory", roles=("admin",)),
    "an object that looks like one": lambda sides: SimpleNamespace(name="sam", roles=("admin",)),
    "a principal from another process": _pickled_in_another_process,
}


@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_a_made_up_identity_decides_nothing(sides: Any, forgery: str) -> None:
    reviewer = sides.reviewer()
    review_id, _, infra = sides.start(reviewer)
    who = FORGERIES[forgery](sides)
    with pytest.raises(AuthorizationError, match="authenticated principal") as caught:
        reviewer.decisions.decide(review_id, {"type": "approve"}, reviewer=who)
    assert "\n" not in str(caught.value)
    _unchanged(reviewer, review_id, infra)
    refused = [r for r in reviewer.audit.rows() if r.event == "decision_refused"]
    assert [r.review_id for r in refused] == [review_id]
    assert refused[0].actor.startswith("unauthenticated:")
    # The real reviewer, authenticated, still can.
    out = reviewer.decisions.decide(review_id, {"type": "approve"}, reviewer=sides.login(reviewer))
    assert out.thread_status == "done"
    assert [e["op"] for e in infra.events()] == ["delete_volume"]


def test_a_principal_cannot_be_constructed_or_promoted(sides: Any) -> None:
    reviewer = sides.reviewer()
    with pytest.raises(AuthorizationError, match="not issued by an authenticator"):
        Principal(name="mallory", roles=("admin",), tag="0" * 64)
    sam = sides.login(reviewer)
    with pytest.raises(AuthorizationError, match="not issued by an authenticator"):
        dataclasses.replace(sam, roles=("admin",))
    object.__setattr__(sam, "roles", ("admin",))  # frozen is no barrier to a determined caller
    review_id, _, infra = sides.start(reviewer)
    with pytest.raises(AuthorizationError, match="authenticated principal"):
        reviewer.decisions.decide(review_id, {"type": "approve"}, reviewer=sam)
    _unchanged(reviewer, review_id, infra)


@pytest.mark.parametrize("name", ["mallory", "SAM-not-a-reviewer"])
def test_interlock_decide_as_a_made_up_reviewer_is_refused(sides: Any, name: str) -> None:
    agent = sides.agent()
    review_id, _, infra = sides.start(agent)
    env = {**sides.agent_env, "PATH": os.environ.get("PATH", "")}
    done = subprocess.run(
        [str(INTERLOCK), "decide", review_id, "--as", name, "--approve", "--password-stdin"],
        input="anything-at-all\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=sides.tmp,
        timeout=120,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "unknown reviewer" in done.stderr
    assert len(done.stderr.strip().splitlines()) <= 3  # one message (Rich may wrap it)
    _unchanged(agent, review_id, infra)
    failed = [r for r in agent.audit.rows() if r.event == "authentication_failed"]
    assert [r.actor for r in failed] == [f"unauthenticated:{name}"]


def test_a_made_up_administrator_cannot_lift_or_set_a_stop(sides: Any) -> None:
    reviewer = sides.reviewer()
    reviewer.reviewers.add("ada", ["admin"], "ada-password-1")
    ada = reviewer.authenticate("ada", "ada-password-1")
    reviewer.stops.stop("environment", "production", by=ada, reason="INC-7")
    mallory = Reviewer(name="ada", roles=("admin",))  # the right name and role, no login
    with pytest.raises(AuthorizationError, match="authenticated principal"):
        reviewer.stops.resume("environment", "production", by=mallory)
    with pytest.raises(AuthorizationError, match="authenticated principal"):
        reviewer.stops.stop("agent", "ops-agent", by=mallory, reason="mine now")
    assert [(s.scope, s.value) for s in reviewer.stops.active()] == [("environment", "production")]
