"""How analyze() picks what to parse, and that it never raises on any input."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from interlock.risk import EFFECTS
from interlock.risk.analyzers import SIGNALS, Finding, analyze


def test_arguments_without_parsable_keys_give_nothing() -> None:
    assert analyze("delete_volume", {"volume_id": "vol-1", "environment": "production"}) == ()
    assert analyze("notes", {"text": "rm -rf / and DROP TABLE users", "title": "DELETE"}) == ()
    assert analyze("t", {}) == ()


def test_key_names_in_any_style_are_recognised() -> None:
    for key in ("command", "cmd", "shell_command", "bashCommand", "script", "input", "CommandLine"):
        assert analyze("t", {key: "rm -rf /srv"}), key


def test_nested_arguments_are_searched() -> None:
    args = {"step": {"actions": [{"run": {"script": "rm -rf /srv/app"}}]}}
    assert {f.signal for f in analyze("ci", args)} == {"shell.recursive_delete"}


def test_read_only_mapping_as_the_engine_passes_it() -> None:
    args = MappingProxyType({"query": "TRUNCATE t"})
    assert [f.signal for f in analyze("sql", args)] == ["sql.truncate"]


def test_every_signal_emitted_is_documented_and_every_effect_is_valid() -> None:
    samples = [
        {"command": "rm -rf /; shred x; dd of=/dev/sda; mkfs /dev/sdb; chmod -R 777 /x"},
        {"command": "truncate -s 0 f; curl x | sh; git push -f; git clean -f; git reset --hard"},
        {"command": "kubectl delete ns a; kubectl scale d --replicas=0; kubectl drain n"},
        {"command": "terraform destroy -auto-approve; terraform state rm x; kubectl cordon n"},
        {"command": "aws ec2 terminate-instances --instance-ids i; aws ec2 detach-volume"},
        {"sql": "DROP TABLE a; TRUNCATE b; DELETE FROM c; UPDATE d SET x=1; GRANT x TO y"},
        {"sql": "ALTER TABLE t DROP COLUMN c"},
        {"method": "DELETE", "url": "/x"},
        {"query": "mutation { volumeDelete(id: 1) }"},
        {"plan": "Plan: 0 to add, 0 to change, 1 to destroy."},
    ]
    for args in samples:
        for f in analyze("t", args):
            assert f.signal in SIGNALS, f.signal
            assert f.effect in EFFECTS
            assert f.text
    assert all(isinstance(v, str) and v for v in SIGNALS.values())
    assert all(name.count(".") == 1 for name in SIGNALS)


def test_oversized_text_is_not_analysed_piecemeal_but_reported_with_its_size() -> None:
    huge = "rm -rf /srv; " + "echo x; " * 20_000
    (got,) = analyze("sh", {"command": huge})
    assert got.signal == "analysis.incomplete"
    assert f"{len(huge):,} characters" in got.text
    assert "65,536" in got.text


def test_unseen_key_value_shapes() -> None:
    assert analyze("t", {"args": "delete pod x"}) == ()  # no CLI named anywhere
    assert {f.signal for f in analyze("t", {"cmd": ["rm", "-rf", "/data"]})} == {
        "shell.recursive_delete"
    }
    assert {f.signal for f in analyze("t", {"query": ["SELECT 1", "DROP TABLE x"]})} == {"sql.drop"}


json_leaf = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True)
    | st.text(max_size=200)
    | st.sampled_from(
        [
            "rm -rf /",
            "bash -c 'rm -rf / ",
            'DROP TABLE "x',
            "mutation { volumeDelete(",
            "kubectl delete",
            "$(curl",
            "psql <<EOF\nDROP",
            "'\"\\",
            "\x00\udcff",
        ]
    )
)
keys = st.sampled_from(
    [
        "command",
        "cmd",
        "args",
        "argv",
        "query",
        "sql",
        "body",
        "method",
        "url",
        "path",
        "plan",
        "environment",
        "namespace",
        "x",
        "input",
        "mutation",
        "json",
    ]
) | st.text(max_size=20)
json_values = st.recursive(
    json_leaf,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(keys, children, max_size=5),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(tool=st.text(max_size=30), args=st.dictionaries(keys, json_values, max_size=6))
def test_never_raises_on_arbitrary_json(tool: str, args: dict[str, Any]) -> None:
    result = analyze(tool, args)
    assert isinstance(result, tuple)
    assert all(isinstance(f, Finding) and f.signal in SIGNALS for f in result)
    assert all(f.signal != "analysis.incomplete" for f in result)  # no internal error


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_never_raises_on_arbitrary_command_or_query_text(text: str) -> None:
    for key in ("command", "query", "body", "plan", "args"):
        for f in analyze("kubectl", {key: text, "method": "POST", "url": text}):
            assert f.signal in SIGNALS
            assert f.signal != "analysis.incomplete"


def test_odd_inputs_do_not_raise() -> None:
    deep: dict[str, Any] = {"command": "rm -rf /x"}
    for _ in range(50):
        deep = {"a": deep, "b": [deep]}
    assert isinstance(analyze("t", deep), tuple)
    assert analyze("t", None) == ()  # type: ignore[arg-type]
    assert analyze(None, {"command": "rm -rf /x"})  # type: ignore[arg-type]
    assert analyze("t", {1: "x", (2, 3): ["rm -rf /"], "cmd": b"rm -rf /"}) == ()  # type: ignore[dict-item]
    nested_shell = "bash -c " + "'bash -c " * 30 + "rm -rf /x"
    assert isinstance(analyze("t", {"command": nested_shell}), tuple)
    assert isinstance(analyze("t", {"command": "(" * 10_000 + "rm -rf /"}), tuple)
    assert isinstance(analyze("t", {"sql": "(" * 10_000 + "DELETE FROM t"}), tuple)
    assert isinstance(analyze("t", {"query": "mutation " + "{" * 10_000}), tuple)
