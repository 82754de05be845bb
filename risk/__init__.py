"""The risk policy engine. Nothing here imports LangGraph or another interlock package.

Policies are validated `Policy` objects, each compiled once into the engine's form; the
argument analyzers live in `interlock.risk.analyzers`. Policy patterns (`regex:`, globs) run on
RE2 (`google-re2`), so no pattern can make an agent's arguments stall the gate.
"""

from interlock.risk._conditions import Freeze
from interlock.risk._corpus import (
    CorpusReport,
    LabelledAction,
    Miss,
    bundled_corpus,
    evaluate,
    load_corpus,
)
from interlock.risk._model import (
    EFFECTS,
    LEVELS,
    OUTCOMES,
    Action,
    ApprovalRequirement,
    Assessment,
    Context,
    Credential,
    Effect,
    Level,
    Outcome,
    Reason,
    Resource,
    canonical_json,
    content_hash,
    utcnow,
)
from interlock.risk._policy import (
    ApprovalSpec,
    Policy,
    Rule,
    ToolDefaults,
    assess,
    default_policy,
    load_policy,
)
from interlock.risk.analyzers import SIGNALS, Finding, analyze
from interlock.risk.errors import (
    ActionError,
    AuthorizationError,
    ConfigError,
    ConflictError,
    DecisionError,
    ExecutionRefused,
    InterlockError,
    NotFoundError,
    PolicyError,
    StopsChanged,
)

__all__ = [
    "EFFECTS",
    "LEVELS",
    "OUTCOMES",
    "SIGNALS",
    "Action",
    "ActionError",
    "ApprovalRequirement",
    "ApprovalSpec",
    "Assessment",
    "AuthorizationError",
    "ConfigError",
    "ConflictError",
    "Context",
    "CorpusReport",
    "Credential",
    "DecisionError",
    "Effect",
    "ExecutionRefused",
    "Finding",
    "Freeze",
    "InterlockError",
    "LabelledAction",
    "Level",
    "Miss",
    "NotFoundError",
    "Outcome",
    "Policy",
    "PolicyError",
    "Reason",
    "Resource",
    "Rule",
    "StopsChanged",
    "ToolDefaults",
    "analyze",
    "assess",
    "bundled_corpus",
    "canonical_json",
    "content_hash",
    "default_policy",
    "evaluate",
    "load_corpus",
    "load_policy",
    "utcnow",
]
