"""Identities compare stripped and casefolded: reviewer names are unique that way, a requester
cannot approve under another case, N distinct approvers are N people; and escalation only goes
up the role ladder. Both backends, through the runtime's authenticator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from interlock.graphs import Infra
from interlock.risk import Policy, default_policy
from interlock.risk.errors import AuthorizationError, ConfigError
from interlock.runtime import Database, DatabaseReviewers, Reviewers, Runtime, same_identity

PROD_DELETE = ["delete_volume", {"volume_id": "vol-prod-db", "token": "tok-ci-admin"}]
PASSWORD = "a-long-password"


def _people(tmp_path: Path, **people: tuple[str, ...]) -> None:
    book = Reviewers.load(tmp_path / "reviewers.toml")
    for name, roles in people.items():
        book.add(name, roles, PASSWORD)


def _start(rt: Runtime, tmp_path: Path, requester: str | None = None) -> tuple[str, Infra]:
    infra = tmp_path / "infra.json"
    run = rt.run(
        "scripted_ops",
        "tidy up",
        options={"infra": str(infra), "turns": [[PROD_DELETE]]},
        requester=requester,
    )
    assert run.status == "pending"
    assert run.review_id
    return run.review_id, Infra(infra)


def test_same_identity_is_casefolded_and_stripped() -> None:
    assert same_identity("Alice", " alice ")
    assert same_identity("STRASSE", "straße")
    assert not same_identity("alice", "alicia")
    assert not same_identity(None, "alice")


def test_reviewer_names_are_unique_case_insensitively_in_the_file(tmp_path: Path) -> None:
    book = Reviewers.load(tmp_path / "r.toml")
    book.add("alice", ["oncall"], PASSWORD)
    with pytest.raises(ConfigError, match=r"already exists.*case-insensitively"):
        book.add("Alice", ["admin"], PASSWORD)
    assert [r.name for r in Reviewers.load(tmp_path / "r.toml")] == ["alice"]
    assert book.authenticate("ALICE", PASSWORD).name == "alice"


def test_reviewer_names_are_unique_case_insensitively_in_the_table(db: Database) -> None:
    book = DatabaseReviewers(db)
    book.add("alice", ["oncall"], PASSWORD)
    with pytest.raises(ConfigError, match=r"already exists.*case-insensitively"):
        book.add("ALICE", ["admin"], PASSWORD)
    assert [(r.name, r.roles) for r in book] == [("alice", ("oncall",))]
    assert book.authenticate(" Alice ", PASSWORD).name == "alice"
    book.passwd("Alice", "another-password")
    assert book.authenticate("alice", "another-password").name == "alice"
    assert book.remove("aLiCe").name == "alice"
    assert len(book) == 0
    with db.connection() as conn:
        events = [r["event"] for r in conn.all("SELECT event FROM interlock_audit ORDER BY seq")]
    assert events == ["reviewer_added", "reviewer_password_changed", "reviewer_removed"]


def test_a_requester_may_not_approve_under_another_case(
    open_rt: Callable[..., Runtime], tmp_path: Path
) -> None:
    _people(tmp_path, Alice=("sre-lead",))
    rt = open_rt()
    review_id, infra = _start(rt, tmp_path, requester="alice")
    me = rt.authenticate("Alice", PASSWORD)
    with pytest.raises(AuthorizationError, match="started this run"):
        rt.decisions.decide(review_id, {"type": "approve"}, reviewer=me)
    assert rt.inbox.summary(review_id).status == "pending"
    assert "vol-prod-db" in infra.read()["volumes"]


def _two_person_policy() -> Policy:
    data: dict[str, Any] = default_policy().to_dict()
    data["approvals"]["critical"] = {"roles": ["sre-lead"], "count": 2}
    return Policy.from_dict(data)


def test_two_approvals_under_two_cases_of_one_name_are_one_person(
    open_rt: Callable[..., Runtime], tmp_path: Path
) -> None:
    _people(tmp_path, sam=("sre-lead",))
    rt = open_rt(policy=_two_person_policy())
    review_id, infra = _start(rt, tmp_path)
    sam = rt.authenticate("sam", PASSWORD)
    assert rt.decisions.decide(review_id, {"type": "approve"}, reviewer=sam).status == "waiting"
    # The first approval as recorded under another case of the same name (an older row, or
    # another identity provider's spelling): still the same person.
    with rt.db.transaction() as conn:
        conn.execute("UPDATE interlock_decisions SET reviewer = 'SAM ' WHERE review_id = ?",
                     (review_id,))  # fmt: skip
    with pytest.raises(AuthorizationError, match="already approved"):
        rt.decisions.decide(review_id, {"type": "approve"}, reviewer=sam)
    assert rt.inbox.summary(review_id).status == "pending"
    assert "vol-prod-db" in infra.read()["volumes"]


def test_escalation_only_goes_to_a_more_senior_role(
    open_rt: Callable[..., Runtime], tmp_path: Path
) -> None:
    _people(tmp_path, sam=("sre-lead",))
    rt = open_rt()
    review_id, infra = _start(rt, tmp_path)  # critical: needs sre-lead or admin
    sam = rt.authenticate("sam", PASSWORD)
    for role in ("oncall", "sre-lead"):
        with pytest.raises(AuthorizationError, match=rf"cannot escalate .* to {role}.*admin"):
            rt.decisions.decide(review_id, {"type": "escalate", "role": role}, reviewer=sam)
        assert rt.inbox.summary(review_id).status == "pending"
    out = rt.decisions.decide(review_id, {"type": "escalate", "role": "admin"}, reviewer=sam)
    assert out.status == "escalated"
    assert "vol-prod-db" in infra.read()["volumes"]
