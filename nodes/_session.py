"""The thread's history for session-aware rules: recorded on each answered call, read back
before each assessment.

Guarded execution writes one entry (tool, effects, signals, outcome, time, target-like values
of its arguments and result) into the `ToolMessage` it answers a call with, under
`response_metadata["interlock_session"]`, as compact JSON text: a checkpoint serializes every
message of the thread again at each step, and one string costs a fraction of what a nested
dict does there (a mapping, as older threads hold, is read too). The messages are the one
part of the state every way in shares (a `GatedState` graph, a plain `MessagesState` graph
with `GatedToolNode`, `create_agent` with `InterlockMiddleware`), so the history needs no
channel of its own and is checkpointed with the thread. The model cannot write tool
messages. Before assessing, the gate reads the last `MAX_EARLIER` entries and the user's own
messages (their names, addresses and ids are trusted) into `Context.session`.

An untrusted tool's result counts as untrusted content as a whole, unless its `ToolSpec`
names `trusted_fields` and the result parses (JSON or YAML): then the values under those keys
(the sender of a message, an event's participants, a file's id and sharing list) count as
seen and only the rest stays untrusted. Name them only for a tool whose service builds the
result's structure: where the whole result may be someone's text (a page, a raw mail), that
text could write "sender: ..." itself.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

import yaml
from langchain_core.messages import AnyMessage, HumanMessage, ToolMessage

from interlock.nodes._gate import Gate, RunScope, Verdict
from interlock.nodes._state import message_text
from interlock.nodes._toolspec import ToolSpec
from interlock.risk import (
    MAX_EARLIER,
    UNTRUSTED,
    Earlier,
    Session,
    request_values,
    values_in,
)

__all__ = [
    "SESSION_KEY",
    "annotate",
    "entry_for",
    "entry_of",
    "is_untrusted",
    "record_entry",
    "session_in",
    "session_of",
    "thread_session",
    "with_session",
]

SESSION_KEY = "interlock_session"
_CACHE_MAX = 4096
# Converted entries by the metadata (text, or an older thread's dict) they came from (held,
# so its id is not reused).
_entries: dict[int, tuple[object, Earlier]] = {}
_trusted: dict[int, tuple[AnyMessage, frozenset[str]]] = {}
_MAX_THREADS = 256
# Per thread id: the messages its last read saw (a copy), and the session read from them.
_walks: dict[str, tuple[list[AnyMessage], Session]] = {}
_walks_lock = threading.Lock()


def is_untrusted(gate: Gate, tool: str, spec: ToolSpec | None = None) -> bool:
    """Whether `tool`'s results are untrusted content: its spec (`spec`, else the gate's)
    says so, or the policy's `tools:` entry does."""
    spec = spec or gate.spec(tool)
    if spec is not None and spec.untrusted:
        return True
    defaults = gate.policy.tool_defaults(tool)  # aliases too: `*__fetch`, any case
    return defaults is not None and defaults.untrusted


def entry_for(*args: Any) -> dict[str, Any]:
    """`entry_of(...)` in its JSON form, as the ToolMessage carries it."""
    return entry_of(*args).to_dict()


def entry_of(
    gate: Gate,
    verdict: Verdict,
    outcome: str,
    result: Any,
    at: datetime,
    before: Session | None,
) -> Earlier:
    """The history entry of one answered call. `before` is the session it was assessed in:
    once untrusted content came in, values the agent writes into arguments may come from
    it, so only those seen before count as seen."""
    call = verdict.call
    name, args = call["name"], call.get("args") or {}
    a = verdict.assessment
    effects = (a.effects if a is not None else None) or (
        verdict.action.effects if verdict.action is not None else None
    )
    untrusted = is_untrusted(gate, name, verdict.spec)
    signals = set(a.signals) if a is not None else set()
    ran = outcome in ("allow", "approved", "failed")
    if untrusted and ran:
        signals.add(UNTRUSTED)
    in_args = values_in(args)
    seen: set[str] = set()
    tainted: set[str] = set()
    if before is not None and UNTRUSTED in before.ran_signals:
        seen |= in_args & before.seen
        tainted |= in_args - before.seen
    else:
        seen |= in_args
    if ran and result is not None:
        spec = (verdict.spec or gate.spec(name)) if untrusted else None
        split = _split(result, spec.trusted_fields) if spec and spec.trusted_fields else None
        if split is not None:
            seen.update(values_in(split[0]))
            tainted.update(values_in(split[1]))
        else:
            (tainted if untrusted else seen).update(values_in(result))
    return Earlier(
        tool=name,
        effects=frozenset(effects or ()),
        signals=frozenset(signals),
        outcome=outcome,
        at=at,
        seen=frozenset(seen),
        tainted=frozenset(tainted - seen),
    )


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MAX_PARSE = 200_000


def _parsed(result: Any) -> Any:
    """A structured result as data: JSON, else YAML (a text that is neither is None)."""
    if not isinstance(result, str):
        return result if isinstance(result, Mapping | list) else None
    text = result.strip()
    if not text or len(text) > _MAX_PARSE:
        return None
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        data = yaml.load(text, Loader=_Loader)  # CSafeLoader where built, else SafeLoader
    except yaml.YAMLError:
        return None
    return data if isinstance(data, Mapping | list) else None


