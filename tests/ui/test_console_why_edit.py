"""Review page logic (AppTest): "Why this needs you", edits a reviewer can judge, and the
decision shortcuts that pick but never submit."""

from __future__ import annotations

from typing import Any

from interlock.runtime import top_reasons
from interlock.ui._console_diff import ABSENT, arg_changes, diff_markdown
from interlock.ui._console_why import risky_args, why_markdown


def _k(review_id: str, name: str) -> str:
    return f"decide_{review_id}_0_{name}"


def _why(at: Any) -> str:
    return "\n".join(m.value for m in at.markdown if "**+" in m.value and "Risky" in m.value)


def test_the_why_names_the_decisive_reasons_in_full_and_the_borrowed_token(
    console: Any,
) -> None:
    rid = console.pocketos()
    at = console.open_review("sam", rid)
    shown = console.texts(at)
    assert "**Why this needs you:**" in shown
    why = _why(at)
    # The two decisive reasons, rows 4 and 5 of the policy's table, are in the top three.
    assert "this would be the last copy of the data" in why
    assert "which reaches beyond this task" in why
    assert why.count("- **+") == 3
    assert "2 more reasons in the table below." in why
    # The borrowed admin token is highlighted, in the reason and as the risky argument.
    assert ":red-background[**tok\\-ci\\-admin**]" in why
    assert ":red-background[**Risky argument** `token` = **tok\\-ci\\-admin**]" in why
    # The summary comes before the raw arguments and the decision controls.
    order = [m.value for m in at.markdown]
    first_why = next(i for i, v in enumerate(order) if v == "**Why this needs you:**")
    first_decide = next(i for i, v in enumerate(order) if v.startswith("### Decide action"))
    request = next(i for i, v in enumerate(order) if v == "#### Request")
    assert first_why < request < first_decide


def test_why_markdown_ranks_by_points_and_escapes_agent_text() -> None:
    action: Any = {
        "name": "send",
        "args": {"to": "[x](http://evil)", "api_token": "s3cr3t"},
        "resource": {"type": "mail", "id": "[x](http://evil)"},
        "assessment": {
            "reasons": [
                {"rule": "a", "text": "small", "points": 5},
                {"rule": "b", "text": "big: sends to [x](http://evil)", "points": 40},
            ]
        },
    }
    assert [r["rule"] for r in top_reasons(action)] == ["b", "a"]
    text = why_markdown(action)
    assert text.index("big") < text.index("small")
    assert "](http" not in text  # the link is escaped, never drawn
    assert risky_args(action) == [("api_token", "s3cr3t", "the credential this call acts with")]


def test_the_diff_shows_changed_added_and_removed_arguments() -> None:
    before = {"volume_id": "vol-prod-db", "token": "tok-ci-admin", "force": True}
    after = {"volume_id": "vol-prod-db", "token": "tok|x", "dry": 1}
    assert arg_changes(before, after) == [
        ("dry", ABSENT, "1"),
        ("force", "true", ABSENT),
        ("token", '"tok-ci-admin"', '"tok|x"'),
    ]
    table = diff_markdown(before, after)
    assert '`"tok\\|x"`' in table  # a pipe cannot end the cell
    assert "volume_id" not in table


def test_an_edit_shows_diff_new_dry_run_reasons_and_target_before_submit(console: Any) -> None:
    rid = console.pocketos()
    at = console.open_review("sam", rid)
    at.radio(key=_k(rid, "kind")).set_value("edit").run()
    at.text_area(key=_k(rid, "args")).input('{"volume_id": "vol-staging-db"}').run()
    shown = console.texts(at)
    assert '| `token` | `"tok-ci-admin"` | *(not set)* |' in shown
    assert '| `volume_id` | `"vol-prod-db"` | `"vol-staging-db"` |' in shown
    assert "**If the edited call runs:** deletes volume vol\\-staging\\-db" in shown
    assert "(was volume vol\\-prod\\-db in production)" in shown
    assert "**+20** Cannot be undone once it has run\\." in shown
    assert "✓ The tool accepts these arguments." in shown


def test_an_edit_to_an_unknown_token_is_caught_before_submit(console: Any) -> None:
    rid = console.pocketos()
    at = console.open_review("sam", rid)
    at.radio(key=_k(rid, "kind")).set_value("edit").run()
    edited = '{"volume_id": "vol-staging-db", "token": "tok-nope"}'
    at.text_area(key=_k(rid, "args")).input(edited).run()
    shown = console.texts(at)
    assert "✗ Refused by the tool." in shown
    assert "credential \\'tok\\-nope\\' is not known to the tool" in shown
    assert "without further approval" not in shown
    assert at.button(key=_k(rid, "submit")).disabled
    with console.runtime() as rt:
        assert [s.id for s in rt.inbox.pending()] == [rid]  # nothing was decided


def test_an_edit_whose_dry_run_says_it_would_fail_cannot_be_submitted(console: Any) -> None:
    rid = console.pocketos()
    at = console.open_review("sam", rid)
    at.radio(key=_k(rid, "kind")).set_value("edit").run()
    at.text_area(key=_k(rid, "args")).input('{"volume_id": "vol-nope"}').run()
    shown = console.texts(at)
    assert "✗ Refused by the tool." in shown
    assert "the dry run says\\: volume vol\\-nope does not exist\\; the call would fail" in shown
    assert at.button(key=_k(rid, "submit")).disabled


def test_a_shortcut_picks_approve_but_the_typed_target_is_still_needed(console: Any) -> None:
    rid = console.pocketos()
    at = console.open_review("sam", rid)
    at.button(key=f"keys_{rid}_0_approve").click().run()
    assert at.radio(key=_k(rid, "kind")).value == "approve"
    assert at.button(key=_k(rid, "submit")).disabled  # critical: type vol-prod-db first
    at.button(key=f"keys_{rid}_0_reject").click().run()
    assert at.radio(key=_k(rid, "kind")).value == "reject"
    assert at.button(key=_k(rid, "submit")).disabled  # a message is required
    with console.runtime() as rt:
        assert [s.id for s in rt.inbox.pending()] == [rid]


def test_next_and_previous_review_follow_the_inbox_order(console: Any) -> None:
    first = console.pocketos()  # critical: first in the inbox
    second = console.quick("restart_service", service="api", environment="production")
    at = console.open_review("sam", first)
    at.button(key="keys_next").click().run()
    assert at.query_params["review"] == second
    at.button(key="keys_prev").click().run()
    assert at.query_params["review"] == first
