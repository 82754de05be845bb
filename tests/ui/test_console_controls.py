"""Controls page: the stop switch is for admins only, and each change is confirmed first."""

from __future__ import annotations

from typing import Any


def test_a_reviewer_without_admin_sees_the_stops_but_no_switch(console: Any) -> None:
    at = console.open("sam", "_console_controls.py")
    assert "Needs **admin**" in console.texts(at)
    assert "Nothing is stopped" in console.texts(at)
    assert not [b for b in at.button if b.key and b.key.startswith("controls_")]


def test_an_admin_must_name_the_target_and_give_a_reason_before_confirming(
    console: Any,
) -> None:
    at = console.open("ada", "_console_controls.py")
    at.button(key="controls_stop").click().run()
    assert any("Name the agent to stop." in e.value for e in at.error)
    at.text_input(key="controls_value").input("ops-agent").run()
    at.button(key="controls_stop").click().run()
    assert any("Say why" in e.value for e in at.error)
    at.text_input(key="controls_reason").input("INC-42: deleting volumes").run()
    at.button(key="controls_stop").click().run()
    assert "Stop agent ops\\-agent?" in at.warning[0].value
    assert at.button(key="controls_confirm").label == "Confirm stop"
    at.button(key="controls_cancel").click().run()
    assert not at.warning
    assert "Nothing is stopped" in console.texts(at)


def test_an_admin_stops_and_resumes_an_agent_and_both_are_audited(console: Any) -> None:
    at = console.open("ada", "_console_controls.py")
    at.text_input(key="controls_value").input("ops-agent").run()
    at.text_input(key="controls_reason").input("INC-42: deleting volumes").run()
    at.button(key="controls_stop").click().run()
    # No review has named ops-agent yet in this fresh database: confirm the new name.
    at.checkbox(key="controls_new_agent_ops-agent").check().run()
    at.button(key="controls_confirm").click().run()
    assert not at.exception
    active = at.dataframe[0].value
    assert list(active["stopped"]) == ["ops-agent"]
    assert list(active["by"]) == ["ada"]
    assert "Stopped agent ops\\-agent\\; recorded in the audit log\\." in console.texts(at)
    at.button(key="controls_resume").click().run()
    at.button(key="controls_confirm").click().run()
    assert "Nothing is stopped" in console.texts(at)
    with console.runtime() as rt:
        events = [(r.event, r.actor) for r in rt.audit.rows()]
        assert not rt.stops.active()
    assert events == [("scope_stopped", "ada"), ("scope_resumed", "ada")]


def test_a_stopped_environment_shows_for_everyone(console: Any) -> None:
    with console.runtime() as rt:
        ada = rt.authenticate("ada", "correct horse battery")  # an administrator, signed in
        rt.stops.stop("environment", "production", by=ada, reason="freeze")
    at = console.open("olivia", "_console_controls.py")
    active = at.dataframe[0].value
    assert (active.iloc[0]["scope"], active.iloc[0]["stopped"]) == ("environment", "production")
    assert "Needs **admin**" in console.texts(at)
