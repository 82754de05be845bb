"""`interlock demo`: the PocketOS scenario, run for real on an embedded database.

`interlock demo` starts a fresh thread of the ops agent through the durable runtime: the
unattended steps print as they happen, and the run stops at the critical review, which is
registered in the review inbox (`interlock pending`, `interlock show`) and printed with the
next commands. `interlock demo --decide reject --message "..."` (or approve, `edit --args
JSON`, respond, escalate) decides it as a demo reviewer and resumes that thread from its
checkpoint in a new process; `interlock decide REVIEW --as sre-lead-demo ...` does the same
as a named reviewer. `--db URL` picks SQLite (default) or Postgres. Nothing here prompts, so
the demo runs in CI as well.

Demo reviewers (`oncall-demo`, `sre-lead-demo`, `admin-demo`, password `demo`) exist only in
the embedded SQLite mode (added to its reviewers file; that mode trusts the local user), and
`demo --decide` acts only on threads the demo itself started (their options carry
`"demo": true`). On any other database `demo --decide` is refused with one line: its
accounts have a published password, so there they would be a back door. `interlock demo
--db postgresql://...` still runs the scenario; a real reviewer of that database decides it
with `interlock decide`.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import shlex
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessage, ToolMessage
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from interlock.graphs import DEFAULT_DATABASE_URL, Infra, sqlite_path
from interlock.graphs.ops_agent import SCENARIO_REQUEST, default_infra_path
from interlock.nodes import Gate
from interlock.risk.errors import AuthorizationError, ConfigError, NotFoundError
from interlock.runtime import (
    DEMO_PASSWORD,
    Reviewer,
    Reviewers,
    Runtime,
    Settings,
    ensure_demo_reviewers,
    parse_database_url,
    redact_url,
)
from interlock.ui._demo_decide import check_flags, decision_of
from interlock.ui._demo_notify import demo_notify, show_notifications
from interlock.ui._output import console, level_text, outcome_text

if TYPE_CHECKING:
    from interlock.runtime import ReviewDetail

__all__ = ["demo_paths", "run_demo"]

_SHOW = 160


def demo_paths(db: str) -> tuple[Path, Path]:
    """The demo's session file for `db`, and the simulated infrastructure it runs against.

    The infrastructure is the ops agent's default (`INTERLOCK_OPS_INFRA`, or
    `.interlock/ops-infra.json`), so anything that resumes the thread later with
    `build_ops_agent()` acts on the same simulated cloud.
    """
    base = sqlite_path(db)
    root = base.parent if base is not None and str(base) != ":memory:" else Path(".interlock")
    key = hashlib.sha256(db.encode()).hexdigest()[:10]
    return root / f"demo-session-{key}.json", default_infra_path()


def _short(value: Any, limit: int = _SHOW) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _call(name: str, args: dict[str, Any]) -> str:
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in args.items())})"


class _Printer:
    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self.scope = gate.scope()

    def update(self, node: str, value: Any) -> None:
        for msg in (value or {}).get("messages", []) if isinstance(value, dict) else []:
            if isinstance(msg, AIMessage):
                self.proposal(msg)
            elif isinstance(msg, ToolMessage):
                self.result(msg, node)

    def proposal(self, msg: AIMessage) -> None:
        if msg.content:
            console.print(Text(f"agent: {_short(msg.content, 400)}", style="italic"))
        for call in msg.tool_calls:
            v = self.gate.assess_call(call, self.scope)
            verdict = Text("  → ")
            if v.assessment is not None:
                verdict.append_text(outcome_text(v.assessment.outcome)).append(" ")
                verdict.append_text(level_text(v.assessment.level))
                verdict.append(f" {v.assessment.score:>3}  ")
            else:
                verdict.append(f"{v.kind}  ")
            verdict.append(_call(call["name"], call.get("args") or {}), style="bold")
            console.print(verdict)

    def result(self, msg: ToolMessage, node: str) -> None:
        ok = msg.status != "error"
        mark = Text("    ✓ " if ok else "    ✗ ", style="green" if ok else "red")
        who = "reviewer" if node == "review" else (msg.name or "tool")
        mark.append(f"{who}: ", style="dim")
        mark.append(_short(msg.content if isinstance(msg.content, str) else str(msg.content)))
        console.print(mark)


def _review_panel(review: ReviewDetail) -> Panel:
    req = review.request
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    grid.add_row("review", Text(review.summary.id, style="bold cyan"))
    grid.add_row(
        "thread", f"{review.summary.thread_id}   (interrupt {req.get('interrupt_id', '?')})"
    )
    grid.add_row("expires", req.get("expires_at", "-"))
    for note in req.get("notes") or []:
        grid.add_row("note", Text(note, style="yellow"))
    for i, action in enumerate(req["action_requests"], 1):
        a = action.get("assessment")
        grid.add_row("", "")
        grid.add_row(f"action {i}", Text(_call(action["name"], action["args"]), style="bold"))
        where = action.get("resource") or {}
        grid.add_row(
            "target",
            f"{where.get('type', '?')} {where.get('id', '?')} "
            f"in {action.get('environment') or '?'}",
        )
        if a is not None:
            head = Text.assemble(
                level_text(a["level"]), f"  score {a['score']}/100  ", outcome_text(a["outcome"])
            )
            grid.add_row("risk", head)
            for r in a["reasons"]:
                pts = f"+{r['points']:<3}" if r["points"] else "    "
                grid.add_row("", Text(f"{pts} {r['text']}  [{r['rule']}]"))
        need = action.get("required_approval")
        if need:
            grid.add_row("approval", f"{need['count']} of: {', '.join(need['roles'])}")
        grid.add_row("outcome", Text(action.get("expected_outcome", "-"), style="magenta"))
        grid.add_row("digest", action.get("digest", "-"))
    return Panel(grid, title="[bold]Pending review[/]", border_style="yellow")


_DEMO_ORDER = ("oncall-demo", "sre-lead-demo", "admin-demo")  # junior first
_ADVICE = "Never delete production volumes. Snapshot it, then fix the staging credential."


def _next_steps(review: ReviewDetail, db: str, who: str | None) -> None:
    extra = "" if db == DEFAULT_DATABASE_URL else f" --db {shlex.quote(db)}"
    names = {a["name"] for a in review.request["action_requests"]}
    if parse_database_url(db).dialect != "sqlite":  # no demo accounts here: a real reviewer
        # Deciding is the reviewer side's: its own URL, never the one this run used (the
        # agent side's, whose password is not printed either).
        extra = ' --db "$REVIEWER_URL"'
        advice = shlex.quote(_ADVICE if "delete_volume" in names else "Not now.")
        console.print(
            "[bold]Next[/], as a reviewer of this database (`interlock reviewers add`), with "
            "the reviewer side's URL as REVIEWER_URL (`interlock db roles --print-urls`):"
        )
        line = f"interlock decide {review.summary.id} --as NAME --reject {advice}{extra}"
        console.print(f"  {escape(line)}")
        console.print(f"  (or list what waits with: interlock pending{extra})")
        return
    lines = [f"interlock demo --decide approve{extra}"]
    if "delete_volume" in names:
        lines.insert(0, f"interlock demo --decide reject --message {shlex.quote(_ADVICE)}{extra}")
        lines.append(
            f'interlock demo --decide edit --args \'{{"volume_id": "vol-staging-db"}}\'{extra}'
        )
    else:
        lines.append(f"interlock demo --decide reject --message {shlex.quote('Not now.')}{extra}")
    if who:
        advice = shlex.quote(_ADVICE if "delete_volume" in names else "Not now.")
        lines.append(
            f"INTERLOCK_REVIEWER_PASSWORD={DEMO_PASSWORD} interlock decide {review.summary.id} "
            f"--as {who} --reject {advice}{extra}"
        )
    console.print("[bold]Next[/], from any terminal (a new process resumes the same thread):")
    for line in lines:
        console.print(f"  {escape(line)}")
    console.print(f"  (or list what waits with: interlock pending{extra})")


def _summary(infra: Infra, final: str | None) -> None:
    state = infra.read()
    if final:
        console.print(Text(f"agent: {final}", style="italic"))
    vols = ", ".join(sorted(state["volumes"])) or "none"
    console.print(f"[bold]infrastructure[/]  volumes: {vols}")
    backups = infra.backups_of("vol-prod-db")
    console.print(
        f"  vol-prod-db backups: {len(backups)} "
        f"({sum(b['stored_on'] == 'offsite' for b in backups)} offsite)"
    )
    console.print(f"  api-staging: {state['services']['api-staging']['status']}")
    ran = [f"{e['op']}({e['target']})" for e in state["events"]]
    console.print(f"  changes made: {', '.join(ran) or 'none'}")


def _demo_reviewers(rt: Runtime, db: str) -> Reviewers | None:
    """The reviewers `demo --decide` acts as: the configured file on SQLite, where the demo
    accounts are added. None on any other database: there are no demo accounts there."""
    if parse_database_url(db).dialect != "sqlite" or not isinstance(rt.reviewers, Reviewers):
        return None
    made = ensure_demo_reviewers(rt.reviewers.path, db)
    if made:
        names = ", ".join(r.name for r in made)
        console.print(
            f"[dim]demo reviewers added to {rt.reviewers.path}: {names} "
            f"(password: {DEMO_PASSWORD})[/]"
        )
    rt.reviewers = Reviewers.load(rt.reviewers.path)
    return rt.reviewers


def _refuse_elsewhere(db: str) -> None:
    """`demo --decide` only on the embedded SQLite mode: one line, before anything opens."""
    if parse_database_url(db).dialect == "sqlite":
        return
    msg = (
        f"`interlock demo --decide` works only on the demo's own embedded SQLite database; "
        f"{redact_url(db)} is not one. Decide as a reviewer of that database: `interlock "
        "pending --db URL`, then `interlock decide REVIEW --as NAME --db URL`."
    )
    raise ConfigError(msg)


def _demo_thread(rt: Runtime, thread: str) -> None:
    """Refuse a thread the demo did not start: the demo accounts act on demo threads only."""
    with rt.db.connection() as conn:
        row = conn.one("SELECT options FROM interlock_threads WHERE thread_id = ?", (thread,))
    if row is None or json.loads(row["options"] or "{}").get("demo") is not True:
        msg = (
            f"thread {thread} was not started by `interlock demo`, so the demo accounts may "
            "not decide it; use `interlock decide REVIEW --as NAME`."
        )
        raise AuthorizationError(msg)


def _acting(rt: Runtime, book: Reviewers | None, review: ReviewDetail) -> Reviewer | None:
    """The most junior demo reviewer who may decide `review`."""
    if book is None:
        return None
    for name in _DEMO_ORDER:
        if name in book:
            who = book.authenticate(name, DEMO_PASSWORD)
            if rt.inbox.can_decide(review.summary, who):
                return who
    return None


def _waiting(rt: Runtime, thread: str) -> ReviewDetail | None:
    found = [s for s in rt.inbox.pending(thread_id=thread, sort="age") if s.kind == "review"]
    return rt.inbox.get(found[0].id) if found else None


def run_demo(
    *,
    db: str | None = None,
    decide: str | None = None,
    message: str | None = None,
    args: str | None = None,
    role: str | None = None,
    thread: str | None = None,
) -> None:
    db = db or os.environ.get("INTERLOCK_DATABASE_URL") or DEFAULT_DATABASE_URL
    check_flags(decide, message, args, role)
    if decide is not None:
        _refuse_elsewhere(db)
    session_file, infra_file = demo_paths(db)
    options: dict[str, Any] = {"infra": str(infra_file.resolve()), "demo": True}
    embedded = parse_database_url(db).dialect == "sqlite"
    path = Settings.from_env().reviewers if embedded else None
    lines = demo_notify(session_file.parent)  # the outbox, shown without a server
    with Runtime.open(db, reviewers_path=path) as rt:
        book = _demo_reviewers(rt, db)
        gate = rt.graph("ops_agent", options).gate
        printer = _Printer(gate)
        policy = gate.policy
        console.rule(f"[bold]Interlock demo[/] · PocketOS · policy {policy.name} {policy.version}")
        console.print(f"[dim]database {redact_url(db)}[/]")  # never its password
        if decide is None:
            thread = thread or f"demo-{uuid.uuid4().hex[:8]}"
            Infra(infra_file).reset()
            session_file.parent.mkdir(parents=True, exist_ok=True)
            session_file.write_text(
                json.dumps({"thread_id": thread, "db": redact_url(db)}), encoding="utf-8"
            )
            console.print(Text(f"user: {SCENARIO_REQUEST}", style="bold cyan"))
            run = rt.run(
                "ops_agent",
                SCENARIO_REQUEST,
                thread_id=thread,
                options=options,
                requester=getpass.getuser(),
                on_update=printer.update,
            )
            final = run.final_message
        else:
            if thread is None:
                if not session_file.exists():
                    msg = f"No demo thread found for {redact_url(db)}; run `interlock demo` first."
                    raise NotFoundError(msg)
                thread = json.loads(session_file.read_text(encoding="utf-8"))["thread_id"]
            _demo_thread(rt, thread)
            review = _waiting(rt, thread)
            if review is None:
                msg = f"Thread {thread} has no pending review; run `interlock demo` to start over."
                raise NotFoundError(msg)
            answer = decision_of(decide, message, args, role, review)
            who = _acting(rt, book, review)
            if who is None:
                msg = (
                    f"no demo reviewer may decide review {review.summary.id}; decide it with "
                    "`interlock decide REVIEW --as NAME`."
                )
                raise ConfigError(msg)
            head = f"[bold]decision[/] {decide} on review {review.summary.id} by {who.name}"
            said: list[bool] = []

            def update(node: str, value: Any) -> None:
                # Said once the decision is recorded and the thread moves: a refused
                # decision prints only its one-line error.
                if not said:
                    console.print(f"{head} → recorded; the thread resumes")
                    said.append(True)
                printer.update(node, value)

            out = rt.decisions.decide_all(review.summary.id, answer, reviewer=who, on_update=update)
            if not said:
                console.print(f"{head} → {out.status}")
            for note in out.notes:
                console.print(Text(f"note: {note}", style="yellow"))
            final = out.final_message
        show_notifications(rt, lines)
        waiting = _waiting(rt, thread)
        if waiting is not None:
            console.print(_review_panel(waiting))
            nxt = _acting(rt, book, waiting)
            _next_steps(
                waiting,
                db,
                nxt.name if nxt and parse_database_url(db).dialect == "sqlite" else None,
            )
        else:
            console.print("[bold green]The thread finished.[/]")
            _summary(Infra(infra_file), final)
