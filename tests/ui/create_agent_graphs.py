"""A `create_agent` agent gated by InterlockMiddleware, registered in the durable runtime by
its `module:function` name (`create_agent_graphs:refund_agent`, with this folder on
`PYTHONPATH`), so another process (an `interlock` CLI call, a worker, the console) rebuilds it.

It is built with `interlock.graphs.gated_create_agent_factory`, as a user would build theirs.
The scripted model proposes one refund of 900 on a production order, which the policy holds
for review (`two_refunds_agent`: two refunds in one turn, each held); the refund appends a
line to the thread's `log` option (a file), so a test counts runs across processes.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from langchain_core.tools import BaseTool, tool

from interlock.graphs import ScriptedChatModel, gated_create_agent_factory, say
from interlock.nodes import gated

__all__ = ["AGENT", "BIG", "GRAPH", "SMALL", "TWO", "refund_agent", "runs", "two_refunds_agent"]

AGENT = "support-agent"
GRAPH = "create_agent_graphs:refund_agent"
TWO = "create_agent_graphs:two_refunds_agent"
BIG = {"order_id": "o-2", "amount": 900.0}
SMALL = {"order_id": "o-3", "amount": 700.0}


def _tools(options: Mapping[str, Any]) -> list[BaseTool]:
    log = Path(str(options["log"]))

    @tool
    def refund(order_id: str, amount: float) -> str:
        """Refund an order."""
        with log.open("a") as out:
            out.write(f"{order_id} {amount}\n")
        return f"refunded {amount} on {order_id}"

    return [gated(refund, effects={"spend"}, reversible=False, environment="production")]


refund_agent = gated_create_agent_factory(
    ScriptedChatModel(steps=[say("Refunding as asked.", ("refund", BIG))], final="All done."),
    _tools,
    agent=AGENT,
    system_prompt="You help customers with their orders.",
)

# One turn, two refunds the policy holds: two reviews, one interrupt each, on one thread.
two_refunds_agent = gated_create_agent_factory(
    ScriptedChatModel(
        steps=[say("Refunding both.", ("refund", BIG), ("refund", SMALL))], final="All done."
    ),
    _tools,
    agent=AGENT,
)


def runs(log: Path) -> list[str]:
    """The refunds that ran, one line each, in every process."""
    return log.read_text().splitlines() if log.exists() else []
