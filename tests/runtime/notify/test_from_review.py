"""A notification built from a real review: the PocketOS run stops at the production delete,
and the message built from its `interlock_reviews` row (SQLite and Postgres) says what a
reviewer needs, with the link to it, and arrives through the file channel."""

from __future__ import annotations

import json
from pathlib import Path

from interlock.runtime import Runtime
from interlock.runtime.notify import (
    FileChannel,
    FileChannelConfig,
    build_notification,
    parse_notify_config,
)

CFG = parse_notify_config('console_url = "https://console.example.com"', source="n.toml")


def test_a_real_review_row_makes_a_complete_notification(
    rt: Runtime, ops_options: dict[str, str], tmp_path: Path
) -> None:
    run = rt.run(
        "ops_agent",
        "Deploys to staging fail: api-staging answers 401. Please fix it.",
        options=ops_options,
    )
    assert run.status == "pending"
    with rt.db.connection() as conn:
        (row,) = conn.all("SELECT * FROM interlock_reviews WHERE thread_id = ?", (run.thread_id,))
    note = build_notification("review_opened", row=row, config=CFG, delivery_id="ob-test-1")
    assert note["id"] == "ob-test-1"
    assert note["review_id"] == row["id"]
    assert note["thread_id"] == run.thread_id
    assert note["tool"] == "delete_volume"
    assert note["target"] == row["target"]
    assert "vol-prod-db" in str(note["target"])
    assert note["environment"] == "production"
    assert (note["level"], note["score"]) == ("critical", row["score"])
    assert note["team"] == row["team"]
    assert note["expires_at"] is not None
    assert note["link"] == f"https://console.example.com/review?review={row['id']}"
    # the top reasons, in full, highest contribution first: the assessment's own texts
    payload = json.loads(row["payload"]) if isinstance(row["payload"], str) else row["payload"]
    reasons = payload["action_requests"][0]["assessment"]["reasons"]
    top = sorted(reasons, key=lambda r: -r["points"])[0]
    assert note["reasons"]
    assert note["reasons"][0].startswith(top["text"])
    assert note["summary"].startswith("Review needed: delete_volume on ")
    out = tmp_path / "notes.jsonl"
    FileChannel(FileChannelConfig(name="f", path=str(out))).send(note)
    assert json.loads(out.read_text()) == note
