"""The channels that need no server (file, terminal) and the message itself."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from interlock.runtime.notify import (
    NOTIFY_EVENTS,
    Channel,
    ChannelError,
    FileChannel,
    FileChannelConfig,
    TerminalChannel,
    TerminalChannelConfig,
    build_channels,
    build_notification,
    load_notify_config,
    parse_notify_config,
    sample_notification,
    terminal_line,
)

EXAMPLE = Path(__file__).resolve().parents[3] / "docs" / "notify.example.toml"
CFG = parse_notify_config('console_url = "http://127.0.0.1:8501"', source="n.toml")

REQUEST = {
    "kind": "interlock.review",
    "thread_id": "th-42",
    "expires_at": "2026-12-03T01:00:00+00:00",
    "escalated_to": "dba",
    "action_requests": [
        {
            "name": "delete_volume",
            "environment": "production",
            "resource": {"type": "volume", "id": "vol-db"},
            "assessment": {
                "score": 60,
                "level": "high",
                "reasons": [
                    {"rule": "small", "text": "A small thing", "points": 5},
                    {"rule": "prod", "text": "Touches production", "points": 30},
                ],
            },
        },
        {
            "name": "delete_backup",
            "environment": "production",
            "resource": {"type": "backup", "id": "bk-1"},
            "assessment": {
                "score": 92,
                "level": "critical",
                "reasons": [
                    {"rule": "no-undo", "text": "Deletes the last backup", "points": 62},
                    {"rule": "prod", "text": "Touches production", "points": 30},
                    {"rule": "tiny", "text": "Barely matters", "points": 1},
                ],
            },
        },
    ],
}


def test_build_notification_from_a_review_request() -> None:
    when = datetime(2026, 12, 3, 0, 45, tzinfo=UTC)
    note = build_notification(
        "review_expiring",
        request=REQUEST,
        review_id="rv-1",
        config=CFG,
        occurred_at=when,
        team="dba-team",
        delivery_id="ob-1",
    )
    assert note["id"] == "ob-1"
    assert note["occurred_at"] == "2026-12-03T00:45:00Z"
    assert (note["review_id"], note["thread_id"], note["team"]) == ("rv-1", "th-42", "dba-team")
    assert (note["tool"], note["target"], note["environment"]) == (
        "delete_volume",
        "volume vol-db (+1 more)",
        "production",
    )
    assert (note["level"], note["score"]) == ("critical", 92)  # the riskiest action
    # the top three, highest contribution first, each once, in full
    assert note["reasons"] == [
        "Deletes the last backup (no-undo, +62)",
        "Touches production (prod, +30)",
        "A small thing (small, +5)",
    ]
    assert note["link"] == "http://127.0.0.1:8501/review?review=rv-1"
    assert note["expires_at"] == "2026-12-03T01:00:00+00:00"
    assert note["summary"] == (
        "Review expiring soon (in 15 min): delete_volume on volume vol-db (+1 more) "
        "in production (critical 92)"
    )


def test_every_event_has_a_summary() -> None:
    for event in NOTIFY_EVENTS:
        note = build_notification(event, request=REQUEST, review_id="rv-1", actor="alice")
        assert note["summary"]
        assert "\n" not in note["summary"]
    escalated = build_notification(
        "review_escalated", request=REQUEST, review_id="rv-1", actor="alice"
    )
    assert escalated["summary"].startswith("Review escalated to dba: delete_volume")
    assert escalated["summary"].endswith("by alice")
    stopped = build_notification(
        "scope_stopped",
        target="agent ops-agent",
        actor="root",
        summary="Stopped agent ops-agent: incident 7",
    )
    assert (stopped["review_id"], stopped["link"], stopped["reasons"]) == (None, None, [])
    assert stopped["summary"] == "Stopped agent ops-agent: incident 7"


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(TypeError, match="unknown fields \\['colour'\\]"):
        build_notification("review_opened", colour="red")


def test_the_file_channel_appends_one_json_line_per_notification(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "notifications.jsonl"
    channel = FileChannel(FileChannelConfig(name="demo-file", path=str(path)))
    first, second = sample_notification(CFG), sample_notification(CFG)
    channel.send(first)
    channel.send(second)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(x) for x in lines] == [first, second]
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)


def test_a_file_channel_that_cannot_write_is_not_retryable(tmp_path: Path) -> None:
    channel = FileChannel(FileChannelConfig(name="demo-file", path=str(tmp_path)))  # a folder
    with pytest.raises(ChannelError) as err:
        channel.send(sample_notification())
    assert err.value.retryable is False
    assert str(err.value).startswith(
        f"channel demo-file: cannot append to {tmp_path}: Is a directory"
    )


def test_the_terminal_channel_prints_one_readable_line(capsys: pytest.CaptureFixture[str]) -> None:
    note = build_notification(
        "review_opened", request=REQUEST, review_id="rv-1", config=CFG, team="ops"
    )
    TerminalChannel(TerminalChannelConfig(name="terminal")).send(note)
    out, err = capsys.readouterr()
    assert out == ""
    assert err == terminal_line(note) + "\n"
    assert err == (
        "[interlock notify] Review needed: delete_volume on volume vol-db (+1 more) in production "
        "(critical 92) · team ops · why: Deletes the last backup (no-undo, +62) · "
        "http://127.0.0.1:8501/review?review=rv-1\n"
    )
    TerminalChannel(TerminalChannelConfig(name="t", stream="stdout")).send(note)
    assert capsys.readouterr().out.count("\n") == 1


def test_terminal_text_cannot_carry_escape_sequences(capsys: pytest.CaptureFixture[str]) -> None:
    note = build_notification(
        "review_opened", review_id="rv-1", tool="rm\x1b[2J\x1b]0;pwned\x07", target="a\nb"
    )
    TerminalChannel(TerminalChannelConfig(name="terminal")).send(note)
    err = capsys.readouterr().err
    assert "\x1b" not in err
    assert "\x07" not in err
    assert err.count("\n") == 1


def test_every_channel_of_the_example_is_built(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = load_notify_config(EXAMPLE)
    channels = build_channels(cfg)
    assert set(channels) == set(cfg.channels)
    for name, channel in channels.items():
        assert isinstance(channel, Channel)
        assert channel.name == name
        assert channel.kind == cfg.channels[name].kind
    channels["demo-file"].send(sample_notification(cfg))
    assert len((tmp_path / ".interlock" / "notifications.jsonl").read_text().splitlines()) == 1
    monkeypatch.delenv("INTERLOCK_ONCALL_WEBHOOK_SECRET", raising=False)
    with pytest.raises(ChannelError) as err:  # built without its secrets: refuses at send
        channels["oncall-webhook"].send(sample_notification(cfg))
    assert err.value.retryable is False


def test_sample_expires_in_the_future() -> None:
    note = sample_notification()
    assert note["expires_at"] is not None
    assert datetime.fromisoformat(note["expires_at"]) > datetime.now(UTC) + timedelta(minutes=25)