def _split(result: Any, keys: Collection[str]) -> tuple[list[Any], list[Any]] | None:
    """The values of a structured result under the tool's trusted keys (with the keys of a
    mapping there: a sharing list maps addresses to rights), and everything else."""
    data = _parsed(result)
    if data is None:
        return None
    trusted: list[Any] = []
    rest: list[Any] = []

    def walk(node: Any, depth: int) -> None:
        if depth > 6:
            return
        if isinstance(node, Mapping):
            for k, v in node.items():
                if isinstance(k, str) and k in keys:
                    trusted.append(v)
                    if isinstance(v, Mapping):
                        trusted.extend(str(x) for x in v)
                else:
                    rest.append(k)  # a key someone else wrote is their text too
                    walk(v, depth + 1)
        elif isinstance(node, list):
            for v in node[:200]:
                walk(v, depth + 1)
        else:
            rest.append(node)

    walk(data, 0)
    return trusted, rest


# Built once: `json.dumps` with options builds an encoder on every call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def _text(entry: Mapping[str, Any]) -> str:
    return _ENCODER.encode(entry)


def annotate(message: ToolMessage, entry: Mapping[str, Any]) -> ToolMessage:
    """`message` carrying `entry` in its response metadata (in place: it is ours, just made)."""
    message.response_metadata = {**(message.response_metadata or {}), SESSION_KEY: _text(entry)}
    return message


def record_entry(message: ToolMessage, entry: Earlier) -> ToolMessage:
    """`annotate` with `entry` as made: the next read of the thread's history finds it as it
    is instead of parsing its text again."""
    meta = _text(entry.to_dict())
    message.response_metadata = {**(message.response_metadata or {}), SESSION_KEY: meta}
    _remember(meta, entry)
    return message


def _remember(meta: object, entry: Earlier) -> None:
    if len(_entries) >= _CACHE_MAX:
        _entries.clear()
    _entries[id(meta)] = (meta, entry)


def _earlier(meta: object) -> Earlier | None:
    hit = _entries.get(id(meta))
    if hit is not None and hit[0] is meta:
        return hit[1]
    try:
        data = json.loads(meta) if isinstance(meta, str) else meta
        if not isinstance(data, Mapping):
            return None
        found = Earlier.from_dict(data)
    except (TypeError, ValueError):
        return None  # a damaged entry is skipped, as if the call had left none
    _remember(meta, found)
    return found


def _user_values(msg: AnyMessage) -> frozenset[str]:
    hit = _trusted.get(id(msg))
    if hit is not None and hit[0] is msg:
        return hit[1]
    found = request_values(message_text(msg))
    if len(_trusted) >= _CACHE_MAX:
        _trusted.clear()
    _trusted[id(msg)] = (msg, found)
    return found


def _read(messages: Sequence[AnyMessage]) -> tuple[list[Earlier], set[str]]:
    found: list[Earlier] = []
    trusted: set[str] = set()
    for msg in messages:
        if isinstance(msg, ToolMessage):
            meta = (msg.response_metadata or {}).get(SESSION_KEY)
            if isinstance(meta, str | Mapping):
                e = _earlier(meta)
                if e is not None:
                    found.append(e)
        elif isinstance(msg, HumanMessage):
            trusted |= _user_values(msg)
    return found, trusted


def session_of(messages: Sequence[AnyMessage]) -> Session:
    """The session the thread's messages record: the last `MAX_EARLIER` entries, oldest
    first, and the values the user's own messages name."""
    found, trusted = _read(messages)
    return Session(tuple(found[-MAX_EARLIER:]), frozenset(trusted))


def thread_session(messages: Sequence[AnyMessage], thread: str) -> Session:
    """`session_of(messages)`, reading only what came after the messages this thread's last
    read saw, when those are still its first messages.

    Each tool step of a thread sees the messages the step before it saw and the few the
    graph appended since (`add_messages` appends). A message edited or removed by id, or any
    other list, fails the comparison and the whole list is read again."""
    hit = _walks.get(thread) if thread else None
    session: Session | None = None
    if hit is not None:
        read, known = hit
        n = len(read)
        # A list compares its items by identity first: no message is compared field by field
        # unless one was replaced.
        if len(messages) >= n and messages[:n] == read:
            found, trusted = _read(messages[n:])
            # With nothing new, `then` returns `known` itself: the gate's reuse key holds.
            session = known.then(found, frozenset(trusted))
    if session is None:
        session = session_of(messages)
    if thread:
        with _walks_lock:
            _walks.pop(thread, None)
            if len(_walks) >= _MAX_THREADS:
                del _walks[next(iter(_walks))]  # the thread read longest ago
            _walks[thread] = (list(messages), session)
    return session


def session_in(state: Any, thread: str) -> Session | None:
    """The session of a graph state's messages on `thread`; None when they record nothing."""
    messages = state.get("messages") if isinstance(state, Mapping) else None
    if not messages:
        return None
    session = thread_session(messages, thread)
    return session if session.earlier or session.trusted else None


def with_session(scope: RunScope, state: Any) -> RunScope:
    """`scope` whose context carries the session of `state` (a graph state mapping)."""
    session = session_in(state, scope.thread_id)
    if session is None:
        return scope
    return dataclasses.replace(scope, context=dataclasses.replace(scope.context, session=session))
