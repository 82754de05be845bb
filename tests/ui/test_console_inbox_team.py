"""Inbox page: the team column, the Team filter and "My team" (the notify file's members)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

PROD = "delete_volume · volume vol-prod-db"
NOTIFY = """\
default_team = "oncall"
[teams.sre]
members = ["Sam"]
channels = ["term"]
[teams.oncall]
members = ["olivia"]
channels = ["term"]
[channels.term]
kind = "terminal"
"""


@pytest.fixture
def seeded(console: Any) -> dict[str, str]:
    return {
        "pocketos": console.pocketos(),  # production, critical: the sre team is told
        "restart": console.quick("restart_service", service="api", environment="production"),
        "scratch": console.quick("delete_volume", volume_id="vol-scratch", environment="staging"),
    }


def _actions(at: Any) -> set[str]:
    return set(at.dataframe[0].value["action"])


def test_rows_show_the_team_and_the_team_filter_narrows(
    console: Any, seeded: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("INTERLOCK_NOTIFY", raising=False)
    at = console.open("sam", "_console_inbox.py")
    table = at.dataframe[0].value
    assert dict(zip(table["action"], table["team"], strict=True))[PROD] == "sre"
    assert set(table["team"]) == {"sre", "oncall"}
    at.selectbox(key="inbox_team").set_value("sre").run()
    assert _actions(at) == {PROD}
    # Without a notify file, "My team" cannot know the teams: it is off and says why.
    toggle = at.toggle(key="inbox_my_team")
    assert toggle.disabled
    assert "INTERLOCK_NOTIFY" in toggle.help


def test_my_team_shows_the_reviews_routed_to_my_teams(
    console: Any, seeded: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    notify = tmp_path / "notify.toml"
    notify.write_text(NOTIFY)
    monkeypatch.setenv("INTERLOCK_NOTIFY", str(notify))
    at = console.open("sam", "_console_inbox.py")
    assert len(_actions(at)) == 3
    assert "Your teams: sre." in at.toggle(key="inbox_my_team").help
    at.toggle(key="inbox_my_team").set_value(True).run()
    assert _actions(at) == {PROD}
    olivia = console.open("olivia", "_console_inbox.py")
    olivia.toggle(key="inbox_my_team").set_value(True).run()
    assert PROD not in _actions(olivia)
    assert len(_actions(olivia)) == 2
