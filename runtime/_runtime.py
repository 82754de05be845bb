"""`Runtime`: one object for everything durable, opened from one URL.

    with Runtime.open() as rt:                       # INTERLOCK_DATABASE_URL or the default
        run = rt.run("ops_agent", "Staging deploys fail with 401...")
        (review,) = rt.inbox.pending()
        me = rt.authenticate("sre-lead-demo", "demo")         # a Principal: decisions need one
        out = rt.decisions.decide(review.id, {"type": "reject", "message": "..."}, reviewer=me)

`open` runs the migrations (idempotent), builds the checkpointer on the same pool, the
durable stores, the audit log, the reviewers file and the policy. Graphs run in strict mode
(`issue_on_resume=False`): approvals come only from the decision service.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from interlock.risk import Policy, default_policy, load_policy, utcnow
from interlock.risk.errors import ConflictError
from interlock.runtime.audit.log import AuditLog
from interlock.runtime.decisions.service import DecisionService
from interlock.runtime.review._reviewer_table import DatabaseReviewers, ReviewerBook
from interlock.runtime.review.inbox import Inbox
from interlock.runtime.review.policy_pin import PolicyPin, resolve_policy
from interlock.runtime.review.principal import Authenticator, Principal
from interlock.runtime.review.reviewers import Reviewers
from interlock.runtime.review.signing import KeyRing, Signer, public_ring, signer_for
from interlock.runtime.review.stops import StopSwitch
from interlock.runtime.store.database import Database, open_database
from interlock.runtime.store.migrations import upgrade_database
from interlock.runtime.store.settings import Settings, protect_files

if TYPE_CHECKING:
    from langgraph.checkpoint.base import BaseCheckpointSaver

    from interlock.runtime.execution._runner import Engine, Update
    from interlock.runtime.execution.registry import BuiltGraph, GraphFactory

__all__ = ["RunOutcome", "Runtime"]


@dataclass(frozen=True, kw_only=True)
class RunOutcome:
    """What a new run did, and where it stopped."""

    thread_id: str
    graph: str
    status: Literal["pending", "done", "running", "in_doubt"]
    review_ids: tuple[str, ...] = ()
    """The reviews the thread stopped at (registered in the inbox)."""
    events: tuple[str, ...] = ()
    final_message: str | None = None

    @property
    def review_id(self) -> str | None:
        return self.review_ids[0] if self.review_ids else None

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "review_ids": list(self.review_ids), "events": list(self.events)}


class Runtime:
    """The durable oversight runtime on one database."""

    def __init__(
        self,
        db: Database,
        *,
        policy: Policy,
        reviewers: ReviewerBook,
        graphs: Mapping[str, GraphFactory] | None = None,
        clock: Callable[[], datetime] = utcnow,
        approval_ttl: timedelta = timedelta(hours=1),
        langgraph_url: str | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.db = db
        self.settings = settings or Settings.from_env()
        self.keys: KeyRing = public_ring(self.settings, db.url)
        """The public keys guarded execution verifies approvals with."""
        self._signer: Signer | None = None
        self._authenticator: Authenticator | None = None
        self.langgraph_url = langgraph_url
        self.url = db.url
        self.policy = policy
        self.reviewers = reviewers
        self.clock = clock
        self.audit = AuditLog(db, clock=clock)
        self.inbox = Inbox(db, policy, self.checkpointer, clock, self.audit)
        if langgraph_url:
            from interlock.runtime.server._inbox import ServerInbox

            self.inbox = ServerInbox(
                db, policy, self.checkpointer, clock, self.audit, sync=self._sync_server
            )
        self.stops = StopSwitch(db, self.audit)
        self.policy_pin = PolicyPin(db, self.audit)
        """The policy an admin pinned for every runtime on this database (`publish`)."""
        self._graphs = dict(graphs or {})
        self._engine: Engine | None = None
        self.decisions = DecisionService(
            db=db,
            audit=self.audit,
            policy=policy,
            inbox=self.inbox,
            engine=self.engine,
            clock=clock,
            signer=self.signer,
            approval_ttl=approval_ttl,
        )

    @property
    def authenticator(self) -> Authenticator:
        """Turns a password, OIDC claims or a session token into a `Principal`, the only
        identity `decisions.decide` accepts; against this runtime's reviewers."""
        if self._authenticator is None or self._authenticator.store is not self.reviewers:
            self._authenticator = Authenticator(self.reviewers)
        return self._authenticator

    def authenticate(self, name: str, password: str) -> Principal:
        """The principal for `name` when `password` is right (NotFoundError or
        AuthorizationError if not)."""
        return self.authenticator.password(name, password)

    def signer(self) -> Signer:
        """The reviewer side's signing key, loaded on the first decision (a process that only
        runs agents never needs it); one ConfigError line when this process has none."""
        if self._signer is None:
            self._signer = self.keys.vouched(signer_for(self.settings, self.db.url))
        return self._signer

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        policy: Policy | None = None,
        reviewers_path: str | Path | None = None,
        graphs: Mapping[str, GraphFactory] | None = None,
        clock: Callable[[], datetime] | None = None,
        approval_ttl: timedelta = timedelta(hours=1),
        create: bool = True,
        langgraph_url: str | None = None,
    ) -> Runtime:
        """Open `url` (default: settings), migrate it, and load the policy and reviewers.

        `graphs` adds graph factories by name (see `interlock.runtime.execution.registry`). With
        `create=False` a missing SQLite file is an error instead of a new database.
        `langgraph_url` (default `INTERLOCK_LANGGRAPH_URL`) runs the graphs on that LangGraph
        Server instead of in this process (`interlock.runtime.server.governed`).

        Reviewers: on Postgres they are the database's `interlock_reviewers` table, which only
        the reviewer role writes; `INTERLOCK_REVIEWERS` is not read there. On SQLite (the
        embedded mode, which trusts the local user) they are the reviewers file. An explicit
        `reviewers_path` is a file this code chose, and is used on either backend.
        """
        settings = Settings.from_env()
        given_policy = policy.source if policy is not None else None
        named = "the policy= argument" if policy is not None else None
        if policy is None and settings.policy:
            policy, named = load_policy(settings.policy), f"INTERLOCK_POLICY ({settings.policy})"
        db = open_database(url or settings.database_url, create=create)
        try:
            reviewers: ReviewerBook
            if reviewers_path is None and db.dialect == "postgres":
                reviewers = DatabaseReviewers(db)
            else:
                reviewers = Reviewers.load(Path(reviewers_path or settings.reviewers))
            upgrade_database(db)
            # A policy an admin pinned in the database wins over this process's own choice,
            # which must then name that very version (the agent side chooses no policy).
            policy = resolve_policy(PolicyPin(db, AuditLog(db)), policy, named=named)
            policy = policy or default_policy()
            db.checkpointer()
            # The gate in this process refuses agent calls that name these files.
            given = Path(reviewers_path) if reviewers_path is not None else None
            protect_files(settings, database=db.path, policy=given_policy, reviewers=given)
        except BaseException:
            db.close()
            raise
        return cls(
            db,
            policy=policy,
            reviewers=reviewers,
            graphs=graphs,
            clock=clock or utcnow,
            approval_ttl=approval_ttl,
            langgraph_url=langgraph_url or settings.langgraph_url,
            settings=settings,
        )

    def checkpointer(self) -> BaseCheckpointSaver[str]:
        """The LangGraph saver on the same database (and, on Postgres, the same pool)."""
        return self.db.checkpointer()

    def engine(self) -> Engine:
        """Runs and resumes threads (built on first use: it loads LangGraph)."""
        if self._engine is None:
            from interlock.runtime.audit._sink import DurableAuditSink
            from interlock.runtime.execution._approvals import DurableApprovalStore
            from interlock.runtime.execution._ledger import DurableExecutionLedger
            from interlock.runtime.execution._live_stops import DurableStopSource
            from interlock.runtime.execution._runner import Engine
            from interlock.runtime.execution.registry import GraphRegistry

            approvals = DurableApprovalStore(self.db, self.keys)
            ledger = DurableExecutionLedger(self.db, self.audit, self.policy)
            stops = DurableStopSource(self.db)
            registry = GraphRegistry(
                checkpointer=self.checkpointer,
                policy=self.policy,
                approvals=approvals,
                ledger=ledger,
                audit=DurableAuditSink(self.audit, "agent"),
                extra=self._graphs,
                stops=stops,
            )
            engine_cls: Any = Engine
            kwargs: dict[str, Any] = {}
            if self.langgraph_url:
                from interlock.runtime.server._client import ServerClient
                from interlock.runtime.server._runner import ServerEngine

                engine_cls, kwargs = ServerEngine, {"client": ServerClient(self.langgraph_url)}
            self._engine = engine_cls(
                **kwargs,
                db=self.db,
                audit=self.audit,
                policy=self.policy,
                registry=registry,
                approvals=approvals,
                ledger=ledger,
                clock=self.clock,
                stops=stops,
            )
        return self._engine

    def graph(self, name: str, options: Mapping[str, Any] | None = None) -> BuiltGraph:
        """The compiled graph `name` (with its gate) as this runtime runs it."""
        return self.engine().registry.get(name, options)

    def register_graph(self, name: str, factory: GraphFactory) -> None:
        self._graphs[name] = factory
        if self._engine is not None:
            self._engine.registry.register(name, factory)

    def run(
        self,
        graph_name: str,
        user_request: str,
        *,
        thread_id: str | None = None,
        agent: str | None = None,
        requester: str | None = None,
        options: Mapping[str, Any] | None = None,
        on_update: Update | None = None,
    ) -> RunOutcome:
        """Start a gated graph thread on `user_request`; register any review it stops at.

        `options` are kept with the thread and given to the graph factory again whenever
        another process rebuilds the graph to resume it (e.g. the ops agent's `infra` file).
        `on_update(node, update)` sees each step as it happens (the demo prints them).
        """
        engine = self.engine()
        thread = thread_id or engine.new_thread_id(graph_name)
        result = engine.start(
            thread_id=thread,
            graph=graph_name,
            options=dict(options or {}),
            text=user_request,
            agent=agent,
            requester=requester,
            on=on_update,
        )
        if result.busy:
            msg = f"thread {thread!r} is being run by another process right now; try again later."
            raise ConflictError(msg)
        return RunOutcome(
            thread_id=thread,
            graph=graph_name,
            status=result.thread_status,
            review_ids=result.review_ids,
            events=result.events,
            final_message=result.final_message,
        )

    def _sync_server(self) -> None:
        """Register interrupts that appeared on the LangGraph Server (server backend only)."""
        sync = getattr(self.engine(), "sync", None)
        if callable(sync):
            sync()

    def close(self) -> None:
        client = getattr(self._engine, "client", None)
        if client is not None:
            client.close()
        self.db.close()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
