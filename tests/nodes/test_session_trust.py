"""Which tool results the gate records as untrusted content: the ToolSpec, or the policy's
`tools:` entry found the way the engine finds it (exact key, any case, glob)."""

from __future__ import annotations

from interlock.nodes import Gate, ToolSpec
from interlock.nodes._session import is_untrusted
from interlock.risk import assistant_policy


def test_a_policy_alias_marks_a_tools_results_untrusted() -> None:
    gate = Gate(policy=assistant_policy(), tools={})
    assert is_untrusted(gate, "fetch")
    assert is_untrusted(gate, "WebFetch")  # any case
    assert is_untrusted(gate, "github__fetch")  # the `*__fetch` glob
    assert not is_untrusted(gate, "search_contacts")


def test_a_toolspec_marks_its_results_untrusted() -> None:
    specs = {"read_inbox": ToolSpec(effects=frozenset({"read"}), untrusted=True)}
    gate = Gate(policy=assistant_policy(), tools={}, specs=specs)
    assert is_untrusted(gate, "read_inbox")
