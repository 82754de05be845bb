"""Issue 15 in AppTest: live state (a decision made elsewhere), refusals in the console's
language, stops where reviewers decide, and safer defaults (escalation only upward, asking
for the right role, no password in a label). Runs on SQLite and Postgres."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from interlock.runtime import DEMO_PASSWORD, Reviewers, ensure_demo_reviewers
from interlock.ui._console_live import console_words, waiting_since
from interlock.ui._console_state import get_runtime

PASSWORD = "correct horse battery"
NO = "No: snapshot vol-prod-db first."


def _k(review_id: str, name: str) -> str:
    return f"decide_{review_id}_0_{name}"


def _reject_as(console: Any, name: str, rid: str, message: str = NO) -> None:
    with console.runtime() as rt:
        who = rt.authenticate(name, PASSWORD)
        rt.decisions.decide(rid, {"type": "reject", "message": message}, reviewer=who)


def test_a_review_decided_elsewhere_shows_who_what_and_the_message_and_no_controls(
    console: Any,
) -> None:
    rid = console.pocketos()
    at = console.open_review("sam", rid)
    assert "expires in" in console.texts(at)
    assert at.radio(key=_k(rid, "kind"))
    _reject_as(console, "sasha", rid)
    at.run()  # the poll's redraw, as the fragment triggers it
    shown = console.texts(at)
    assert "Decided: reject by sasha at" in shown
    assert NO in shown
    assert "This review is **decided** by sasha" in shown
    assert "expires in" not in shown
    assert "approvals 0 of 1" not in shown
    keys = [b.key for b in at.button]
    assert _k(rid, "submit") not in keys
    assert "live_next" in keys  # the safe path's review waits: "Next review"
    assert at.button(key="live_next").label == "Next review"


def test_a_refused_submit_on_a_decided_review_leaves_submit_off_and_no_cli_advice(
    console: Any,
) -> None:
    rid = console.pocketos()
    at = console.open_review("sam", rid)
    at.radio(key=_k(rid, "kind")).set_value("reject").run()
    at.text_area(key=_k(rid, "message")).input("stop").run()
    _reject_as(console, "sasha", rid)
    at.button(key=_k(rid, "submit")).click().run()  # clicked before the poll noticed
    refusal = next(e.value for e in at.error if "Refused" in e.value)
    assert "already decided by sasha" in refusal
    assert "`" not in refusal
    assert "interlock pending" not in refusal
    assert at.button(key=_k(rid, "submit")).disabled
    assert at.text_area(key=_k(rid, "message")).value == "stop"  # the input is kept


def test_console_words_drop_the_cli_advice() -> None:
    said = "review rv-1 was already decided by sam (reject); your decision was not applied. "
    said += "Run `interlock pending` for what is open now."
    assert console_words(said) == (
        "review rv-1 was already decided by sam (reject); your decision was not applied."
    )
    assert console_words("no review 'x'. List the open ones with `interlock pending` and use "
                         "an id from the first column.") == "no review 'x'."  # fmt: skip


def test_escalation_offers_only_more_senior_roles(console: Any) -> None:
    rid = console.pocketos()  # needs sre-lead (or admin): only admin ranks higher
    at = console.open_review("sam", rid)
    at.radio(key=_k(rid, "kind")).set_value("escalate").run()
    assert at.selectbox(key=_k(rid, "role")).options == ["admin"]


def test_a_read_only_reviewer_pages_the_role_it_needs_and_the_audit_log_keeps_it(
    console: Any,
) -> None:
    rid = console.pocketos()
    at = console.open_review("olivia", rid)
    assert at.button(key=f"ask_{rid}").label == "Page sre-lead"
    at.text_input(key=f"ask_note_{rid}").input("prod db at risk, INC-9").run()
    at.button(key=f"ask_{rid}").click().run()
    assert "Asked for sre\\-lead" in console.texts(at)
    assert "No team is notified" in console.texts(at)  # INTERLOCK_NOTIFY is unset here
    with console.runtime() as rt:
        (row,) = [r for r in rt.audit.rows() if r.event == "role_requested"]
    assert (row.actor, row.review_id) == ("olivia", rid)
    assert row.data == {
        "role": "sre-lead",
        "note": "prod db at risk, INC-9",
        "tool": "delete_volume",
        "team": "sre",  # the bundled policy's escalation team for sre-lead
    }
    assert f"ask_{rid}" not in [b.key for b in at.button]  # asked once


def test_stops_show_on_the_inbox_and_the_review_and_warn_before_approving(
    console: Any,
) -> None:
    rid = console.pocketos()
    with console.runtime() as rt:
        ada = rt.authenticate("ada", PASSWORD)
        rt.stops.stop("environment", "production", by=ada, reason="INC-7")
        assert [s.value for s in rt.stops.covering(agent="x", environment="production")] == [
            "production"
        ]
        assert rt.stops.covering(agent="x", environment="staging") == []
    inbox = console.switch(console.sign_in("sam"), "_console_inbox.py")
    assert "**production is stopped** by ada" in inbox.error[0].value
    at = console.open_review("sam", rid)
    assert any("You may still decide, but an approved action is **denied**" in e.value
               for e in at.error)  # fmt: skip
    assert at.radio(key=_k(rid, "kind")).value is None  # critical: nothing pre-selected
    at.radio(key=_k(rid, "kind")).set_value("approve").run()
    assert any("approving records your decision, but the action is denied" in w.value
               for w in at.warning)  # fmt: skip


def test_stopping_a_name_the_database_does_not_know_asks_first(console: Any) -> None:
    console.pocketos()  # a review in production by ops-agent: those names are known
    with console.runtime() as rt:
        assert rt.stops.known("environment") == ["production"]
        assert rt.stops.known("agent") == ["ops-agent"]
    at = console.open("ada", "_console_controls.py")
    at.radio(key="controls_scope").set_value("environment").run()
    at.text_input(key="controls_value").input("prodution").run()
    at.text_input(key="controls_reason").input("INC-8").run()
    at.button(key="controls_stop").click().run()
    assert any("No review so far names the environment **prodution**" in e.value
               for e in at.error)  # fmt: skip
    assert at.button(key="controls_confirm").disabled
    at.button(key="controls_cancel").click().run()
    at.text_input(key="controls_value").input("production").run()
    at.button(key="controls_stop").click().run()
    assert not at.checkbox  # a known name: no extra question
    at.button(key="controls_confirm").click().run()
    with console.runtime() as rt:
        assert [s.value for s in rt.stops.active()] == ["production"]


def test_no_label_shows_a_password(console: Any, tmp_path: Path) -> None:
    made = ensure_demo_reviewers(tmp_path / "demo.toml", f"sqlite:///{tmp_path}/d.db")
    assert made
    for r in Reviewers.load(tmp_path / "demo.toml"):
        assert "password" not in r.label.lower()
        assert f": {DEMO_PASSWORD}" not in r.label
    at = console.sign_in("sam")
    assert "password" not in "\n".join(m.value for m in at.sidebar.markdown).lower()


def test_waiting_keeps_the_first_age_across_an_escalation(console: Any) -> None:
    rid = console.pocketos()
    with console.runtime() as rt:
        first = rt.inbox.summary(rid)
        sam = rt.authenticate("sam", PASSWORD)
        out = rt.decisions.decide(rid, {"type": "escalate", "role": "admin"}, reviewer=sam)
        assert out.next_review_id
        second = rt.inbox.summary(out.next_review_id)
    assert second.created_at > first.created_at  # a new round, opened later
    at = console.open_review("ada", out.next_review_id)
    assert waiting_since(get_runtime().inbox.get(out.next_review_id)) == first.created_at
    assert "status **pending**" in console.texts(at)
