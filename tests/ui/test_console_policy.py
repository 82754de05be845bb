"""Policy page: the active policy readable at a glance, and trying actions against it."""

from __future__ import annotations

import json
from typing import Any

from interlock.risk import default_policy


def test_the_policy_page_shows_name_version_and_every_rule(console: Any) -> None:
    at = console.open("olivia", "_console_policy.py")
    policy = default_policy()
    shown = console.texts(at)
    assert policy.version in shown
    assert "interlock\\-default" in shown
    rules = at.dataframe[0].value
    assert list(rules["rule"]) == [r.id for r in policy.rules]
    assert all(rules["why"].str.len() > 0)
    assert all(rules["when"].str.len() > 0)


def test_try_an_action_starts_with_the_pocketos_delete_and_explains_the_verdict(
    console: Any,
) -> None:
    at = console.open("olivia", "_console_policy.py")
    action = json.loads(at.text_area(key="policy_try_json").value)
    assert (action["tool"], action["args"]) == ("volumeDelete", {"volumeId": "vol-prod-db"})
    shown = console.texts(at)
    assert ":red-badge[critical]" in shown
    assert ":orange-badge[review]" in shown
    assert "needs 1 approval(s) from `sre-lead`" in shown
    reasons = at.dataframe[1].value
    assert len(reasons) >= 2
    assert any(p.startswith("+") for p in reasons["points"])


def test_picking_or_pasting_an_action_reassesses_it(console: Any) -> None:
    at = console.open("olivia", "_console_policy.py")
    at.selectbox(key="policy_example").set_value("read-logs-prod").run()
    assert ":green-badge[allow]" in console.texts(at)
    pasted = {"tool": "delete_volume", "environment": "production", "effects": ["destroy"]}
    at.text_area(key="policy_try_json").input(json.dumps(pasted)).run()
    assert ":orange-badge[review]" in console.texts(at)
    at.text_area(key="policy_try_json").input('{"tool": "x", ').run()
    assert any("Not valid JSON" in e.value for e in at.error)
    at.text_area(key="policy_try_json").input('{"tool": "x", "colour": 1}').run()
    assert any("Unknown action fields" in e.value and "colour" in e.value for e in at.error)
