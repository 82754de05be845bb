"""The simulated cloud's lookups parse its file again only when it changed, and hand out
copies: a write by another process (another `Infra` on the file) is seen at once, and what a
caller does with a result never reaches the next one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from interlock.graphs import Infra


def test_a_write_by_another_process_is_seen_by_the_next_lookup(tmp_path: Path) -> None:
    path = tmp_path / "infra.json"
    ours, theirs = Infra(path).reset(), Infra(path)
    assert ours.environment_of("services", "api-prod") == "production"

    def move(data: dict[str, Any]) -> None:
        data["services"]["api-prod"]["environment"] = "staging"

    theirs.change("move_service", "api-prod", move)
    assert ours.environment_of("services", "api-prod") == "staging"
    assert [e["op"] for e in ours.events()] == ["move_service"]


def test_lookups_hand_out_copies(tmp_path: Path) -> None:
    infra = Infra(tmp_path / "infra.json").reset()
    found = infra.find("services", "api-prod")
    found["environment"] = "dev"
    found.setdefault("extra", {})["x"] = 1
    assert infra.find("services", "api-prod")["environment"] == "production"
    assert "extra" not in infra.find("services", "api-prod")
    infra.events().append({"op": "forged"})
    assert infra.events() == []
