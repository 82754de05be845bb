"""Reference graphs: the PocketOS ops agent, `create_gated_agent` for any model and tools, and
`gated_create_agent_factory` for a LangChain `create_agent` agent in the durable runtime."""

from interlock.graphs._agent import build_gated_graph, create_gated_agent, make_model_node
from interlock.graphs._create_agent import GatedCreateAgent, gated_create_agent_factory
from interlock.graphs._infra import Infra, InfraError, seed_state
from interlock.graphs._ops_tools import DEFAULT_TOKEN, make_ops_tools
from interlock.graphs._planner import OpsPlanner, ScriptedChatModel, resolve_chat_model, say
from interlock.graphs._savers import DEFAULT_DATABASE_URL, open_checkpointer, sqlite_path
from interlock.graphs._scripted_ops import ScriptedOps, scripted_ops_agent

__all__ = [
    "DEFAULT_DATABASE_URL",
    "DEFAULT_TOKEN",
    "GatedCreateAgent",
    "Infra",
    "InfraError",
    "OpsPlanner",
    "ScriptedChatModel",
    "ScriptedOps",
    "build_gated_graph",
    "create_gated_agent",
    "gated_create_agent_factory",
    "make_model_node",
    "make_ops_tools",
    "open_checkpointer",
    "resolve_chat_model",
    "say",
    "scripted_ops_agent",
    "seed_state",
    "sqlite_path",
]
