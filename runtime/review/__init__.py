"""interlock.runtime.review: what reviewers see and who they are.

The review records and the indexed inbox over them (summaries, detail, timeline), the
in-doubt review a crash leaves, the reviewers and their roles, and the stop switches.
"""

from interlock.runtime.review._facts import ActionFacts, action_facts, calls_digest, top_reasons
from interlock.runtime.review._identity import identity_key, same_identity
from interlock.runtime.review._records import qualifies
from interlock.runtime.review._reviewer_table import DatabaseReviewers, ReviewerBook
from interlock.runtime.review.inbox import (
    DecisionRow,
    Inbox,
    InboxFilters,
    ReconcileResult,
    ReviewDetail,
    ReviewSummary,
    TimelineEntry,
)
from interlock.runtime.review.policy_pin import PinnedPolicy, PolicyPin, resolve_policy
from interlock.runtime.review.principal import Authenticator, Principal, vouched
from interlock.runtime.review.reviewers import (
    DEMO_PASSWORD,
    DEMO_REVIEWERS,
    MIN_PASSWORD_LENGTH,
    Reviewer,
    Reviewers,
    ensure_demo_reviewers,
    hash_password,
    verify_password,
)
from interlock.runtime.review.stops import ADMIN_ROLE, SCOPES, Stop, StopSwitch

__all__ = [
    "ADMIN_ROLE",
    "DEMO_PASSWORD",
    "DEMO_REVIEWERS",
    "MIN_PASSWORD_LENGTH",
    "SCOPES",
    "ActionFacts",
    "Authenticator",
    "DatabaseReviewers",
    "DecisionRow",
    "Inbox",
    "InboxFilters",
    "PinnedPolicy",
    "PolicyPin",
    "Principal",
    "ReconcileResult",
    "ReviewDetail",
    "ReviewSummary",
    "Reviewer",
    "ReviewerBook",
    "Reviewers",
    "Stop",
    "StopSwitch",
    "TimelineEntry",
    "action_facts",
    "calls_digest",
    "ensure_demo_reviewers",
    "hash_password",
    "identity_key",
    "qualifies",
    "resolve_policy",
    "same_identity",
    "top_reasons",
    "verify_password",
    "vouched",
]
