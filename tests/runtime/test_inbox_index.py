"""The inbox's first page is read off its partial index alone (Postgres: an index-only scan),
so its cost follows the page, not the history or the number of pending rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest

from interlock.runtime import Runtime
from interlock.runtime.review import _summaries, inbox
from interlock.runtime.review._summaries import LIST_COLUMNS
from interlock.runtime.store._schema_v8 import INBOX_COVERED

# Decided history and pending reviews in SQL (what registering them would write, minus the
# payload nothing listed reads), one pending row per 20 reviews.
_FILL = """
INSERT INTO interlock_reviews (id, thread_id, interrupt_id, status, level, score, tool, target,
    environment, required_roles, created_at, expires_at, decided_at, payload, graph, team)
SELECT 'rv-' || lpad(to_hex(i), 12, '0'), 't-' || i, 'i-' || i,
       CASE WHEN i % 20 = 0 THEN 'pending' ELSE 'decided' END,
       (ARRAY['critical', 'high', 'medium', 'low'])[i % 4 + 1], 50, 'restart', 'service web',
       'production', '["sre-lead"]', now() - make_interval(secs => i),
       now() + make_interval(secs => 3600 - i % 600),
       CASE WHEN i % 20 = 0 THEN NULL ELSE now() END, '{}', 'g',
       (ARRAY['sre', 'db', NULL])[i % 3 + 1]
FROM generate_series(1, 20000) AS i
"""


def test_every_listed_column_is_in_the_inbox_index() -> None:
    listed = {c.strip() for c in LIST_COLUMNS.split(",")}
    assert listed <= INBOX_COVERED, f"not in interlock_reviews_inbox: {listed - INBOX_COVERED}"


def _plan(url: str, sql: str, params: tuple[Any, ...]) -> dict[str, Any]:
    with psycopg.connect(url) as conn:
        (plan,) = conn.execute(f"EXPLAIN (FORMAT JSON) {sql}", params).fetchone() or ((),)
    return dict(plan[0]["Plan"])


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [plan, *(n for child in plan.get("Plans", []) for n in _nodes(child))]


def test_the_first_page_is_an_index_only_scan(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Runtime.open(pg_url, reviewers_path=tmp_path / "reviewers.toml") as rt:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(_FILL)
            conn.execute("VACUUM ANALYZE interlock_reviews")
        # The statement the inbox really sends, as it sends it.
        sent: list[tuple[str, tuple[Any, ...]]] = []
        fetch = _summaries.fetch_rows

        def recording(conn: Any, sql: str, params: Any) -> Any:
            sent.append((sql.replace("%", "%%").replace("?", "%s"), tuple(params)))
            return fetch(conn, sql, params)

        monkeypatch.setattr(inbox, "fetch_rows", recording)
        page = rt.inbox.pending(sort="urgency", limit=200)
        assert len(page) == 200
        assert rt.inbox.count() == 1000
        assert [s.level for s in page[:3]] == ["critical"] * 3
        (sql, params), *_ = sent
        nodes = _nodes(_plan(pg_url, sql, params))
        scans = [n for n in nodes if "Scan" in n["Node Type"]]
        shown = json.dumps([(n["Node Type"], n.get("Index Name")) for n in nodes])
        assert [(n["Node Type"], n.get("Index Name")) for n in scans] == [
            ("Index Only Scan", "interlock_reviews_inbox")
        ], shown
        assert not [n for n in nodes if n["Node Type"] == "Sort"], shown
