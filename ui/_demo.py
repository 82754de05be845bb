"""`interlock demo`: the PocketOS scenario, run for real on an embedded database.

`interlock demo` starts a fresh thread of the ops agent: the unattended steps print as they
happen, and the run stops at the critical review, which it prints with the next command.
`interlock demo --decide reject --message "..."` (or approve, `edit --args JSON`, respond,
escalate) resumes that thread from its checkpoint in a new process. `--db URL` picks SQLite
(default) or Postgres. Nothing here prompts, so the demo runs in CI as well.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import uuid
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, ToolMessage
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from interlock.graphs import DEFAULT_DATABASE_URL, Infra, open_checkpointer, sqlite_path
from interlock.graphs.ops_agent import (
    SCENARIO_REQUEST,
    OpsAgent,
    build_ops_agent,
    default_infra_path,
)
from interlock.nodes import DECISION_TYPES, PendingReview, pending_reviews, resume_command
from interlock.risk.errors import ConfigError, NotFoundError
from interlock.ui._output import console, level_text, outcome_text

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
    def __init__(self, agent: OpsAgent) -> None:
        self.agent = agent
        self.scope = agent.gate.scope()

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
            v = self.agent.gate.assess_call(call, self.scope)
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


def _review_panel(review: PendingReview, db: str) -> Panel:
    req = review.request
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    grid.add_row("thread", f"{review.thread_id}   (interrupt {review.interrupt_id})")
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


_ADVICE = "Never delete production volumes. Snapshot it, then fix the staging credential."


def _next_steps(review: PendingReview, db: str) -> None:
    extra = "" if db == DEFAULT_DATABASE_URL else f" --db {shlex.quote(db)}"
    names = {a["name"] for a in review.request["action_requests"]}
    lines = [f"interlock demo --decide approve{extra}"]
    if "delete_volume" in names:
        lines.insert(0, f"interlock demo --decide reject --message {shlex.quote(_ADVICE)}{extra}")
        lines.append(
            f'interlock demo --decide edit --args \'{{"volume_id": "vol-staging-db"}}\'{extra}'
        )
    else:
        lines.append(f"interlock demo --decide reject --message {shlex.quote('Not now.')}{extra}")
    console.print("[bold]Next[/], from any terminal (a new process resumes the same thread):")
    for line in lines:
        console.print(f"  {escape(line)}")


def _summary(agent: OpsAgent, final: Any) -> None:
    state = agent.infra.read()
    if isinstance(final, AIMessage) and final.content:
        console.print(Text(f"agent: {final.content}", style="italic"))
    vols = ", ".join(sorted(state["volumes"])) or "none"
    console.print(f"[bold]infrastructure[/]  volumes: {vols}")
    backups = agent.infra.backups_of("vol-prod-db")
    console.print(
        f"  vol-prod-db backups: {len(backups)} "
        f"({sum(b['stored_on'] == 'offsite' for b in backups)} offsite)"
    )
    console.print(f"  api-staging: {state['services']['api-staging']['status']}")
    ran = [f"{e['op']}({e['target']})" for e in state["events"]]
    console.print(f"  changes made: {', '.join(ran) or 'none'}")


def _decision(
    kind: str, message: str | None, args: str | None, role: str | None, review: PendingReview
) -> list[dict[str, Any]]:
    if kind not in DECISION_TYPES:
        msg = f"--decide {kind!r} is not a decision; use one of: {', '.join(DECISION_TYPES)}."
        raise ConfigError(msg)
    out: list[dict[str, Any]] = []
    for action in review.request["action_requests"]:
        d: dict[str, Any] = {"type": kind}
        if message:
            d["message"] = message
        if kind == "respond" and not message:
            d["message"] = "Take the safe path."
        if kind == "escalate":
            d["role"] = role or "admin"
        if kind == "edit":
            try:
                new = json.loads(args or "")
            except json.JSONDecodeError as exc:
                example = '{"volume_id": "vol-staging-db"}'
                msg = f"--args must be a JSON object such as '{example}': {exc}."
                raise ConfigError(msg) from exc
            if not isinstance(new, dict):
                msg = f"--args must be a JSON object, got {args!r}."
                raise ConfigError(msg)
            d["args"] = {**action["args"], **new}  # merged into the proposed arguments
        out.append(d)
    return out


def _stream(agent: OpsAgent, payload: Any, config: Any) -> None:
    printer = _Printer(agent)
    for chunk in agent.graph.stream(payload, config, stream_mode="updates"):
        for node, value in chunk.items():
            if node != "__interrupt__":
                printer.update(node, value)


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
    session_file, infra_file = demo_paths(db)
    with open_checkpointer(db) as saver:
        agent = build_ops_agent(infra=Infra(infra_file), checkpointer=saver)
        policy = agent.gate.policy
        console.rule(f"[bold]Interlock demo[/] · PocketOS · policy {policy.name} {policy.version}")
        console.print(f"[dim]database {db}[/]")
        if decide is None:
            thread = thread or f"demo-{uuid.uuid4().hex[:8]}"
            agent.infra.reset()
            session_file.parent.mkdir(parents=True, exist_ok=True)
            session_file.write_text(json.dumps({"thread_id": thread, "db": db}), encoding="utf-8")
            config: Any = {"configurable": {"thread_id": thread}}
            console.print(Text(f"user: {SCENARIO_REQUEST}", style="bold cyan"))
            _stream(agent, {"messages": [("user", SCENARIO_REQUEST)]}, config)
        else:
            if thread is None:
                if not session_file.exists():
                    msg = f"No demo thread found for {db}; run `interlock demo` first."
                    raise NotFoundError(msg)
                thread = json.loads(session_file.read_text(encoding="utf-8"))["thread_id"]
            config = {"configurable": {"thread_id": thread}}
            pending = pending_reviews(agent.graph, config)
            if not pending:
                msg = f"Thread {thread} has no pending review; run `interlock demo` to start over."
                raise NotFoundError(msg)
            review = pending[0]
            answer = _decision(decide, message, args, role, review)
            command = resume_command(
                review, answer
            )  # validates first: a bad answer changes nothing
            console.print(f"[bold]decision[/] {decide} on thread {thread} → resuming")
            _stream(agent, command, config)
        waiting = pending_reviews(agent.graph, config)
        if waiting:
            console.print(_review_panel(waiting[0], db))
            _next_steps(waiting[0], db)
        else:
            console.print("[bold green]The thread finished.[/]")
            _summary(agent, agent.graph.get_state(config).values["messages"][-1])
