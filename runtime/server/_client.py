"""A thin, typed wrapper over `langgraph-sdk` for what Interlock asks of LangGraph Server.

Everything the server backend needs goes through here: the interrupted threads, a thread's
live interrupts, starting a run and resuming one by interrupt id. Runs are created with
`multitask_strategy="reject"`, so the server refuses a second run on a busy thread instead
of queueing it behind the first; that refusal, and the server's other answers, become
Interlock's own errors (ConflictError, NotFoundError, ConfigError) with one clear line each.
`langgraph_sdk` is imported when a client is created, so the rest of the runtime never
needs it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from interlock.risk.errors import ConfigError, ConflictError, InterlockError, NotFoundError

__all__ = ["ServerBusy", "ServerClient", "ServerThread", "ThreadState"]

_PAGE = 100
_SINCE_PAGE = 20
_CONNECT_RETRIES = 1


class ServerBusy(ConflictError):
    """The server refused a run: another run holds the thread."""


@dataclass(frozen=True, kw_only=True)
class ServerThread:
    """A thread as the server lists it: its graph and the interrupts pending on it."""

    thread_id: str
    graph_id: str | None
    metadata: Mapping[str, Any]
    interrupts: Mapping[str, Any]
    """interrupt id -> payload."""
    updated_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class ThreadState:
    """Where a run left the thread."""

    thread_id: str
    checkpoint_id: str | None
    interrupts: Mapping[str, Any]
    """interrupt id -> payload, pending on the thread's latest checkpoint."""
    values: Mapping[str, Any] = field(default_factory=dict)
    next: tuple[str, ...] = ()
    """The nodes that would run next; empty when the thread is done."""


def _when(raw: Any) -> datetime | None:
    if isinstance(raw, datetime):
        return raw
    try:
        return datetime.fromisoformat(str(raw)) if raw else None
    except ValueError:
        return None


def _interrupts(raw: Any) -> dict[str, Any]:
    """`{id: value}` from the server's list or `{task: [..]}` forms of pending interrupts."""
    found: dict[str, Any] = {}
    groups = raw.values() if isinstance(raw, Mapping) else [raw]
    for group in groups:
        for item in group if isinstance(group, list | tuple) else []:
            if isinstance(item, Mapping) and item.get("id"):
                found[str(item["id"])] = item.get("value")
    return found


