"""Property-based fuzzing of decision payloads and `--edit` JSON against an in-process
Runtime on SQLite: whatever arrives, the only errors are Interlock's own (one clear line in
the CLI, never a traceback), and a refused decision changes nothing: not the review row, not
the thread's latest checkpoint, not the audit log. The one exception is a decision refused
because the action changed since it was reviewed (a stale digest): that refusal is itself
audited, as one `decision_refused` row, and nothing else changes."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from interlock.graphs import scripted_ops_agent
from interlock.nodes import DECISION_TYPES
from interlock.risk.errors import ConflictError, InterlockError
from interlock.runtime import Authenticator, Principal, Reviewer, Reviewers, Runtime, hash_password
from interlock.ui._cli_review import parse_edit


def _principal(name: str, role: str) -> Principal:
    """`name` signed in with a password, as the CLI and the console sign people in: the
    decision service takes nothing else (a hand-made Reviewer is refused)."""
    password = "test-password"
    who = Reviewer(name=name, roles=(role,), password_hash=hash_password(password))
    return Authenticator(Reviewers(Path("reviewers.toml"), {name: who})).password(name, password)


SAM = _principal("sam", "sre-lead")
PROPOSED = {"volume_id": "vol-prod-db", "token": "tok-ci-admin"}
FUZZ = settings(
    max_examples=1100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class Pool:
    """Fresh pending reviews; a review that accepted a decision is replaced by a new one."""

    def __init__(self, rt: Runtime, infra: Path) -> None:
        self.rt, self.options = rt, {"infra": str(infra)}
        self.current = self._new()
        self.accepted = 0
        self.refused: set[str] = set()

    def _new(self) -> str:
        run = self.rt.run("one_delete", "fuzz", options=self.options)
        assert run.review_id is not None
        return run.review_id

    def used(self) -> None:
        self.accepted += 1
        self.current = self._new()

    def footprint(self) -> tuple[Any, ...]:
        rid = self.current
        with self.rt.db.connection() as conn:
            row = conn.one("SELECT * FROM interlock_reviews WHERE id = ?", (rid,))
            counts = conn.one(
                "SELECT (SELECT count(*) FROM interlock_decisions) AS d, "
                "(SELECT count(*) FROM interlock_approvals) AS a, "
                "(SELECT count(*) FROM interlock_executions) AS e"
            )
        assert row is not None
        tup = self.rt.checkpointer().get_tuple({"configurable": {"thread_id": row["thread_id"]}})
        assert tup is not None
        return (row, counts, tup.config["configurable"]["checkpoint_id"], self.rt.audit.head())


def one_delete(**kw: Any) -> Any:
    """The ops tools behind a model that proposes one production delete, then stops."""
    return scripted_ops_agent([[("delete_volume", PROPOSED)]], kw["options"]["infra"], **kw)


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pool]:
    folder = tmp_path_factory.mktemp("fuzz")
    with Runtime.open(
        f"sqlite:///{folder}/fuzz.db",
        reviewers_path=folder / "reviewers.toml",
        graphs={"one_delete": one_delete},
    ) as rt:
        yield Pool(rt, folder / "infra.json")


def _nest(depth: int) -> Any:
    value: Any = "deep"
    for i in range(depth):
        value = {"k": value} if i % 2 else [value]
    return value


leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**30, max_value=10**4000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(["\ud800", "vol-prod-db", "vol-staging-db", "tok-ci-admin", "𝔘𝔫𝔦", "\x00", ""]),
    st.integers(min_value=60_000, max_value=70_000).map(lambda n: "é" * n),  # oversized
)
json_values = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
) | st.integers(min_value=10, max_value=400).map(_nest)
keys = st.sampled_from(
    ["message", "args", "edited_action", "digest", "reviewer", "role", "note", "type", "name"]
)
decisions = st.one_of(
    json_values,
    st.builds(
        lambda kind, extra: {"type": kind, **extra},
        st.one_of(st.sampled_from(DECISION_TYPES), json_values),
        st.dictionaries(keys, json_values, max_size=4),
    ),
    st.builds(
        lambda args, extra: {"type": "edit", "args": args, **extra},
        st.one_of(
            st.fixed_dictionaries({"volume_id": json_values}),
            st.dictionaries(st.sampled_from(["volume_id", "token", "size"]), json_values),
        ),
        st.dictionaries(st.sampled_from(["message", "reviewer"]), json_values, max_size=2),
    ),
)


def check(pool: Pool, act: Callable[[str], object]) -> None:
    before = pool.footprint()
    refused: InterlockError | None = None
    try:
        act(pool.current)
    except InterlockError as exc:  # anything else fails the test: that would be a traceback
        refused = exc
    if refused is None:
        pool.used()
        return
    assert str(refused).strip(), "an error must say what went wrong"
    pool.refused.add(type(refused).__name__)
    after = pool.footprint()
    if isinstance(refused, ConflictError):
        # Audited on purpose: a reviewer deciding on what is no longer pending is a fact.
        assert after[:-1] == before[:-1], f"refused ({refused}) but the state changed"
        with pool.rt.db.connection() as conn:
            added = conn.all(
                "SELECT event, data FROM interlock_audit WHERE seq > ? ORDER BY seq",
                (before[-1][0],),
            )
        assert [a["event"] for a in added] == ["decision_refused"], added
        assert str(refused) in str(added[0]["data"])
        return
    assert after == before, f"refused ({refused}) but the state changed"


@FUZZ
@given(decision=decisions, action=st.integers(min_value=-2, max_value=2), all_=st.booleans())
@example(decision={"type": "approve", "digest": ""}, action=0, all_=False)  # a stale digest
def test_any_decision_payload_is_refused_cleanly_or_applied(
    pool: Pool, decision: Any, action: int, all_: bool
) -> None:
    def act(rid: str) -> object:
        if all_:
            batch = decision if isinstance(decision, list) else [decision]
            return pool.rt.decisions.decide_all(rid, batch, reviewer=SAM, resume=False)
        return pool.rt.decisions.decide(rid, decision, reviewer=SAM, action=action, resume=False)

    check(pool, act)


edit_texts = st.one_of(
    st.text(max_size=200),
    json_values.map(lambda v: json.dumps(v, ensure_ascii=False, default=str)),
    st.dictionaries(st.sampled_from(["volume_id", "token", "size"]), json_values).map(json.dumps),
    st.integers(min_value=50, max_value=3000).map(lambda n: "[" * n + "]" * n),
    st.integers(min_value=1, max_value=3).map(
        lambda n: '{"volume_id": "' + "x" * 30_000 * n + '"}'
    ),
    st.sampled_from(['{"volume_id": "\\ud800"}', '{"volume_id": null}', "{}", "null", "NaN"]),
)


@FUZZ
@given(text=edit_texts, resume=st.booleans())
def test_any_edit_json_is_refused_cleanly_or_applied(pool: Pool, text: str, resume: bool) -> None:
    def act(rid: str) -> object:
        args = parse_edit(text, dict(PROPOSED))
        return pool.rt.decisions.decide(
            rid, {"type": "edit", "args": args}, reviewer=SAM, resume=resume
        )

    check(pool, act)


# -- NUL and control characters: in edits (refused before anything is recorded when no
# database can store them) and in tool outputs (stored, NUL and lone surrogates as U+FFFD).

nasty_chars = st.one_of(
    st.characters(max_codepoint=0x1F),
    st.sampled_from(["\x00", "\x7f", "\x85", "\u2028", "\ufeff", "\ud800", "\udfff", "\ufffd"]),
    st.characters(),
)
nasty_texts = st.lists(nasty_chars, max_size=40).map("".join)


def _unstorable(value: Any) -> bool:
    return any(
        c == "\x00" or "\ud800" <= c <= "\udfff" for c in json.dumps(value, ensure_ascii=False)
    )


@FUZZ
@given(
    pre=st.sampled_from(["vol-prod-db", "vol-staging-db", ""]), text=nasty_texts, at=st.booleans()
)
def test_edits_with_nul_or_control_characters_are_refused_or_applied_never_half(
    pool: Pool, pre: str, text: str, at: bool
) -> None:
    args = {**PROPOSED, "volume_id": pre + text} if at else {**PROPOSED, "token": text + pre}
    before = pool.footprint()
    refused: InterlockError | None = None
    try:
        pool.rt.decisions.decide(
            pool.current, {"type": "edit", "args": args}, reviewer=SAM, resume=False
        )
    except InterlockError as exc:  # anything else fails the test: that would be a traceback
        refused = exc
    if refused is None:
        assert not _unstorable(args), "an edit no database can store was recorded"
        pool.used()
        return
    assert str(refused).strip()
    assert "\n" not in str(refused)
    pool.refused.add(type(refused).__name__)
    assert pool.footprint() == before, f"refused ({refused}) but the state changed"


OUTPUT: list[str] = [""]
"""What the `emit` tool returns next."""


def emitter(**kw: Any) -> Any:
    """One allowed staging call to `emit`, which returns `OUTPUT[0]`."""
    from types import SimpleNamespace

    from langchain_core.tools import tool

    from interlock.graphs import ScriptedChatModel, build_gated_graph, say
    from interlock.nodes import gated

    @tool
    def emit(target: str) -> str:
        """Emit some text about a target."""
        return OUTPUT[0]

    gated(emit, effects={"write"}, reversible=True, environment="staging")
    builder, gate = build_gated_graph(
        ScriptedChatModel(steps=[say("emitting", ("emit", {"target": "web"}))]),
        [emit],
        kw["policy"],
        agent="emitter",
        approvals=kw["approvals"],
        ledger=kw["ledger"],
        audit=kw["audit"],
        issue_on_resume=kw["issue_on_resume"],
    )
    return SimpleNamespace(graph=builder.compile(checkpointer=kw["checkpointer"]), gate=gate)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=nasty_texts)
def test_any_tool_output_is_stored_and_the_ledger_reaches_succeeded(pool: Pool, text: str) -> None:
    pool.rt.register_graph("emitter", emitter)
    OUTPUT[0] = text
    run = pool.rt.run("emitter", "emit")
    assert run.status == "done", run
    with pool.rt.db.connection() as conn:
        row = conn.one(
            "SELECT e.status, e.result FROM interlock_executions e WHERE e.thread_id = ?",
            (run.thread_id,),
        )
    assert row is not None
    want = "".join("\ufffd" if c == "\x00" or "\ud800" <= c <= "\udfff" else c for c in text)
    assert (row["status"], row["result"]) == ("succeeded", want)


def test_the_fuzzers_reached_both_outcomes(pool: Pool) -> None:
    # Runs after the two properties (file order): both paths were really exercised.
    assert pool.accepted > 0
    assert "DecisionError" in pool.refused
    verified = pool.rt.audit.verify()  # NUL and control characters left the chain intact
    assert verified.ok, verified
