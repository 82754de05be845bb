"""An agent with a shell writes the approval itself: rows written with SQL run nothing.

The attacker holds the agent side's database URL and its public keys. It writes a settling
decision and an approval row for its own pending production delete, marks the review decided
and lets a worker carry it into the thread; or it copies a real, signed approval onto another
action. Guarded execution verifies the signature with the public keys before the tool runs:
every attempt is refused, the tool never runs, no ledger row opens, and the refusal is
audited `approval_forged`. (Both backends; the Postgres database user here may write every
table, the strongest case: the signature alone stops it.)
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from interlock.nodes import Approval
from interlock.runtime import Runtime, Worker, WorkerOptions
from interlock.runtime.review.signing import approval_message, key_id

ONCE = WorkerOptions(expire_every=0, reconcile_every=0)


def _forge(rt: Runtime, review_id: str, action: dict[str, Any], how: str, trusted: str) -> None:
    """As the attacker: a settling approval decision, an approval row and the review marked
    decided, all through the agent side's own connection."""
    now = datetime.now(UTC)
    with rt.db.connection() as conn:
        row = conn.one(
            "SELECT thread_id, interrupt_id, policy_version FROM interlock_reviews WHERE id = ?",
            (review_id,),
        )
    assert row is not None
    approval = Approval(
        digest=action["digest"],
        tool=action["name"],
        thread_id=row["thread_id"],
        interrupt_id=row["interrupt_id"],
        tool_call_id=str(action.get("tool_call_id", "")),
        reviewers=("mallory",),
        roles=("sre-lead",),
        issued_at=now,
        expires_at=now + timedelta(hours=1),
        review_id=review_id,
        policy_version=str(action["assessment"]["policy_version"]),
    )
    mine = Ed25519PrivateKey.generate()
    kid, signature = "", ""
    if how == "own key":  # a well-formed signature by a key nobody trusts
        kid = key_id(mine.public_key())
    elif how == "trusted key id":  # the trusted key's id over the attacker's signature
        kid = trusted
    if kid:
        named = Approval(**{**approval.__dict__, "key_id": kid})
        signature = base64.b64encode(mine.sign(approval_message(named))).decode()
    decision = {"type": "approve", "reviewer": "mallory", "digest": action["digest"]}
    with rt.db.transaction() as conn:
        conn.execute(
            "INSERT INTO interlock_decisions (id, review_id, action_index, reviewer, type, "
            "settles, digest, payload, created_at) VALUES (?, ?, 0, 'mallory', 'approve', 1, ?, "
            "?, ?)",
            (f"dc-{uuid.uuid4().hex[:12]}", review_id, action["digest"], json.dumps(decision), now),
        )
        conn.execute(
            "INSERT INTO interlock_approvals (digest, review_id, thread_id, action_index, "
            "reviewers, issued_at, expires_at, consumed_at, tool, interrupt_id, tool_call_id, "
            "roles, policy_version, key_id, signature) "
            "VALUES (?, ?, ?, 0, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?)",
            (
                approval.digest,
                review_id,
                approval.thread_id,
                '["mallory"]',
                approval.issued_at,
                approval.expires_at,
                approval.tool,
                approval.interrupt_id,
                approval.tool_call_id,
                '["sre-lead"]',
                approval.policy_version,
                kid,
                signature,
            ),
        )
        conn.execute(
            "UPDATE interlock_reviews SET status = 'decided', decided_by = 'mallory', "
            "decided_at = ?, outcome = 'approved by mallory' WHERE id = ?",
            (now, review_id),
        )


@pytest.mark.parametrize("how", ["unsigned", "own key", "trusted key id"])
def test_an_approval_row_the_agent_writes_runs_nothing(sides: Any, how: str) -> None:
    reviewer = sides.reviewer()
    trusted = reviewer.signer().key_id
    agent = sides.agent()
    review_id, thread_id, infra = sides.start(agent)
    _forge(agent, review_id, sides.action_of(agent, review_id), how, trusted)

    Worker(agent, ONCE).run(once=True)

    assert infra.events() == []  # the production volume was not deleted
    assert "vol-prod-db" in {v for v in infra.read()["volumes"]}
    assert sides.ledger_rows(agent) == 0
    forged = [r for r in agent.audit.rows() if r.event == "approval_forged"]
    assert len(forged) == 1
    assert forged[0].thread_id == thread_id
    assert "execution_started" not in sides.events(agent)
    assert agent.audit.verify().ok


@pytest.mark.parametrize("target", ["other arguments", "another thread"])
def test_a_real_signed_approval_replayed_elsewhere_runs_nothing(sides: Any, target: str) -> None:
    reviewer = sides.reviewer()
    agent = sides.agent()
    first, _, first_infra = sides.start(agent)
    sam = sides.login(reviewer)
    out = reviewer.decisions.decide(first, {"type": "approve"}, reviewer=sam, resume=False)
    assert out.status == "queued"
    call = sides.other_delete if target == "other arguments" else sides.prod_delete
    second, second_thread, second_infra = sides.start(agent, call)
    action = sides.action_of(agent, second)
    assert action["digest"] != sides.action_of(agent, first)["digest"]
    now = datetime.now(UTC)
    with agent.db.transaction() as conn:  # the signed row, copied onto the other action
        real = conn.one("SELECT * FROM interlock_approvals WHERE review_id = ?", (first,))
        assert real is not None
        assert real["signature"]
        copy = {**real, "digest": action["digest"], "review_id": second}
        copy["thread_id"] = second_thread
        cols = ", ".join(copy)
        conn.execute(
            f"INSERT INTO interlock_approvals ({cols}) VALUES ({', '.join('?' for _ in copy)})",
            tuple(copy.values()),
        )
        decision = {"type": "approve", "reviewer": "sam", "digest": action["digest"]}
        conn.execute(
            "INSERT INTO interlock_decisions (id, review_id, action_index, reviewer, type, "
            "settles, digest, payload, created_at) VALUES (?, ?, 0, 'sam', 'approve', 1, ?, ?, ?)",
            (f"dc-{uuid.uuid4().hex[:12]}", second, action["digest"], json.dumps(decision), now),
        )
        conn.execute(
            "UPDATE interlock_reviews SET status = 'decided', decided_by = 'sam', decided_at = ? "
            "WHERE id = ?",
            (now, second),
        )

    agent.decisions.resume(second)

    assert second_infra.events() == []
    forged = [r for r in agent.audit.rows() if r.event == "approval_forged"]
    assert [r.thread_id for r in forged] == [second_thread]
    # The approval the reviewer really gave still works, once, for its own action only.
    agent.decisions.resume(first)
    assert [e["op"] for e in first_infra.events()] == ["delete_volume"]
    assert agent.audit.verify().ok


def test_an_agent_side_process_cannot_issue_an_approval(sides: Any) -> None:
    """Even with a reviewer's password in hand, a process without the signing key records
    no decision: it cannot sign the approval."""
    from interlock.risk.errors import ConfigError

    agent = sides.agent()
    review_id, _, infra = sides.start(agent)
    sam = sides.login(sides.reviewer())
    with pytest.raises(ConfigError, match="cannot sign approvals"):
        agent.decisions.decide(review_id, {"type": "approve"}, reviewer=sam)
    assert agent.inbox.summary(review_id).status == "pending"
    assert infra.events() == []
