"""`action_facts`: each review's top reason and a digest of its calls, in one query per 500
ids, on SQLite and Postgres."""

from __future__ import annotations

from interlock.graphs.ops_agent import SCENARIO_REQUEST
from interlock.runtime import Runtime, action_facts, calls_digest, top_reasons


def test_identical_runs_share_a_digest_and_the_top_reason_is_the_biggest(
    rt: Runtime, ops_options: dict[str, str]
) -> None:
    first = rt.run("ops_agent", SCENARIO_REQUEST, options=ops_options).review_id
    second = rt.run("ops_agent", SCENARIO_REQUEST, options=ops_options).review_id
    assert first
    assert second
    facts = action_facts(rt.db, [first, second, "rv-unknown", first])
    assert set(facts) == {first, second}  # unknown ids are left out, repeats read once
    a, b = facts[first], facts[second]
    assert a.calls_digest == b.calls_digest
    assert a.calls == "delete_volume(token='tok-ci-admin', volume_id='vol-prod-db')"
    detail = rt.inbox.get(first)
    action = detail.request["action_requests"][0]
    biggest = max(action["assessment"]["reasons"], key=lambda r: r["points"])
    assert a.top_reason == biggest["text"]
    assert top_reasons(action, 1)[0]["text"] == biggest["text"]


def test_the_digest_changes_with_any_argument_and_with_order() -> None:
    one = [{"name": "t", "args": {"x": 1}}]
    assert calls_digest(one) == calls_digest([{"name": "t", "args": {"x": 1}}])
    assert calls_digest(one) != calls_digest([{"name": "t", "args": {"x": 2}}])
    two = [{"name": "a", "args": {}}, {"name": "b", "args": {}}]
    assert calls_digest(two) != calls_digest(list(reversed(two)))
