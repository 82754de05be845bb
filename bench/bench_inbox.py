"""The review inbox at scale: 1,000 pending reviews among 100,000 threads on Postgres.

Target (issue 4): the listing a reviewer sees takes <= 2 ms median, against the naive
LangGraph way of finding pending work measured in the same run on the same database, and the
ratio is reported (expected >= 300x).

The dataset. A fresh Postgres database gets a few genuine threads first: a small gated agent
run through `Runtime.run` stops for review on three tools of different risk (a production
restart, a credential rotation, a volume deletion: high, high and critical), and a fourth
thread is approved through the decision service and runs to the end. Their rows
(`checkpoints`, `checkpoint_blobs`, `checkpoint_writes`, `interlock_threads`,
`interlock_reviews`, and for the finished one its decision, approval and ledger row) are then
cloned in SQL with `generate_series` up to `N` threads, rewriting thread ids, review ids,
digests and times: `P` threads are pending (an `__interrupt__` write on the latest checkpoint
and a pending review row), the others finished (an old interrupt on an earlier checkpoint, a
decided review). The templates are deleted, then `VACUUM ANALYZE` (what autovacuum does
after a bulk load). Audit rows are not cloned: nothing measured here reads them.

What is timed, each a median over many calls with the garbage collector paused:
- the CLI's page: `rt.inbox.pending(sort="urgency", limit=200)` plus `rt.inbox.count()`
  (what `interlock pending` runs);
- the console's refresh: `pending(limit=1000)` plus `count()` (`ui/_console_inbox.py` asks
  for up to 1,000 rows), i.e. every pending review.
The naive baselines run once each on the same database: `checkpointer.list(None)` keeping
each thread's newest root checkpoint and testing it for an `__interrupt__` write, and
`graph.get_state()` for every thread id in `checkpoints`. Both must find exactly `P`.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from types import SimpleNamespace
from typing import Any

import psycopg

from bench._common import Row, gc_disabled, postgres_db, row, signing_keys, time_calls_ns

__all__ = ["bench_factory", "build_dataset", "naive_get_state", "naive_list", "run"]

TARGET_MS = 2.0
TARGET_RATIO = 300.0
FULL, QUICK = (100_000, 1_000), (2_000, 50)
REPS, QUICK_REPS = 300, 40
GRAPH = "bench_inbox"
REVIEWER, PASSWORD = "bench-lead", "bench-password"
PENDING_TOOLS = ("restart_service", "rotate_credential", "delete_volume")


def bench_factory(
    *,
    checkpointer: Any,
    policy: Any,
    approvals: Any,
    ledger: Any,
    audit: Any,
    issue_on_resume: bool,
    options: Mapping[str, Any],
) -> Any:
    """A gated agent that proposes the one call its request names, as JSON
    `{"tool": ..., "target": ...}`; every one of its tools needs review in production."""
    from langchain_core.tools import tool

    from interlock.graphs import ScriptedChatModel, build_gated_graph, say
    from interlock.nodes import gated

    @tool
    def restart_service(target: str) -> str:
        """Restart a service."""
        return f"{target} restarted"

    @tool
    def rotate_credential(target: str) -> str:
        """Rotate a credential."""
        return f"{target} rotated"

    @tool
    def delete_volume(target: str) -> str:
        """Delete a volume."""
        return f"{target} deleted"

    env = "production"
    gated(restart_service, effects={"write"}, reversible=True, environment=env)
    gated(rotate_credential, effects={"access"}, reversible=False, environment=env)
    gated(delete_volume, effects={"delete", "destroy"}, reversible=False, environment=env)

    def propose(messages: Any) -> Any:
        ask = json.loads(str(messages[0].content))
        return say("On it.", (ask["tool"], {"target": ask["target"]}))

    builder, gate = build_gated_graph(
        ScriptedChatModel(steps=[propose]),
        [restart_service, rotate_credential, delete_volume],
        policy,
        agent="bench-agent",
        approvals=approvals,
        ledger=ledger,
        audit=audit,
        issue_on_resume=issue_on_resume,
    )
    return SimpleNamespace(graph=builder.compile(checkpointer=checkpointer), gate=gate)


# -- building the dataset ---------------------------------------------------------------------


def _templates(rt: Any) -> tuple[list[str], str]:
    """Genuine threads: one pending review per tool, one approved thread that finished."""
    pending = []
    for tool_name in PENDING_TOOLS:
        out = rt.run(GRAPH, json.dumps({"tool": tool_name, "target": f"{tool_name}-t"}))
        if out.status != "pending":
            msg = f"template run for {tool_name} ended {out.status}, expected a review"
            raise RuntimeError(msg)
        pending.append(out.thread_id)
    done = rt.run(GRAPH, json.dumps({"tool": "restart_service", "target": "web"}))
    me = rt.reviewers.authenticate(REVIEWER, PASSWORD)
    after = rt.decisions.decide(done.review_id, {"type": "approve"}, reviewer=me)
    if after.thread_status != "done":
        msg = f"template approval left the thread {after.thread_status}, expected done"
        raise RuntimeError(msg)
    return pending, done.thread_id


def _clone(cur: psycopg.Cursor[Any], table: str, join: str, overrides: Mapping[str, str]) -> int:
    """INSERT ... SELECT one row per (clone, template row): every column copied from the
    template row `x` unless `overrides` gives an expression (over `m`, the clone map)."""
    cur.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
        "ORDER BY ordinal_position",
        (table,),
    )
    cols = [r[0] for r in cur.fetchall()]
    exprs = ", ".join(overrides.get(c, f"x.{c}") for c in cols)
    cur.execute(f"INSERT INTO {table} ({', '.join(cols)}) SELECT {exprs} FROM bench_map m {join}")
    return int(cur.rowcount)


_RID = "'rv-' || lpad(to_hex(m.i), 12, '0')"
_MAP = """
CREATE TEMP TABLE bench_map AS
SELECT i, tid, pending, src, created,
       created + interval '2 minutes' AS decided,
       encode(sha256(convert_to(tid, 'UTF8')), 'hex') AS dig
