"""The Finding type shared by the argument analyzers, and small helpers they all use."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from interlock.risk._model import Effect

__all__ = ["Finding", "environment_of", "recognised_environment", "snippet", "words"]


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One dangerous operation recognised in a tool call's arguments.

    `signal` is a stable dotted name (see `interlock.risk.analyzers.SIGNALS`); `effect` is the
    effect the operation implies; `text` is one sentence for the reviewer; `environment` is the
    environment the arguments name, normalised to "production", "staging" or "dev" when
    recognisable.
    """

    signal: str
    effect: Effect
    text: str
    environment: str | None = None


# Agent text meets these regexes (Python's `re`, kept for speed): each is linear, with no
# nested or adjacent quantifiers over the same characters; tests/risk/test_bounds.py times
# every analyzer on 64 KiB adversarial text.
# camelCase is split too, so `ProdCluster` names production.
_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
_PRODUCTION = frozenset({"prod", "production", "prd"})
_STAGING = frozenset({"staging", "stage", "stg", "preprod", "preproduction"})
_DEV = frozenset({"dev", "development", "develop", "devel"})
_PREPROD = re.compile(r"pre[-_. ]?prod")


def recognised_environment(name: str) -> str | None:
    """ "production", "staging" or "dev" when `name` says so (as a word), else None.

    Words are runs of letters, so `gke_acme_us-east1_prod-2` and `envs/production.tfvars`
    are recognised while `product-api` is not. Production wins over the others: a name
    that mentions it is treated as the riskier environment.
    """
    return _recognised(name[:200])


@lru_cache(maxsize=512)
def _recognised(name: str) -> str | None:
    if _PREPROD.search(name.lower()):
        return "staging"
    words = {w.lower() for w in _WORDS.findall(name)}
    if words & _PRODUCTION:
        return "production"
    if words & _STAGING:
        return "staging"
    if words & _DEV:
        return "dev"
    return None


def environment_of(raw: str | None, *, explicit: bool) -> str | None:
    """The environment a value names.

    `explicit` values (a kubectl context, an AWS profile, a terraform `env` variable) are
    environments by construction, so an unrecognised one is returned as given; incidental
    values (a namespace, a host name, a file path) only count when recognisable.
    """
    if not raw:
        return None
    found = recognised_environment(raw)
    if found is not None:
        return found
    return raw[:100] if explicit else None


def snippet(words: Iterable[str] | str, limit: int = 100) -> str:
    """A short, single-line quote of a command or statement for the reviewer."""
    text = words if isinstance(words, str) else " ".join(words)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def words(text: str) -> frozenset[str]:
    """A set of words written as one space-separated string (long keyword lists stay short)."""
    return frozenset(text.split())
