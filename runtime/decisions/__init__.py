"""interlock.runtime.decisions: the decision service, the only writer of decisions.

It authenticates nothing itself (the caller passes the reviewer), authorises, checks the
review is still current, commits decision, approval and audit row together, re-assesses
edits, expires and escalates on a timer, and resumes the thread it decided.
"""

from interlock.runtime.audit.log import SYSTEM_ACTOR
from interlock.runtime.decisions._edit_scope import edit_scope
from interlock.runtime.decisions.service import DecisionOutcome, DecisionService

__all__ = ["SYSTEM_ACTOR", "DecisionOutcome", "DecisionService", "edit_scope"]
