"""Read, write or destroy: what one command, statement or request does, and why.

The classifiers in `_readonly`, `_rocli`, `_ropkg` and `_rodata` return a `Verdict` for
each command they know; a program they do not know "may write". An action whose every
command, statement and request only reads carries the `cli.read_only` signal, which the
default policy uses to exempt it from production review.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from interlock.risk._model import Effect
from interlock.risk.analyzers._findings import Finding, snippet

__all__ = [
    "CLI_DELETE",
    "HTTP_READ",
    "MARKERS",
    "READ_ONLY",
    "VERDICT_SIGNALS",
    "Kind",
    "Verdict",
    "destroy",
    "read",
    "read_only_finding",
    "worst",
    "write",
]

READ_ONLY = "cli.read_only"
HTTP_READ = "http.read"
CLI_DELETE = "cli.delete"
# Signals that say what is harmless rather than what is dangerous.
MARKERS = frozenset({READ_ONLY, HTTP_READ})

VERDICT_SIGNALS: dict[str, str] = {
    READ_ONLY: (
        "every command, SQL statement and HTTP request in the arguments only reads "
        "(kubectl get, gh pr list, SELECT, GET ...), by what Interlock knows of each program"
    ),
    HTTP_READ: "a GET, HEAD or OPTIONS request given as a method and URL (or through a fetch tool)",
    CLI_DELETE: (
        "a CLI deletes what it names: a GitHub repository or release, containers, images or "
        "volumes, Redis keys, MongoDB collections, every cron job"
    ),
}

Kind = Literal["read", "write", "destroy"]
_RANK = {"read": 0, "write": 1, "destroy": 2}


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a command does (`kind`), in one sentence for a reviewer (`reason`), and the
    findings of destructive operations no other analyzer reports."""

    kind: Kind
    reason: str
    findings: tuple[Finding, ...] = ()


def read(argv: Sequence[str] | str, why: str) -> Verdict:
    return Verdict("read", f"`{snippet(argv, 80)}` {why}")


def write(argv: Sequence[str] | str, why: str) -> Verdict:
    return Verdict("write", f"`{snippet(argv, 80)}` {why}")


def destroy(
    argv: Sequence[str] | str, why: str, effect: Effect = "delete", *, signal: bool = True
) -> Verdict:
    """A destructive command; `signal` adds a `cli.delete` finding (off where another
    analyzer already reports it, such as `kubectl delete`)."""
    text = f"`{snippet(argv, 80)}` {why}"
    found = (Finding(signal=CLI_DELETE, effect=effect, text=text),) if signal else ()
    return Verdict("destroy", text, found)


def worst(verdicts: Iterable[Verdict]) -> Verdict:
    """One verdict for several commands: the worst kind; every finding kept."""
    items = list(verdicts)
    if not items:
        return Verdict("read", "runs nothing")
    top = max(items, key=lambda v: _RANK[v.kind])
    found = tuple(f for v in items for f in v.findings)
    if top.kind == "read":
        reasons = list(dict.fromkeys(v.reason for v in items))
        reason = "; ".join(reasons[:3]) + ("; ..." if len(reasons) > 3 else "")
        return Verdict("read", reason, found)
    return Verdict(top.kind, top.reason, found)


def read_only_finding(reasons: Sequence[str]) -> Finding:
    shown = list(dict.fromkeys(reasons))
    text = "; ".join(shown[:3]) + ("; ..." if len(shown) > 3 else "")
    return Finding(signal=READ_ONLY, effect="read", text=f"Nothing here changes anything: {text}.")
