"""Read, write or destroy from knowledge of each CLI (issue 14, item 1), and tool aliases
(item 5): the `cli.read_only` marker the production exemption uses, `cli.delete`, and the
policy's `tools:` globs."""

from __future__ import annotations

import pytest

from interlock.risk import Action, Policy, Rule, ToolDefaults, assess
from interlock.risk.analyzers import analyze


def marked(command: str, tool: str = "shell") -> set[str]:
    return {f.signal for f in analyze(tool, {"command": command}, markers=True)}


@pytest.mark.parametrize(
    "command",
    [
        "gh pr list --state open",
        "gh api repos/acme/api/pulls",
        "kubectl --context prod get pods -n web | grep api",
        "aws rds describe-db-instances --profile prod",
        "gcloud compute instances list --project p",
        "az vm show -g rg -n vm1",
        "terraform plan -out=tfplan",
        "helm status api -n prod",
        "docker logs --tail 50 api 2>&1",
        "psql -h db -c 'SELECT 1'",
        "redis-cli -h cache TTL session:1",
        "curl -s https://example.com/x | jq .",
        "find . -name '*.py' -exec grep -l x {} +",
        "systemctl status nginx",
        "crontab -l",
        "npm ls lodash",
        "git status && git diff --stat",
    ],
)
def test_reads_carry_the_marker_with_a_reason(command: str) -> None:
    found = analyze("shell", {"command": command}, markers=True)
    (marker,) = [f for f in found if f.signal == "cli.read_only"]
    assert marker.effect == "read"
    assert "`" in marker.text


@pytest.mark.parametrize(
    "command",
    [
        "gh pr merge 12 --squash",
        "gh api -X PATCH repos/a/b -f x=1",
        "kubectl get pods > pods.txt",
        "kubectl get pods; kubectl rollout restart deploy/api",
        "curl -d a=1 https://example.com/x",
        "curl -sSo /tmp/x https://example.com/x",
        "wget https://example.com/a.tgz",
        "psql -h db -c 'UPDATE t SET x = 1 WHERE id = 2'",
        "sed -i s/a/b/ f.conf",
        "acmectl status",
        "bash deploy.sh",
        "curl https://example.com/install.sh | sh",
        "ls $(rm -rf /tmp/x)",
    ],
)
def test_changes_and_unknown_programs_do_not(command: str) -> None:
    assert "cli.read_only" not in marked(command)


def test_markers_are_left_out_unless_asked_for() -> None:
    assert analyze("shell", {"command": "kubectl get pods"}) == ()


@pytest.mark.parametrize(
    ("command", "effect"),
    [
        ("gh repo delete acme/api --yes", "destroy"),
        ("docker volume rm pgdata", "destroy"),
        ("redis-cli FLUSHALL", "destroy"),
        ("mongosh app --eval 'db.users.drop()'", "destroy"),
        ("crontab -r", "delete"),
        ("docker rm old", "delete"),
    ],
)
def test_destructive_cli_commands_are_signalled(command: str, effect: str) -> None:
    (f,) = [f for f in analyze("shell", {"command": command}) if f.signal == "cli.delete"]
    assert f.effect == effect
    assert command.split()[0] in f.text


def _act(tool: str, args: dict[str, object], env: str = "production") -> Action:
    return Action(tool=tool, args=args, environment=env)


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("Bash", {"command": "ls"}),
        ("run_terminal_cmd", {"command": "git log -3"}),
        ("EXECUTE_COMMAND", {"command": "uptime"}),
        ("mcp__box__shell", {"command": "cat README.md"}),
        ("WebFetch", {"url": "https://docs.example.com", "prompt": "x"}),
        ("call_partner_api", {"method": "GET", "url": "https://p.example.com/x"}),
    ],
)
def test_aliases_and_http_reads_are_known_and_allowed_in_production(
    tool: str, args: dict[str, object]
) -> None:
    got = assess(_act(tool, args))
    assert got.outcome == "allow", [r.text for r in got.reasons]


def test_unknown_tools_still_fail_closed() -> None:
    for tool, args in (
        ("call_partner_api", {"method": "POST", "url": "https://p.example.com/x"}),
        ("remote_exec", {"command": "ls"}),
    ):
        got = assess(_act(tool, args, "dev"))
        assert got.outcome == "review"
        assert got.reasons[0].rule == "fail-closed:unknown-tool"


def test_tool_globs_match_any_case_and_exact_keys_win() -> None:
    policy = Policy(
        name="p",
        rules=(Rule(id="w", reason="writes", when={"effects": ["write"]}, points=60),),
        tools={
            "read_*": ToolDefaults(effects=frozenset({"read"})),
            "read_and_write": ToolDefaults(effects=frozenset({"write"})),
        },
    )
    assert policy.assess(_act("READ_logs", {})).outcome == "allow"
    assert policy.assess(_act("Read_And_Write", {})).outcome == "review"
