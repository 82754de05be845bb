"""Review page on the PocketOS scenario: what a reviewer reads, and each kind of decision
leading to the right resumed state and audit rows."""

from __future__ import annotations

from typing import Any

ADVICE = "Never delete production volumes. Snapshot it, then fix the staging credential."


def _k(review_id: str, name: str) -> str:
    return f"decide_{review_id}_0_{name}"


def _decided(console: Any, review_id: str) -> list[Any]:
    with console.runtime() as rt:
        return [
            r
            for r in rt.audit.rows()
            if r.review_id == review_id and r.event == "decision_recorded"
        ]


def _executed(console: Any, tool: str) -> list[Any]:
    with console.runtime() as rt:
        return [
            r
            for r in rt.audit.rows()
            if r.event == "execution_succeeded" and r.data.get("tool") == tool
        ]


def test_the_page_shows_request_reasoning_results_outcome_reasons_and_timeline(
    console: Any,
) -> None:
    rid = console.pocketos()
    at = console.open_review("sam", rid)
    shown = console.texts(at)
    assert "Deploys to staging fail" in shown  # the original request
    assert "tok-ci-admin (found in ci/.env) can act everywhere" in shown  # the reasoning
    warning = at.warning[0].value  # the expected outcome, prominent
    assert "3 backups live on this volume and would be lost" in warning
    assert '"volume_id": "vol-prod-db"' in shown
    reasons = at.dataframe[0].value
    assert "prod-destructive" in set(reasons["rule"])
    assert any(p.startswith("+") for p in reasons["points"])
    assert "policy `248f" in shown or "policy `" in shown
    assert len(at.expander) == 7  # tool results so far, collapsed
    assert not any(e.proto.expanded for e in at.expander)
    timeline = at.dataframe[1].value
    assert any("stopped for review" in t for t in timeline["text"])
    assert "needs `sre-lead / admin` · approvals 0 of 1" in shown


def test_a_reviewer_without_the_role_reads_everything_but_gets_no_controls(
    console: Any,
) -> None:
    rid = console.pocketos()
    at = console.open_review("olivia", rid)
    assert "**Needs `sre-lead / admin`.** Read only" in at.info[0].value
    assert not at.radio
    nav = ("keys_prev", "keys_next")  # next / previous review: reading is allowed
    ask = f"ask_{rid}"  # "Page sre-lead": asking for the role is allowed too
    assert [b.key for b in at.button if b.key not in nav] == [ask, "auth_sign_out"]
    assert "3 backups live on this volume" in at.warning[0].value


def test_approving_a_critical_delete_needs_the_target_typed_then_it_runs(console: Any) -> None:
    rid = console.pocketos()
    at = console.open_review("sam", rid)
    assert at.radio(key=_k(rid, "kind")).value is None  # nothing pre-selected when critical
    at.radio(key=_k(rid, "kind")).set_value("approve").run()
    assert at.button(key=_k(rid, "submit")).disabled
    at.text_input(key=_k(rid, "confirm")).input("vol-prod").run()
    assert at.button(key=_k(rid, "submit")).disabled
    at.text_input(key=_k(rid, "confirm")).input("vol-prod-db").run()
    at.button(key=_k(rid, "submit")).click().run()
    assert not at.exception
    shown = console.texts(at)
    assert "Your decision (approve) was recorded." in shown
    assert "volume vol-prod-db deleted" in shown  # what the agent did next
    (row,) = _decided(console, rid)
    assert (row.actor, row.data["type"]) == ("sam", "approve")
    assert len(_executed(console, "delete_volume")) == 1


def test_reject_needs_a_message_and_the_agent_takes_the_safe_path(console: Any) -> None:
    rid = console.pocketos()
    at = console.open_review("sam", rid)
    at.radio(key=_k(rid, "kind")).set_value("reject").run()
    assert at.button(key=_k(rid, "submit")).disabled
    assert "Write a message" in console.texts(at)
    at.text_area(key=_k(rid, "message")).input(ADVICE).run()
    at.button(key=_k(rid, "submit")).click().run()
    shown = console.texts(at)
    assert "Your decision (reject) was recorded." in shown
    assert "agent proposes snapshot_volume" in shown
    assert "# snapshot\\_volume · volume vol\\-prod\\-db" in shown  # the next review, opened
    (row,) = _decided(console, rid)
    assert (row.actor, row.data["type"], row.data["message"]) == ("sam", "reject", ADVICE)
    assert not _executed(console, "delete_volume")


def test_respond_sends_guidance_without_running_the_call(console: Any) -> None:
    rid = console.pocketos()
    at = console.open_review("sam", rid)
    at.radio(key=_k(rid, "kind")).set_value("respond").run()
    at.text_area(key=_k(rid, "message")).input("Take a snapshot first.").run()
    at.button(key=_k(rid, "submit")).click().run()
    assert "Your decision (respond) was recorded." in console.texts(at)
    (row,) = _decided(console, rid)
    assert row.data["type"] == "respond"
    assert not _executed(console, "delete_volume")


