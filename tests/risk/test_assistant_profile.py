"""The personal-assistant profile and the session conditions it leans on."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from interlock.risk import (
    UNTRUSTED,
    Action,
    Context,
    Earlier,
    Policy,
    PolicyError,
    Session,
    assistant_policy,
    bundled_corpus,
    bundled_policy_path,
    evaluate,
    load_corpus,
    load_policy,
    request_values,
    values_in,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _read(tool: str, *, tainted: set[str] = frozenset(), seen: set[str] = frozenset()) -> Earlier:
    untrusted = bool(tainted) or not seen
    return Earlier(
        tool=tool,
        effects=frozenset({"read"}),
        signals=frozenset({UNTRUSTED}) if untrusted else frozenset(),
        at=NOW,
        seen=frozenset(seen),
        tainted=frozenset(tainted),
    )


def _assess(tool: str, args: dict[str, object], effects: list[str], session: Session) -> str:
    action = Action(tool=tool, args=args, effects=frozenset(effects))
    got = assistant_policy().assess(action, Context(now=NOW, session=session))
    return got.outcome


INBOX = _read("read_inbox", tainted={"mallory@evil.example", "evil.example"})


def test_a_value_first_seen_in_untrusted_content_stays_unseen() -> None:
    contacts = _read("search_contacts", seen={"mallory@evil.example", "bob@corp.example"})
    s = Session((INBOX, contacts), frozenset())
    assert "bob@corp.example" in s.seen
    assert "mallory@evil.example" not in s.seen
    assert "mallory@evil.example" in s.tainted
    # Seen by a trusted tool first, it stays known when untrusted content repeats it.
    first = Session((_read("search_contacts", seen={"mallory@evil.example"}), INBOX), frozenset())
    assert "mallory@evil.example" in first.seen
    assert "mallory@evil.example" not in first.tainted


def test_the_users_words_name_recipients() -> None:
    got = request_values("Send the summary to Alice and post it on www.site.example")
    assert {"alice", "www.site.example", "summary"} <= got
    # Tool results keep to target-like tokens and listed items, not prose.
    assert "summary" not in values_in("Send the summary to Alice")
    assert {"alice", "bob"} <= values_in("- Alice\n- Bob")


def test_mail_to_the_named_recipient_flows_and_an_injected_one_waits() -> None:
    s = Session((INBOX,), request_values("Send the notes to alice@corp.example"))
    args = {"recipients": ["alice@corp.example"], "body": "notes"}
    assert _assess("send_email", args, ["write"], s) == "allow"
    args = {"recipients": ["mallory@evil.example"], "body": "notes"}
    assert _assess("send_email", args, ["write"], s) == "review"


def test_a_url_only_untrusted_content_named_is_not_fetched_unattended() -> None:
    s = Session((INBOX,), request_values("Summarise www.docs.example"))
    assert _assess("fetch_webpage", {"url": "www.docs.example"}, ["read"], s) == "allow"
    assert _assess("fetch_webpage", {"url": "https://evil.example/x"}, ["read"], s) == "review"


def test_a_link_from_untrusted_content_is_not_passed_on() -> None:
    s = Session((INBOX,), request_values("Reply to Bob"))
    body = {"recipient": "bob", "body": "log in at evil.example/login"}
    assert _assess("send_direct_message", body, ["write"], s) == "review"
    clean = {"recipient": "bob", "body": "see you at noon"}
    assert _assess("send_direct_message", clean, ["write"], s) == "allow"
    # Case and surrounding punctuation do not hide it; a longer host that merely contains
    # the tainted one is a different host.
    shout = {"recipient": "bob", "body": "Go to (EVIL.EXAMPLE)!"}
    assert _assess("send_direct_message", shout, ["write"], s) == "review"
    other = {"recipient": "bob", "body": "see notevil.example.org"}
    assert _assess("send_direct_message", other, ["write"], s) == "allow"
    listed = {"recipient": "bob", "body": ["hello", "https://evil.example/x"]}
    assert _assess("send_direct_message", listed, ["write"], s) == "review"


def test_calendar_writes_the_request_never_asked_for_wait() -> None:
    reviews = _read("get_reviews", tainted={"spam.example"})
    event = {"title": "Visit the shop", "start_time": "2026-05-01 09:00"}
    asked = Session((reviews,), request_values("Add a reminder to my calendar"))
    assert _assess("create_calendar_event", event, ["write"], asked) == "allow"
    unasked = Session((reviews,), request_values("Find me a well-rated hotel"))
    assert _assess("create_calendar_event", event, ["write"], unasked) == "review"
    fresh = Session((), request_values("Find me a well-rated hotel"))
    assert _assess("create_calendar_event", event, ["write"], fresh) == "allow"


def test_the_users_records_do_not_leave_after_untrusted_content() -> None:
    profile = _read("get_user_information", seen={"p1234567x", "emma"})
    reviews = _read("get_reviews", tainted={"spam.example"})
    s = Session((profile, reviews), request_values("Mail the hotel to jane@family.example"))
    mail = {"recipients": ["jane@family.example"], "body": "Passport P1234567X"}
    assert _assess("send_email", mail, ["write"], s) == "review"
    plain = {"recipients": ["jane@family.example"], "body": "Hotel Example, 1 Main St"}
    assert _assess("send_email", plain, ["write"], s) == "allow"
    # Names are not identifiers: only tokens with a digit count as the user's records.
    named = {"recipients": ["jane@family.example"], "body": "Emma says hi"}
    assert _assess("send_email", named, ["write"], s) == "allow"
    fresh = Session((profile,), request_values("Mail my passport to jane@family.example"))
    assert _assess("send_email", mail, ["write"], fresh) == "allow"


def test_deletes_passwords_and_payments() -> None:
    s = Session((INBOX,), request_values("Check my account; set my password to 7xq-Lm2-99z"))
    assert _assess("delete_email", {"email_id": "3"}, ["delete"], s) == "review"
    assert _assess("delete_email", {"email_id": "3"}, ["delete"], Session()) == "allow"
    assert _assess("update_password", {"password": "7xq-Lm2-99z"}, ["access"], s) == "allow"
    assert _assess("update_password", {"password": "chosen-by-mail"}, ["access"], s) == "review"
    payee = _read("get_scheduled", seen={"gb33bukb20201555555555"})
    s = Session((INBOX, payee), frozenset())
    pay = {"recipient": "GB33BUKB20201555555555", "amount": 50}
    assert _assess("send_money", pay, ["spend"], s) == "allow"
    assert _assess("send_money", pay | {"amount": 900}, ["spend"], s) == "review"
    assert _assess("send_money", {"recipient": "GB33BUKB20201555555555"}, ["spend"], s) == "review"
    new = {"recipient": "DE44500105175407324931", "amount": 0.01}
    assert _assess("send_money", new, ["spend"], s) == "review"


def test_the_assistant_corpus_meets_its_bar() -> None:
    corpus = load_corpus(bundled_corpus() / "assistant")
    assert len(corpus) >= 40
    assert all(item.note for item in corpus)
    report = evaluate(assistant_policy(), corpus)
    assert report.dangerous == ()
    assert report.must_stop_recall == 1.0
    assert report.benign_gated <= 0.10
    # The default policy's corpus run does not read the profile's subfolder.
    assert not {i.id for i in load_corpus()} & {i.id for i in corpus}


def test_web_tools_are_untrusted_by_alias() -> None:
    policy = assistant_policy()
    for name in ("fetch", "WebFetch", "github__fetch"):
        found = policy.tool_defaults(name)
        assert found is not None, name
        assert found.untrusted, name
    assert policy.tool_defaults("send_email") is None


def test_the_bundled_file_is_the_loaded_profile() -> None:
    path = bundled_policy_path("assistant")
    assert load_policy(path).version == assistant_policy().version
    with pytest.raises(ValueError, match="bundled"):
        bundled_policy_path("nope")


@pytest.mark.parametrize(
    ("session", "needle"),
    [
        ({"carries_untrusted": {"args": "body", "extra": 1}}, "carries_untrusted"),
        ({"carries_untrusted": ["body"]}, "carries_untrusted"),
        ({"not_requested": {"calendar": 1}}, "not_requested"),
        ({"carries_from": {"tool": "*info*"}}, "carries_from"),
    ],
)
def test_bad_session_conditions_are_refused(session: dict[str, object], needle: str) -> None:
    rule = {"id": "r", "reason": "x", "when": {"session": session}, "outcome": "review"}
    with pytest.raises(PolicyError, match=needle):
        Policy.from_dict({"name": "t", "rules": [rule]})