class ServerClient:
    """One LangGraph Server deployment, reached at `url`."""

    def __init__(self, url: str, *, api_key: str | None = None, timeout: float = 60.0) -> None:
        import httpx
        from langgraph_sdk import get_sync_client
        from langgraph_sdk.client import SyncLangGraphClient

        self.url = url.rstrip("/")
        kwargs: dict[str, Any] = {"url": self.url, "timeout": timeout}
        if api_key:
            kwargs["api_key"] = api_key
        # The SDK's client (it finds the API key in the environment), on a transport that
        # retries a refused connection once instead of five times (7.5 s): an inbox must
        # not hang on a server that is down.
        sdk = get_sync_client(**kwargs)
        base = sdk.http.client
        quick = httpx.Client(
            base_url=base.base_url,
            headers=base.headers,
            timeout=base.timeout,
            transport=httpx.HTTPTransport(retries=_CONNECT_RETRIES),
        )
        base.close()
        self._client = SyncLangGraphClient(quick)

    def __repr__(self) -> str:
        return f"ServerClient({self.url!r})"

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        import httpx

        try:
            yield
        except InterlockError:
            raise
        except (httpx.HTTPError, OSError) as exc:
            response = (
                getattr(exc, "response", None) if isinstance(exc, httpx.HTTPStatusError) else None
            )
            if response is None:
                msg = (
                    f"LangGraph Server at {self.url} does not answer ({type(exc).__name__}: "
                    f"{exc}). Start it (`langgraph dev --port PORT --no-browser`) or fix "
                    "INTERLOCK_LANGGRAPH_URL."
                )
                raise ConfigError(msg) from None
            code = response.status_code
            body = response.text.strip().replace("\n", " ")[:300]
            if code == 409:
                msg = f"LangGraph Server refused to {what}: the thread is busy ({body})."
                raise ServerBusy(msg) from None
            if code == 404:
                msg = f"LangGraph Server at {self.url} has no such thread or graph: {what}."
                raise NotFoundError(msg) from None
            msg = f"LangGraph Server at {self.url} failed to {what}: HTTP {code} {body}"
            raise ConfigError(msg) from None

    def interrupted(
        self, *, since: datetime | None = None, limit: int = 10_000
    ) -> list[ServerThread]:
        """Threads whose latest checkpoint waits on an interrupt, most recently updated
        first; with `since`, only those updated at or after it (one short page when little
        changed)."""
        out: list[ServerThread] = []
        offset = 0
        while len(out) < limit:
            size = min(_PAGE if since is None else _SINCE_PAGE, limit - len(out))
            with self._errors("list interrupted threads"):
                page = self._client.threads.search(
                    status="interrupted",
                    limit=size,
                    offset=offset,
                    sort_by="updated_at",
                    sort_order="desc",
                    select=["thread_id", "metadata", "interrupts", "updated_at"],
                )
            for t in page:
                updated = _when(t.get("updated_at"))
                if since is not None and updated is not None and updated < since:
                    return out
                meta = t.get("metadata") or {}
                out.append(
                    ServerThread(
                        thread_id=str(t["thread_id"]),
                        graph_id=meta.get("graph_id"),
                        metadata=meta,
                        interrupts=_interrupts(t.get("interrupts") or {}),
                        updated_at=updated,
                    )
                )
            if len(page) < size:
                break
            offset += len(page)
        return out

    def thread(self, thread_id: str) -> ThreadState:
        """The thread's latest checkpoint: its interrupts and values (messages as dicts)."""
        with self._errors(f"read thread {thread_id}"):
            state: Mapping[str, Any] = self._client.threads.get_state(thread_id)
        checkpoint = state.get("checkpoint") or {}
        found = checkpoint.get("checkpoint_id") or state.get("checkpoint_id")
        values = state.get("values")
        return ThreadState(
            thread_id=thread_id,
            checkpoint_id=str(found) if found else None,
            interrupts=_interrupts(state.get("interrupts") or []),
            values=values if isinstance(values, Mapping) else {},
            next=tuple(str(n) for n in state.get("next") or ()),
        )

    def ensure_thread(self, thread_id: str, metadata: Mapping[str, Any]) -> None:
        with self._errors(f"create thread {thread_id}"):
            self._client.threads.create(
                thread_id=thread_id, metadata=dict(metadata), if_exists="do_nothing"
            )

    def stream(
        self,
        thread_id: str,
        graph_id: str,
        *,
        input: Mapping[str, Any] | None = None,
        resume: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Iterator[tuple[str, Any]]:
        """Run `graph_id` on the thread to its next stop, yielding `(node, update)` as each
        step finishes: from `input`, answering the interrupts named in `resume`
        (`{interrupt_id: value}`), or, with neither, carrying on from the latest checkpoint."""
        what = f"run {graph_id} on thread {thread_id}"
        kwargs: dict[str, Any] = {"multitask_strategy": "reject", "stream_mode": "updates"}
        if resume is not None:
            kwargs["command"] = {"resume": dict(resume)}
        elif input is not None:
            kwargs["input"] = dict(input)
        if context:
            kwargs["context"] = dict(context)
        if metadata:
            kwargs["metadata"] = dict(metadata)
        with self._errors(what):
            for part in self._client.runs.stream(thread_id, graph_id, **kwargs):
                if part.event == "error":
                    data = part.data if isinstance(part.data, Mapping) else {"message": part.data}
                    msg = (
                        f"The run of {graph_id} on thread {thread_id} failed on the server: "
                        f"{data.get('error', 'error')}: {data.get('message', '')}"
                    )
                    raise InterlockError(msg)
                if part.event == "updates" and isinstance(part.data, Mapping):
                    yield from part.data.items()

    def close(self) -> None:
        closer = getattr(self._client, "close", None)
        if callable(closer):
            closer()