def test_an_invalid_edit_is_explained_and_cannot_be_sent(console: Any) -> None:
    rid = console.pocketos()
    at = console.open_review("sam", rid)
    at.radio(key=_k(rid, "kind")).set_value("edit").run()
    at.text_area(key=_k(rid, "args")).input('{"volume_id": ').run()
    assert any("Not valid JSON" in e.value for e in at.error)
    assert at.button(key=_k(rid, "submit")).disabled
    at.text_area(key=_k(rid, "args")).input('{"volume": "vol-staging-db"}').run()
    assert any("required" in e.value and "volume\\_id" in e.value for e in at.error)
    assert at.button(key=_k(rid, "submit")).disabled
    assert not _decided(console, rid)


def test_a_valid_edit_is_reassessed_live_then_runs(console: Any) -> None:
    rid = console.pocketos()
    at = console.open_review("sam", rid)
    at.radio(key=_k(rid, "kind")).set_value("edit").run()
    edited = '{"volume_id": "vol-staging-db", "token": "tok-ci-admin"}'
    at.text_area(key=_k(rid, "args")).input(edited).run()
    shown = console.texts(at)
    assert "Matches the tool's argument schema" in shown
    assert "**Re-assessed:** :orange-badge[review] :red-badge[high] score **60**/100" in shown
    assert "your approval covers it (it needs `oncall` / `sre-lead` / `admin`)" in shown
    at.button(key=_k(rid, "submit")).click().run()
    shown = console.texts(at)
    assert "Your decision (edit) was recorded." in shown
    assert "volume vol-staging-db deleted" in shown
    (row,) = _decided(console, rid)
    assert row.data["edit"]["after"]["volume_id"] == "vol-staging-db"


def test_escalating_to_admin_hands_the_review_over(console: Any) -> None:
    rid = console.pocketos()
    at = console.open_review("sam", rid)
    at.radio(key=_k(rid, "kind")).set_value("escalate").run()
    at.selectbox(key=_k(rid, "role")).set_value("admin").run()
    at.button(key=_k(rid, "submit")).click().run()
    shown = console.texts(at)
    assert "Your decision (escalate) was recorded." in shown
    assert "Escalated" in shown
    (row,) = _decided(console, rid)
    assert (row.data["type"], row.data["role"]) == ("escalate", "admin")
    with console.runtime() as rt:
        waiting = rt.inbox.pending()
    assert [s.escalated_to for s in waiting] == ["admin"]
    at_admin = console.open_review("ada", waiting[0].id)
    assert at_admin.radio  # the admin may decide it now


def test_each_action_of_a_review_is_decided_on_its_own(console: Any) -> None:
    rid = console.quick_many(
        ("restart_service", {"service": "api", "environment": "production"}),
        ("change_network", {"environment": "staging", "ingress": "public"}),
    )
    at = console.open_review("olivia", rid)
    console.register_quick()
    shown = console.texts(at)
    assert "### Action 1 of 2: restart\\_service" in shown
    assert "### Action 2 of 2: change\\_network" in shown
    at.button(key=f"decide_{rid}_0_submit").click().run()  # approve the restart
    assert "More approvals or more actions are still needed" in console.texts(at)
    at.radio(key=f"decide_{rid}_1_kind").set_value("reject").run()
    at.text_area(key=f"decide_{rid}_1_message").input("Not public, ever.").run()
    at.button(key=f"decide_{rid}_1_submit").click().run()
    shown = console.texts(at)
    assert "Your decision (reject) was recorded." in shown
    assert "api restarted in production" in shown  # the approved one ran, the other did not
    with console.runtime() as rt:
        rows = [r for r in rt.audit.rows() if r.event == "decision_recorded"]
    assert [(r.data["action"], r.data["type"]) for r in rows] == [(0, "approve"), (1, "reject")]


def test_two_approvals_show_as_one_of_two_then_run(
    console: Any, tmp_path: Any, monkeypatch: Any
) -> None:
    from importlib import resources

    text = resources.files("interlock.risk").joinpath("policies/default.yaml").read_text()
    two = text.replace("critical: {roles: [sre-lead]}", "critical: {roles: [sre-lead], count: 2}")
    assert two != text
    (tmp_path / "two.yaml").write_text(two)
    monkeypatch.setenv("INTERLOCK_POLICY", str(tmp_path / "two.yaml"))
    rid = console.pocketos()
    at = console.open_review("sam", rid)
    at.radio(key=_k(rid, "kind")).set_value("approve").run()
    at.text_input(key=_k(rid, "confirm")).input("vol-prod-db").run()
    at.button(key=_k(rid, "submit")).click().run()
    shown = console.texts(at)
    assert "More approvals or more actions are still needed" in shown
    assert "approvals 1 of 2" in shown
    assert "it waits for more approvers (1 of 2 so far)" in shown
    inbox = console.switch(console.sign_in("sasha"), "_console_inbox.py")
    assert list(inbox.dataframe[0].value["approvals"]) == ["1 of 2"]
    second = console.open_review("sasha", rid)
    second.radio(key=_k(rid, "kind")).set_value("approve").run()
    second.text_input(key=_k(rid, "confirm")).input("vol-prod-db").run()
    second.button(key=_k(rid, "submit")).click().run()
    assert "Your decision (approve) was recorded." in console.texts(second)
    assert "volume vol-prod-db deleted" in console.texts(second)
    assert [r.actor for r in _decided(console, rid)] == ["sam", "sasha"]
