"""When the runtime refuses or re-opens: a conflict between two reviewers, an edit that needs
a more senior role, and agent output that tries to be markup."""

from __future__ import annotations

import re
from typing import Any

XSS = (
    "<img src=x onerror=alert(1)> <script>alert(2)</script> "
    "[click me](javascript:alert(3)) ![pixel](http://evil.example/p.png) :red[alarm] $x^2$"
)


def _k(review_id: str, name: str) -> str:
    return f"decide_{review_id}_0_{name}"


def test_a_conflicting_decision_is_shown_as_a_conflict_and_changes_nothing(
    console: Any,
) -> None:
    rid = console.pocketos()
    first = console.open_review("sam", rid)
    second = console.open_review("sasha", rid)  # both sre-lead, both looking at it
    second.radio(key=_k(rid, "kind")).set_value("approve").run()  # nothing pre-selected
    second.text_input(key=_k(rid, "note")).input("looks fine to me").run()
    second.text_input(key=_k(rid, "confirm")).input("vol-prod-db").run()
    first.radio(key=_k(rid, "kind")).set_value("reject").run()
    first.text_area(key=_k(rid, "message")).input("No: snapshot it first.").run()
    first.button(key=_k(rid, "submit")).click().run()
    with console.runtime() as rt:
        before = [r.seq for r in rt.audit.rows() if r.event != "decision_refused"]
        pending_before = [s.id for s in rt.inbox.pending()]
    # sasha clicks while her page still shows the review as pending
    second.button(key=_k(rid, "submit")).click().run()
    assert not second.exception
    refusal = second.error[-1].value
    assert refusal.startswith("**Refused: this review moved on before your decision arrived.**")
    assert "Nothing was changed; your input is kept below." in refusal
    assert second.text_input(key=_k(rid, "confirm")).value == "vol-prod-db"
    assert second.text_input(key=_k(rid, "note")).value == "looks fine to me"
    with console.runtime() as rt:
        after = [r for r in rt.audit.rows() if r.event != "decision_refused"]
        assert [r.seq for r in after] == before  # no decision, approval or execution added
        assert [s.id for s in rt.inbox.pending()] == pending_before
        refused = [r for r in rt.audit.rows() if r.event == "decision_refused"]
    assert [r.actor for r in refused] == ["sasha"]
    assert not any(r.data.get("tool") == "delete_volume" for r in after if "execution" in r.event)


def test_an_edit_that_needs_a_more_senior_role_goes_back_to_review(console: Any) -> None:
    rid = console.quick("delete_volume", volume_id="vol-scratch", environment="staging")
    at = console.open_review("olivia", rid)  # oncall may decide the staging delete
    console.register_quick()
    at.radio(key=_k(rid, "kind")).set_value("edit").run()
    at.text_area(key=_k(rid, "args")).input(
        '{"volume_id": "vol-scratch", "environment": "production"}'
    ).run()
    shown = console.texts(at)
    assert ":red-badge[critical]" in shown
    assert "On submit the review re-opens for `sre-lead` / `admin`" in shown
    at.text_input(key=_k(rid, "confirm")).input("vol-scratch").run()
    at.button(key=_k(rid, "submit")).click().run()
    assert not at.exception
    shown = console.texts(at)
    assert "Your decision (edit) was recorded." in shown
    assert "The agent stopped at a new review" in shown
    assert "**Needs `sre-lead / admin`.** Read only" in at.info[-1].value
    with console.runtime() as rt:
        (waiting,) = rt.inbox.pending()
        (edit,) = [r for r in rt.audit.rows() if r.event == "decision_recorded"]
        ran = [r for r in rt.audit.rows() if r.event == "execution_succeeded"]
    assert waiting.id != rid
    assert waiting.required_roles == ("sre-lead", "admin")
    assert edit.data["edit"]["approved_now"] is False
    assert not ran


def test_agent_output_that_looks_like_markup_is_shown_inert(console: Any) -> None:
    rid = console.quick("delete_volume", XSS, volume_id=XSS, environment="staging")
    for page in ("_console_review.py", "_console_inbox.py"):
        at = console.sign_in("olivia")
        at.query_params["review"] = rid
        console.switch(at, page)
        markdown = [m.value for m in [*at.markdown, *at.warning, *at.info, *at.error]]
        for fragment in ("<img", "<script", "](javascript", "![pixel]", ":red[alarm]"):
            live = re.compile(r"(?<!\\)" + re.escape(fragment))  # not backslash-escaped
            assert not any(live.search(m) for m in markdown), (page, fragment)
        if page == "_console_review.py":
            texts = [t.value for t in at.text] + [c.value for c in at.code]
            assert any(XSS in t for t in texts)  # the reasoning, verbatim, as plain text
            # the target in the title and the dry run: escaped, so it reads as typed
            escaped = "\\<img src\\=x onerror\\=alert\\(1\\)\\>"
            assert any(m.startswith("## delete") and escaped in m for m in markdown)
            assert escaped in at.warning[0].value
        else:
            assert XSS in " ".join(at.dataframe[0].value["action"])


def test_an_execution_in_doubt_is_resolved_by_a_human_and_never_rerun(
    console: Any, password: str
) -> None:
    from interlock.nodes import ExecutionRecord

    rid = console.pocketos()
    with console.runtime() as rt:
        sam = rt.authenticate("sam", password)
        rt.decisions.decide(rid, {"type": "approve"}, reviewer=sam, resume=False)
        action = rt.inbox.get(rid).request["action_requests"][0]
        # As if a worker had started this very action and died before recording an outcome.
        rt.engine().ledger.start(
            ExecutionRecord(
                key=action["digest"],
                digest=action["digest"],
                tool="delete_volume",
                thread_id=rt.inbox.get(rid).summary.thread_id,
                tool_call_id=action["tool_call_id"],
                status="started",
                started_at=rt.clock(),
            )
        )
        out = rt.decisions.resume(rid)
        assert any("IN DOUBT" in e for e in out.events)
        (doubt,) = [s for s in rt.inbox.pending() if s.kind == "in_doubt"]
    olivia = console.open_review("olivia", doubt.id)
    assert "**Outcome unknown.**" in olivia.error[0].value
    assert any("**Needs `sre-lead / admin`** to resolve it." in i.value for i in olivia.info)
    nav = ("keys_prev", "keys_next")  # next / previous review: reading is allowed
    assert [b.key for b in olivia.button if b.key not in nav] == ["auth_sign_out"]
    at = console.open_review("sam", doubt.id)
    at.text_input(key=f"resolve_{doubt.id}_note").input("vol-prod-db is still there").run()
    at.button(key=f"resolve_{doubt.id}_not_ran").click().run()
    assert not at.exception
    assert "**decided** by sam \\(resolved\\: it did not run" in console.texts(at)
    with console.runtime() as rt:
        assert not [s for s in rt.inbox.pending() if s.kind == "in_doubt"]
        resolved = [r for r in rt.audit.rows() if r.event == "in_doubt_resolved"]
        ran = [r for r in rt.audit.rows() if r.event == "execution_succeeded"]
    assert [r.actor for r in resolved] == ["sam"]
    assert not [r for r in ran if r.data.get("tool") == "delete_volume"]