FROM (
    SELECT i, prefix || lpad(to_hex(i), 10, '0') AS tid, pending,
           CASE WHEN pending THEN (%(pending_src)s::text[])[(i / step) %% %(kinds)s + 1]
                ELSE %(done_src)s END AS src,
           CASE WHEN pending
                -- pending: opened within the last 23 hours, spread out
                THEN %(now)s - make_interval(secs => 60 + ((i / step) * 7919) %% 82800)
                -- finished: one every 20 s over the past weeks
                ELSE %(now)s - interval '40 days' + make_interval(secs => i * 20) END AS created
    FROM (
        SELECT i, %(prefix)s::text AS prefix, %(step)s::int AS step,
               (i %% %(step)s = 0 AND i / %(step)s < %(pending)s) AS pending
        FROM generate_series(0, %(n)s - 1) AS i
    ) g
) s
"""


def build_dataset(url: str, rt: Any, n: int, pending: int) -> None:
    """Clone the runtime's template threads in SQL up to `n` threads, `pending` of them
    waiting for review; the templates themselves are deleted."""
    pend_src, done_src = _templates(rt)
    templates = [*pend_src, done_src]
    review = {
        "id": _RID,
        "thread_id": "m.tid",
        "created_at": "m.created",
        "expires_at": "m.created + (x.expires_at - x.created_at)",
        "decided_at": "CASE WHEN x.decided_at IS NULL THEN NULL ELSE m.decided END",
        "resumed_at": "CASE WHEN x.resumed_at IS NULL THEN NULL "
        "ELSE m.decided + interval '50 milliseconds' END",
        "payload": "replace(x.payload, x.thread_id, m.tid)",
    }
    by_review = "JOIN interlock_reviews r ON r.thread_id = m.src "
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute(
            _MAP,
            {
                "n": n,
                "pending": pending,
                "step": n // pending,
                "prefix": f"{GRAPH}-",
                "kinds": len(pend_src),
                "pending_src": pend_src,
                "done_src": done_src,
                "now": datetime.now(UTC),
            },
        )
        for table in ("checkpoints", "checkpoint_blobs", "checkpoint_writes"):
            _clone(cur, table, f"JOIN {table} x ON x.thread_id = m.src", {"thread_id": "m.tid"})
        _clone(
            cur,
            "interlock_threads",
            "JOIN interlock_threads x ON x.thread_id = m.src",
            {"thread_id": "m.tid", "created_at": "m.created"},
        )
        _clone(cur, "interlock_reviews", "JOIN interlock_reviews x ON x.thread_id = m.src", review)
        _clone(
            cur,
            "interlock_decisions",
            by_review + "JOIN interlock_decisions x ON x.review_id = r.id",
            {
                "id": "'dc-' || lpad(to_hex(m.i), 12, '0')",
                "review_id": _RID,
                "digest": "m.dig",
                "payload": "replace(x.payload, x.digest, m.dig)",
                "created_at": "m.decided",
            },
        )
        _clone(
            cur,
            "interlock_approvals",
            "JOIN interlock_approvals x ON x.thread_id = m.src",
            {
                "digest": "m.dig",
                "review_id": _RID,
                "thread_id": "m.tid",
                "issued_at": "m.decided",
                "expires_at": "m.decided + (x.expires_at - x.issued_at)",
                "consumed_at": "m.decided + interval '40 milliseconds'",
            },
        )
        _clone(
            cur,
            "interlock_executions",
            "JOIN interlock_executions x ON x.thread_id = m.src",
            {
                "digest": "m.dig",
                "action_digest": "m.dig",
                "thread_id": "m.tid",
                "review_id": _RID,
                "started_at": "m.decided + interval '40 milliseconds'",
                "finished_at": "m.decided + interval '45 milliseconds'",
            },
        )
        # The templates go: the counts must be exactly n threads and `pending` reviews.
        cur.execute(
            "DELETE FROM interlock_decisions WHERE review_id IN "
            "(SELECT id FROM interlock_reviews WHERE thread_id = ANY(%s))",
            (templates,),
        )
        for table in (
            "interlock_approvals",
            "interlock_executions",
            "interlock_reviews",
            "interlock_threads",
            "checkpoint_writes",
            "checkpoint_blobs",
            "checkpoints",
        ):
            cur.execute(f"DELETE FROM {table} WHERE thread_id = ANY(%s)", (templates,))
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


# -- the naive LangGraph ways -------------------------------------------------------------------


def naive_list(saver: Any) -> tuple[float, int]:
    """`checkpointer.list(None)`: newest root checkpoint per thread, pending when it holds an
    `__interrupt__` write. Seconds, and how many threads were found pending."""
    t0 = time.perf_counter()
    seen: set[str] = set()
    found = 0
    for tup in saver.list(None):
        cfg = tup.config["configurable"]
        if cfg.get("checkpoint_ns") or cfg["thread_id"] in seen:
            continue
        seen.add(cfg["thread_id"])
        if any(channel == "__interrupt__" for _, channel, _ in tup.pending_writes or ()):
            found += 1
    return time.perf_counter() - t0, found


def naive_get_state(url: str, graph: Any) -> tuple[float, int]:
    """`graph.get_state()` for every thread id in `checkpoints`."""
    t0 = time.perf_counter()
    with psycopg.connect(url) as conn:
        threads = [r[0] for r in conn.execute("SELECT DISTINCT thread_id FROM checkpoints")]
    found = 0
    for tid in threads:
        if graph.get_state({"configurable": {"thread_id": tid}}).interrupts:
            found += 1
    return time.perf_counter() - t0, found


# -- measuring ------------------------------------------------------------------------------------


def _medians(calls: Mapping[str, Any], reps: int) -> dict[str, float]:
    """Median ms per call of each function; rounds alternate so drift hits all alike."""
    for fn in calls.values():
        for _ in range(20):  # warm-up: pool, prepared statements, imports
            fn()
    samples: dict[str, list[int]] = {k: [] for k in calls}
    rounds = 10
    with gc_disabled():
        for _ in range(rounds):
            for name, fn in calls.items():
                samples[name] += time_calls_ns(fn, max(1, reps // rounds))
    return {k: median(v) / 1e6 for k, v in samples.items()}


def _speedup(label: str, naive_s: float, ours_ms: float, note: str) -> Row:
    value = naive_s * 1000 / ours_ms
    return row(
        f"inbox speed-up vs {label}",
        value,
        "×",
        target=f">= {TARGET_RATIO:,.0f}×",
        ok=value >= TARGET_RATIO,
        note=note,
    )


def run(quick: bool = False) -> list[Row]:
    from interlock.runtime import Reviewers, Runtime

    n, pending = QUICK if quick else FULL
    reps = QUICK_REPS if quick else REPS
    with tempfile.TemporaryDirectory() as tmp, postgres_db() as url, signing_keys():
        reviewers = Path(tmp) / "reviewers.toml"
        Reviewers.load(reviewers).add(REVIEWER, ["sre-lead"], PASSWORD)
        with Runtime.open(url, reviewers_path=reviewers, graphs={GRAPH: bench_factory}) as rt:
            t0 = time.perf_counter()
            build_dataset(url, rt, n, pending)
            build_s = time.perf_counter() - t0
            inbox = rt.inbox
            listed = inbox.pending(limit=10_000)
            if inbox.count() != pending or len(listed) != pending:
                msg = f"the dataset holds {inbox.count()} pending reviews, expected {pending}"
                raise RuntimeError(msg)
            page = min(200, pending)
            ms = _medians(
                {
                    # What `interlock pending` asks for (its default --limit) and shows.
                    "page": lambda: (inbox.pending(sort="urgency", limit=page), inbox.count()),
                    # What the console's inbox asks for on each refresh (up to 1,000 rows).
                    "all": lambda: (inbox.pending(sort="urgency", limit=1000), inbox.count()),
                },
                reps,
            )
            list_s, list_found = naive_list(rt.checkpointer())
            state_s, state_found = naive_get_state(url, rt.graph(GRAPH).graph)
    for what, found in (("checkpointer.list", list_found), ("get_state", state_found)):
        if found != pending:
            msg = f"naive {what} found {found} pending threads, expected {pending}"
            raise RuntimeError(msg)
    size = f"{pending:,} pending / {n:,} threads, Postgres"
    how = f"median of {reps} calls"
    full = "" if not quick else " (quick run: fewer)"
    return [
        row(
            f"inbox: first page ({page}) + count, {size}",
            ms["page"],
            "ms",
            target=f"<= {TARGET_MS:g} ms{full}",
            ok=ms["page"] <= TARGET_MS,
            note=f"{how}; rt.inbox.pending(limit={page}) + rt.inbox.count(), as `interlock "
            "pending` lists them",
        ),
        row(
            f"inbox: all {pending:,} pending + count, {size}",
            ms["all"],
            "ms",
            note=f"{how}; what the console fetches on each refresh (limit 1000)",
        ),
        _speedup(
            "checkpointer.list(None)",
            list_s,
            ms["page"],
            f"naive scan took {list_s:,.1f} s once over every checkpoint; first page "
            f"{ms['page']:.2f} ms; all rows {list_s * 1000 / ms['all']:,.0f}× faster",
        ),
        _speedup(
            "get_state per thread",
            state_s,
            ms["page"],
            f"get_state over all {n:,} threads took {state_s:,.1f} s once; all rows "
            f"{state_s * 1000 / ms['all']:,.0f}× faster",
        ),
        row(
            f"inbox dataset: {n:,} threads cloned in SQL",
            build_s,
            "s",
            note="templates run through Runtime, cloned with generate_series, VACUUM ANALYZE",
        ),
    ]
