"""An agent with a shell rewrites its own review row: the reviewer side approves only what it
shows, at no less than its own policy requires.

The review row is the agent side's writing (it opens reviews). The attacker keeps the digest
of its real pending call (the production delete) and shows the reviewer another action; or
shows the real action but lowers who may approve it. The decision service recomputes the
digest from the action shown and assesses that action with its own policy: the disguise is
refused and audited, the lowered requirement does not count, and nothing runs. (Both
backends.)
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from interlock.risk.errors import AuthorizationError, ConflictError


def _rewrite(sides: Any, review_id: str, change: dict[str, Any]) -> None:
    """As the attacker, through the agent side's own connection: edit the shown action."""
    agent = sides.agent()
    with agent.db.connection() as conn:
        row = conn.one("SELECT payload FROM interlock_reviews WHERE id = ?", (review_id,))
        assert row is not None
        payload = json.loads(row["payload"])
        payload["action_requests"][0].update(change)
    with agent.db.transaction() as conn:
        conn.send(
            "UPDATE interlock_reviews SET payload = ? WHERE id = ?",
            (json.dumps(payload), review_id),
        )


def test_a_harmless_action_shown_over_the_real_digest_is_refused(sides: Any) -> None:
    agent = sides.agent()
    review_id, _thread, infra = sides.start(agent)
    name, args = sides.other_delete
    # The same tool on another volume: what the reviewer sees; the digest is the real call's.
    _rewrite(sides, review_id, {"name": name, "args": args})
    reviewer = sides.reviewer()
    with pytest.raises(ConflictError, match="does not match its digest"):
        reviewer.decisions.decide(review_id, {"type": "approve"}, reviewer=sides.login(reviewer))
    assert infra.events() == []  # nothing was deleted
    assert sides.ledger_rows(reviewer) == 0
    with reviewer.db.connection() as conn:
        signed = conn.scalar("SELECT count(*) AS n FROM interlock_approvals")
    assert int(signed) == 0
    assert "decision_refused" in sides.events(reviewer)


def test_a_lowered_requirement_does_not_count(sides: Any) -> None:
    agent = sides.agent()
    review_id, _thread, infra = sides.start(agent)
    _rewrite(sides, review_id, {"required_approval": {"roles": ["oncall"], "count": 1}})
    reviewer = sides.reviewer()
    reviewer.reviewers.add("olly", ["oncall"], "olly-password-1")
    olly = reviewer.authenticate("olly", "olly-password-1")
    with pytest.raises(AuthorizationError, match="sre-lead"):
        reviewer.decisions.decide(review_id, {"type": "approve"}, reviewer=olly)
    assert infra.events() == []
    # The qualified reviewer still approves the very action shown, and it runs once.
    reviewer.decisions.decide(review_id, {"type": "approve"}, reviewer=sides.login(reviewer))
    assert [e["op"] for e in infra.events()] == ["delete_volume"]
