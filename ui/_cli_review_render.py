"""Rich rendering for the review commands: the inbox table, one review in full, an outcome."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from interlock.ui._output import level_text, outcome_text

if TYPE_CHECKING:
    from interlock.runtime import DecisionOutcome, ReviewDetail, ReviewSummary

__all__ = ["ago", "call_text", "detail_view", "outcome_view", "pending_table"]

_RESULTS_SHOWN = 6


def ago(delta: timedelta) -> str:
    """A short human duration: 45s, 12m, 3h, 2d."""
    secs = int(abs(delta.total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= size:
            return f"{secs // size}{unit}"
    return f"{secs}s"


def call_text(name: str, args: Any) -> str:
    if not isinstance(args, dict):
        return f"{name}({json.dumps(args)})"
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in args.items())})"


def _needs(s: ReviewSummary) -> Text:
    roles = (
        " or ".join(s.required_roles) if len(s.required_roles) < 3 else s.required_roles[0] + "+"
    )
    text = Text(roles)
    if s.required_count > 1:
        who = f": {', '.join(s.approvals)}" if s.approvals else ""
        text.append(f"  {len(s.approvals)}/{s.required_count}{who}", style="yellow")
    if s.escalated_to:
        text.append(f"  (escalated to {s.escalated_to})", style="magenta")
    return text


def pending_table(items: list[ReviewSummary], total: int, now: datetime) -> Table:
    table = Table(title=f"Pending reviews ({len(items)} of {total})", title_justify="left")
    table.add_column("review", style="cyan", no_wrap=True)
    table.add_column("level")
    table.add_column("score", justify="right")
    table.add_column("action")
    table.add_column("target")
    table.add_column("env")
    table.add_column("team")
    table.add_column("needs")
    table.add_column("agent / requester")
    table.add_column("age", justify="right")
    table.add_column("expires", justify="right")
    for s in items:
        action = Text(s.tool, style="bold")
        if s.action_count > 1:
            action.append(f" (+{s.action_count - 1})")
        if s.status == "in_doubt":
            action = Text(f"IN DOUBT: {s.tool}", style="bold red")
        expires = "-"
        if s.expires_at is not None:
            left = s.expires_at - now
            expires = f"in {ago(left)}" if left.total_seconds() > 0 else f"{ago(left)} ago"
        table.add_row(
            s.id,
            level_text(s.level),
            str(s.score),
            action,
            s.target or "-",
            s.environment or "-",
            s.team or "-",
            _needs(s),
            f"{s.agent or '-'} / {s.requester or '-'}",
            ago(now - s.created_at),
            expires,
        )
    return table


def _action_panel(i: int, action: dict[str, Any], decisions: list[str]) -> Panel:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    grid.add_row("call", Text(call_text(action.get("name", "?"), action.get("args")), style="bold"))
    res = action.get("resource") or {}
    if res:
        grid.add_row("target", f"{res.get('type', '')} {res.get('id', '')}".strip())
    grid.add_row("environment", str(action.get("environment") or "-"))
    a = action.get("assessment")
    if a:
        grid.add_row(
            "risk",
            Text.assemble(
                level_text(a["level"]), f"  score {a['score']}/100  ", outcome_text(a["outcome"])
            ),
        )
        for r in a.get("reasons") or []:
            pts = f"+{r['points']:<3}" if r.get("points") else "    "
            grid.add_row("", Text(f"{pts} {r['text']}  [{r['rule']}]"))
        grid.add_row("policy", str(a.get("policy_version", "-")))
    need = action.get("required_approval")
    if need:
        grid.add_row("approval", f"{need['count']} of: {', '.join(need['roles'])}")
    grid.add_row("expected", Text(str(action.get("expected_outcome") or "-"), style="magenta"))
    if action.get("digest"):
        grid.add_row("digest", str(action["digest"]))
    for line in decisions:
        grid.add_row("decided", line)
    return Panel(grid, title=f"action {i + 1}", border_style="yellow", title_align="left")


def detail_view(d: ReviewDetail, now: datetime) -> Group:
    s, req = d.summary, d.request
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold", no_wrap=True)
    head.add_column()
    status = Text(s.status, style="bold yellow" if s.status in ("pending", "in_doubt") else "")
    if s.outcome:
        status.append(f"  {s.outcome}")
    head.add_row("review", Text.assemble((s.id, "cyan"), f"  round {s.round}  ", status))
    head.add_row("thread", f"{s.thread_id}  ({s.graph or '?'})")
    head.add_row("agent", f"{s.agent or '-'}   requested by {s.requester or '-'}")
    head.add_row("level", Text.assemble(level_text(s.level), f"  score {s.score}/100"))
    head.add_row("opened", f"{s.created_at.isoformat()} ({ago(now - s.created_at)} ago)")
    if s.expires_at:
        left = s.expires_at - now
        when = Text(s.expires_at.isoformat())
        if left.total_seconds() > 0:
            when.append(f" (in {ago(left)})")
        elif s.status == "pending":
            # Past its expiry and not yet swept: no decision is taken any more.
            when.append(
                f"  EXPIRED {ago(left)} ago: it can no longer be decided; `interlock worker` "
                "applies its expiry outcome (escalate or deny)",
                style="bold red",
            )
        head.add_row("expires", when)
    head.add_row("needs", _needs(s))
    route = req.get("route")
    if s.team:  # who is told; `needs` above says who may decide
        why = f"  ({route['why']})" if route else ""
        head.add_row("team", Text(f"{s.team}{why}"))
    parts: list[Any] = [head]
    if req.get("user_request"):
        parts.append(Panel(Text(str(req["user_request"])), title="request", title_align="left"))
    if req.get("reasoning"):
        parts.append(
            Panel(Text(str(req["reasoning"])), title="agent's reasoning", title_align="left")
        )
    results = list(req.get("tool_results") or [])
    if results:
        table = Table(title="what the agent has seen", title_justify="left", show_header=False)
        table.add_column(style="dim", no_wrap=True)
        table.add_column()
        for r in results[-_RESULTS_SHOWN:]:
            mark = "✓" if r.get("status") != "error" else "✗"
            table.add_row(f"{mark} {r.get('name')}", Text(str(r.get("content", ""))[:300]))
        if len(results) > _RESULTS_SHOWN:
            table.caption = f"{len(results) - _RESULTS_SHOWN} earlier result(s) not shown"
        parts.append(table)
    for note in req.get("notes") or []:
        parts.append(Text(f"note: {note}", style="yellow"))
    for i, action in enumerate(req.get("action_requests") or []):
        lines = [
            f"{x.reviewer}: {x.type}" + ("" if x.settles else " (more approvals needed)")
            for x in d.decisions
            if x.action_index == i
        ]
        parts.append(_action_panel(i, dict(action), lines))
    if d.timeline:
        hist = Table(title="history", title_justify="left", show_header=False)
        hist.add_column(style="dim", no_wrap=True)
        hist.add_column(no_wrap=True)
        hist.add_column()
        for t in d.timeline[-40:]:
            hist.add_row(t.at.astimezone(UTC).strftime("%H:%M:%S"), t.kind, Text(t.text))
        parts.append(hist)
    return Group(*parts)


def outcome_view(o: DecisionOutcome, who: str, what: str) -> Group:
    lines: list[Any] = []
    head = Text.assemble(
        (f"{what}", "bold"), f" by {who} on {o.review_id}: ", (o.status, "bold green")
    )
    if o.status == "waiting":
        head.append(f"  (approvals so far: {', '.join(o.approvals) or 'none'})", style="yellow")
    lines.append(head)
    lines.extend(Text(f"  note: {n}", style="yellow") for n in o.notes)
    lines.extend(Text(f"  {e}") for e in o.events)
    if o.next_review_id:
        lines.append(
            Text.assemble(
                "The thread stopped again: ",
                (f"interlock show {o.next_review_id}", "bold cyan"),
            )
        )
    elif o.status == "queued":
        lines.append(Text("Recorded; a worker (or the process holding the thread) resumes it."))
    elif o.thread_status == "done":
        lines.append(Text("The thread finished.", style="bold green"))
    if o.final_message:
        lines.append(Text(f"agent: {o.final_message}", style="italic"))
    return Group(*lines)
