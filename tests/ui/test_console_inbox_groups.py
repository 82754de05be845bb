"""Inbox for many reviews (AppTest): the new columns, numbers that sort as numbers, groups of
identical actions and their bulk reject, the tab title's count, and next / previous."""

from __future__ import annotations

from typing import Any

from interlock.ui._console_inbox import tab_title


def _table(at: Any) -> Any:
    return at.dataframe[0].value


def _identical(console: Any, n: int) -> list[str]:
    return [
        console.quick("delete_volume", volume_id="vol-scratch", environment="staging")
        for _ in range(n)
    ]


def test_rows_name_thread_requester_review_and_reason_and_age_is_a_number(console: Any) -> None:
    rid = console.pocketos()
    at = console.open("sam", "_console_inbox.py")
    row = _table(at).iloc[0]
    assert row["review"] == rid
    assert row["thread"].startswith("ops_agent-")
    assert row["requester"] == ""  # this run named nobody; the column is there to say who
    assert row["reason"] == "Deletes or destroys something in production."
    assert int(row["age"]) == 0
    assert isinstance(row["age"].item(), int)  # a number of minutes, not text
    assert 23 * 60 <= row["time left"] < 24 * 60


def test_identical_actions_group_and_one_typed_reject_rejects_each_with_an_audit_row(
    console: Any,
) -> None:
    ids = _identical(console, 3)
    other = console.quick("restart_service", service="api", environment="production")
    at = console.open("sam", "_console_inbox.py")
    console.register_quick()
    groups = at.dataframe[1].value  # the groups table, after the inbox
    assert list(groups["reviews"]) == [3]
    assert "delete_volume(environment='staging', volume_id='vol-scratch')" in groups["calls"][0]
    button = at.button(key="inbox_group_reject")
    assert button.disabled
    at.text_area(key="inbox_group_message").input("Not now: the scratch volume is in use.").run()
    assert at.button(key="inbox_group_reject").disabled  # the target is not typed yet
    at.text_input(key="inbox_group_confirm").input("vol-scratch").run()
    at.button(key="inbox_group_reject").click().run()
    assert not at.exception, at.exception
    assert "Rejected 3 review(s)" in console.texts(at)
    with console.runtime() as rt:
        assert [s.id for s in rt.inbox.pending()] == [other]
        decided = [r for r in rt.audit.rows() if r.event == "decision_recorded"]
    assert sorted(r.review_id for r in decided) == sorted(ids)
    assert {(r.actor, r.data["type"]) for r in decided} == {("sam", "reject")}


def test_a_group_reject_leaves_what_the_reviewer_may_not_decide(console: Any) -> None:
    console.pocketos()
    console.pocketos()  # two identical critical deletes: oncall may not decide them
    at = console.open("olivia", "_console_inbox.py")
    assert list(at.dataframe[1].value["reviews"]) == [2]
    at.text_area(key="inbox_group_message").input("No.").run()
    at.text_input(key="inbox_group_confirm").input("vol-prod-db").run()
    at.button(key="inbox_group_reject").click().run()
    assert "2 left for a reviewer with the needed role." in console.texts(at)
    with console.runtime() as rt:
        assert rt.inbox.count() == 2


def test_next_and_previous_move_the_pick_and_the_title_counts_new_critical(
    console: Any,
) -> None:
    critical = console.pocketos()
    high = console.quick("restart_service", service="api", environment="production")
    at = console.open("sam", "_console_inbox.py")
    assert at.selectbox(key="inbox_pick").value == critical
    at.button(key="inbox_next").click().run()
    assert at.selectbox(key="inbox_pick").value == high
    at.button(key="inbox_next").click().run()  # stays on the last row
    assert at.selectbox(key="inbox_pick").value == high
    at.button(key="inbox_prev").click().run()
    assert at.selectbox(key="inbox_pick").value == critical
    assert "interlock.seen_reviews" not in at.session_state  # one new critical: the title
    at.button(key="inbox_open").click().run()
    assert at.session_state["interlock.seen_reviews"] == {critical}  # opened: not new now
    assert tab_title(1) == "(1 new critical) Inbox · Interlock"
    assert tab_title(0) == "Inbox · Interlock"


def test_filters_sit_in_an_expander_with_whole_labels(console: Any) -> None:
    console.pocketos()
    at = console.open("sam", "_console_inbox.py")
    labels = [e.label for e in at.expander]
    assert "Filters" in labels
    assert at.toggle(key="inbox_soon").label == "Expiring soon"
    at.toggle(key="inbox_soon").set_value(True).run()
    assert "Filters (1 on)" in [e.label for e in at.expander]
