"""Labelled corpora: actions with the outcome a platform team expects, and how a policy fares."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from interlock.risk._model import OUTCOMES, Action, Context, Outcome
from interlock.risk._policy import Policy
from interlock.risk._session_types import Earlier, Session, request_values
from interlock.risk.errors import ActionError

__all__ = ["CorpusReport", "LabelledAction", "Miss", "bundled_corpus", "evaluate", "load_corpus"]


@dataclass(frozen=True, kw_only=True)
class LabelledAction:
    """One corpus line: the action, what should happen to it, and why."""

    action: Action
    expected: Outcome
    id: str
    note: str = ""
    line: int = 0
    source: str = ""
    """The corpus file the line is in (its name)."""
    session: Session | None = None
    """What the thread did before, for session-aware rules (None: a fresh thread)."""


@dataclass(frozen=True, kw_only=True)
class Miss:
    item: LabelledAction
    got: Outcome

    @property
    def dangerous(self) -> bool:
        """A human should have looked (or it should never run), but the policy allowed it."""
        return self.got == "allow" and self.item.expected != "allow"


@dataclass(frozen=True, kw_only=True)
class CorpusReport:
    policy_version: str
    total: int
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    """Corpus id -> outcome under the policy."""
    misses: tuple[Miss, ...] = ()

    @property
    def dangerous(self) -> tuple[Miss, ...]:
        return tuple(m for m in self.misses if m.dangerous)

    @property
    def agreed(self) -> int:
        return self.total - len(self.misses)

    @property
    def must_stop(self) -> int:
        """Actions labelled review or deny."""
        return sum(c for (e, _g), c in self.confusion.items() if e != "allow")

    @property
    def must_stop_recall(self) -> float:
        """The share of actions labelled review or deny that the policy gated or denied."""
        stopped = sum(c for (e, g), c in self.confusion.items() if e != "allow" and g != "allow")
        return stopped / self.must_stop if self.must_stop else 1.0

    @property
    def benign_gated(self) -> float:
        """The share of actions labelled allow that the policy sent to review or denied."""
        benign = sum(c for (e, _g), c in self.confusion.items() if e == "allow")
        gated = sum(c for (e, g), c in self.confusion.items() if e == "allow" and g != "allow")
        return gated / benign if benign else 0.0


def bundled_corpus() -> Path:
    """The labelled corpus shipped with the default policy: a folder of JSON Lines files,
    one per class of action (`default.jsonl`, and one per class added since)."""
    return Path(str(resources.files("interlock.risk").joinpath("corpus")))


def load_corpus(path: str | Path | None = None) -> list[LabelledAction]:
    """Read a JSON Lines corpus (`Action` fields plus `expected`, `id`, `note` and, for
    session-aware rules, `session`: the user's `request` and the `earlier` entries): one file,
    or every `*.jsonl` file of a folder, in name order. Ids are unique across the files."""
    where = Path(path) if path is not None else bundled_corpus()
    files = sorted(where.glob("*.jsonl")) if where.is_dir() else [where]
    if not files:
        msg = f"corpus folder {where} holds no .jsonl file; pass a .jsonl file or a folder of them."
        raise ActionError(msg)
    out: list[LabelledAction] = []
    seen: dict[str, str] = {}
    for file in files:
        for item in _load_file(file):
            if item.id in seen:
                msg = (
                    f"{file}:{item.line}: id {item.id!r} is used twice (also in {seen[item.id]}); "
                    "give each labelled action its own id."
                )
                raise ActionError(msg)
            seen[item.id] = file.name
            out.append(item)
    return out


def _load_file(where: Path) -> list[LabelledAction]:
    try:
        lines = where.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        msg = f"cannot read corpus {where}: {exc.strerror}. Pass an existing .jsonl file."
        raise ActionError(msg) from None
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            data: Any = json.loads(line)
            action = Action.from_dict(data)
        except json.JSONDecodeError as exc:
            msg = f"{where}:{n}: not valid JSON ({exc.msg}); each line is one action object."
            raise ActionError(msg) from None
        except (RecursionError, ValueError) as exc:  # nesting or numbers past Python's limits
            why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc).split(":")[0]
            msg = f"{where}:{n}: cannot be read ({why}); write the action with plain, flat values."
            raise ActionError(msg) from None
        except ActionError as exc:
            msg = f"{where}:{n}: {exc}"
            raise ActionError(msg) from None
        expected = data.get("expected")
        if expected not in OUTCOMES:
            msg = f"{where}:{n}: `expected` must be one of {', '.join(OUTCOMES)}, got {expected!r}."
            raise ActionError(msg)
        item_id = str(data.get("id") or f"line-{n}")
        try:
            session = _session(data.get("session"))
        except (TypeError, ValueError) as exc:
            msg = f"{where}:{n}: `session` cannot be read ({exc})."
            raise ActionError(msg) from None
        out.append(
            LabelledAction(
                action=action,
                expected=expected,
                id=item_id,
                note=str(data.get("note", "")),
                line=n,
                source=where.name,
                session=session,
            )
        )
    return out


def _session(raw: Any) -> Session | None:
    """A line's `session`: `request` (the user's words, trusted) and `earlier` (entries as the
    gate records them: tool, effects, signals, outcome, seen, tainted)."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or set(raw) - {"request", "earlier"}:
        msg = "it takes an object with `request` (text) and `earlier` (a list of entries)"
        raise TypeError(msg)
    earlier = raw.get("earlier") or []
    if not isinstance(earlier, list) or not all(isinstance(e, Mapping) for e in earlier):
        msg = "`earlier` must be a list of objects"
        raise TypeError(msg)
    request = raw.get("request") or ""
    return Session(tuple(Earlier.from_dict(e) for e in earlier), request_values(str(request)))


def evaluate(
    policy: Policy, corpus: list[LabelledAction], context: Context | None = None
) -> CorpusReport:
    """Assess every action; misses are ordered dangerous first, then by line."""
    confusion: Counter[tuple[str, str]] = Counter()
    outcomes: dict[str, Outcome] = {}
    misses = []
    base = context or Context()
    for item in corpus:
        ctx = base if item.session is None else dataclasses.replace(base, session=item.session)
        got = policy.assess(item.action, ctx).outcome
        outcomes[item.id] = got
        confusion[(item.expected, got)] += 1
        if got != item.expected:
            misses.append(Miss(item=item, got=got))
    misses.sort(key=lambda m: (not m.dangerous, m.item.line))
    return CorpusReport(
        policy_version=policy.version,
        total=len(corpus),
        confusion=confusion,
        outcomes=outcomes,
        misses=tuple(misses),
    )
