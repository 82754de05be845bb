"""The README's shell commands, as `tests/test_readme_commands.py` sees them: how they are
extracted, and the table saying how each one is checked (RUN_HERE: run in a clean copy, with
what the output must show; COVERED_BY: the test that runs it). A new README command goes in
one of the two tables; see that test module's docstring for how they are run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "COMMANDS",
    "COVERED_BY",
    "PG_URL",
    "README",
    "REVIEW_ID",
    "ROOT",
    "RUN_HERE",
    "Command",
    "CoveredBy",
    "RunHere",
    "extract",
    "matches",
]

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SHELLS = ("bash", "sh", "shell", "console")
REVIEW_ID = re.compile(r"\brv-[0-9a-f]{12}\b")
PG_URL = re.compile(r"postgresql://\S+")


# -- extraction --------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    block: int
    """Index of the shell block in the README (0 = the first one)."""
    line: int
    """README line number (1-based) where the command starts."""
    text: str
    """The command as a reader types it."""


def _strip_comment(line: str) -> str:
    """Drop a `# comment` that is not inside quotes (a `#` must start a word to count)."""
    quote: str | None = None
    escaped = False
    for i, ch in enumerate(line):
        if escaped:
            escaped = False
        elif ch == "\\" and quote != "'":
            escaped = True
        elif quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def extract(markdown: str) -> list[Command]:
    """The shell commands of `markdown`'s bash/sh/shell/console blocks, in order."""
    out: list[Command] = []
    block = -1
    lang: str | None = None
    pending: tuple[int, str] | None = None
    for number, raw in enumerate(markdown.splitlines(), start=1):
        fence = re.match(r"^\s*```\s*([\w-]*)", raw)
        if fence:
            if lang is None:
                lang = fence.group(1).lower() or "-"
                if lang in SHELLS:
                    block += 1
            else:
                lang, pending = None, None
            continue
        if lang not in SHELLS:
            continue
        line = raw.strip()
        if pending is None:
            if lang == "console":
                if not line.startswith("$ "):
                    continue
                line = line[2:]
            start, text = number, ""
        else:
            start, text = pending
        line = _strip_comment(line)
        if line.endswith("\\"):
            pending = (start, text + line[:-1].rstrip() + " ")
            continue
        pending = None
        text = (text + line).strip()
        if text:
            out.append(Command(block=block, line=start, text=text))
    return out


COMMANDS = extract(README.read_text(encoding="utf-8"))


# -- classification ----------------------------------------------------------------------


@dataclass(frozen=True)
class RunHere:
    pattern: str
    """Regular expression the whole command must match."""
    expect: tuple[str, ...] = ()
    """What a user would notice: each must appear in the output (stdout and stderr)."""
    exit_code: int = 0
    files: tuple[str, ...] = ()
    """Files (relative to the copy) the command must leave behind, not empty."""


@dataclass(frozen=True)
class CoveredBy:
    pattern: str
    test: str
    """`path::test_function` (or a path) of the test that runs the command."""
    evidence: tuple[str, str]
    """(file, text): that file must contain the text, i.e. really run the command."""


REJECT = r'"[^"]+"'
RUN_HERE: tuple[RunHere, ...] = (
    RunHere(
        r"make demo",
        ("delete_volume", "critical", "Pending review", "sqlite:///./.interlock/interlock.db"),
        files=(".interlock/interlock.db", ".venv/bin/interlock"),
    ),
    RunHere(r"make install", files=(".venv/bin/interlock",)),
    RunHere(r"make install-postgres", files=(".venv/bin/interlock",)),
    RunHere(r"export INTERLOCK_[A-Z_]+=\S+"),
    RunHere(r"source \.venv/bin/activate"),
    RunHere(r"interlock demo", ("delete_volume", "critical", "Pending review")),
    RunHere(r"interlock pending", ("rv-", "delete_volume", "critical", "sre-lead")),
    RunHere(r"interlock show rv-\w+", ("delete_volume", "vol-prod-db", "critical", "backups")),
    RunHere(
        r"interlock decide rv-\w+ --as oncall-demo --approve",
        ("oncall-demo may not decide", "sre-lead"),
        exit_code=2,
    ),
    RunHere(
        rf"interlock decide rv-\w+ --as sre-lead-demo --reject {REJECT}",
        ("reject by sre-lead-demo", "resumed", "REJECTED by a human reviewer"),
    ),
    RunHere(
        rf"interlock decide rv-\w+ --as sre-lead-demo --reject {REJECT} --no-resume",
        ("reject by sre-lead-demo", "queued"),
    ),
    RunHere(r"interlock worker --once", ("1 resumed", "0 failed")),
    RunHere(
        r"interlock prune --older-than 30d --dry-run",
        ("would remove", "The audit log and Interlock's tables are never pruned"),
    ),
    RunHere(r"interlock audit verify", ("audit log intact",)),
    RunHere(
        r"interlock audit export --format csv --out audit\.csv",
        ("exported",),
        files=("audit.csv",),
    ),
    RunHere(
        r"interlock audit export --since 2026-01-01 --out audit\.jsonl",
        ("exported",),
        files=("audit.jsonl",),
    ),
    RunHere(r"interlock reviewers list", ("oncall-demo", "sre-lead-demo", "admin-demo")),
    RunHere(r"interlock policy check", ("valid policy", "interlock-default")),
    RunHere(
        r"interlock policy check risk/policies/default\.yaml", ("valid policy", "interlock-default")
    ),
    RunHere(r"interlock policy explain --action '\{.*\}'", ("review", "high", "prod-destructive")),
    RunHere(r"interlock policy test", ("0 dangerous miss",)),
    RunHere(
        r"interlock policy test risk/policies/assistant\.yaml --corpus risk/corpus/assistant",
        ("0 dangerous miss", "Must-stop recall 100.0%"),
    ),
    RunHere(
        rf"interlock stop --environment production --as admin-demo --reason {REJECT}",
        ("stopped environment production",),
    ),
    RunHere(r"interlock stops", ("environment production: stopped by admin-demo",)),
    RunHere(
        r"interlock resume-scope --environment production --as admin-demo",
        ("resumed environment production",),
    ),
    RunHere(r"interlock db upgrade", ("schema version",)),
    RunHere(
        r"interlock notify check",
        ("docs/notify.example.toml: ok", "routes to dba, oncall, sre: all defined"),
    ),
    RunHere(
        r"interlock notify test --channel terminal",
        ("[interlock notify] Test notification", "sent a test notification through terminal"),
    ),
    RunHere(
        r"interlock metrics \| grep interlock_reviews_pending",
        ("# TYPE interlock_reviews_pending gauge",),
    ),
    RunHere(r"export AGENT_DB_PASSWORD=\S+ REVIEWER_DB_PASSWORD=\S+"),
    RunHere(
        r"interlock db roles --agent-password-env AGENT_DB_PASSWORD "
        r"--reviewer-password-env REVIEWER_DB_PASSWORD",
        (
            "interlock_agent (agent side)",
            "interlock_reviewer (reviewer side)",
            "interlock_agent:***@",
        ),
    ),
    RunHere(r'eval "\$\(interlock db roles --print-urls .*\)"'),
    RunHere(
        r'echo "\S+" \| interlock reviewers add sam --role sre-lead --password-stdin '
        r'--db "\$INTERLOCK_REVIEWER_DATABASE_URL"',
        ("added reviewer sam (roles: sre-lead) in the table interlock_reviewers",),
    ),
    RunHere(
        r'interlock reviewers list --db "\$INTERLOCK_REVIEWER_DATABASE_URL"', ("sam", "sre-lead")
    ),
    RunHere(
        r'echo "\S+" \| interlock reviewers add eve --role admin --password-stdin '
        r'--db "\$INTERLOCK_AGENT_DATABASE_URL"',
        ("permission denied for table interlock_reviewers",),
        exit_code=2,
    ),
    RunHere(
        r'echo "\S+" \| interlock reviewers add ada --role admin --password-stdin '
        r'--db "\$INTERLOCK_REVIEWER_DATABASE_URL"',
        ("added reviewer ada (roles: admin) in the table interlock_reviewers",),
    ),
    RunHere(
        r'echo "\S+" \| interlock policy publish --as ada --password-stdin '
        r'--db "\$INTERLOCK_REVIEWER_DATABASE_URL"',
        ("pinned policy interlock-default",),
    ),
    RunHere(
        r'interlock policy pinned --db "\$INTERLOCK_AGENT_DATABASE_URL"',
        ("pinned: interlock-default", "published by ada"),
    ),
    RunHere(r"interlock db status", ("up to date",)),
    RunHere(
        r"interlock key create --key \./keys/signing\.key --public-dir \./keys/public",
        ("created signing key", "BEGIN PUBLIC KEY"),
        files=("keys/signing.key",),
    ),
    RunHere(
        r"interlock key show --key \./keys/signing\.key --public-dir \./keys/public",
        ("signing key", "trusted public keys in keys/public"),
    ),
    RunHere(
        r"interlock key rotate --key \./keys/signing\.key --public-dir \./keys/public",
        ("rotated: new signing key", "stays"),
    ),
)

COVERED_BY: tuple[CoveredBy, ...] = (
    CoveredBy(r"make test", ".ci/run", (".ci/run", "make test")),
    CoveredBy(
        r"interlock notify status( --json)?",
        "tests/runtime/notify/test_outbox.py"
        "::test_a_channel_that_is_down_is_retried_with_backoff_then_failed_audited_and_kept",
        ("tests/runtime/notify/test_outbox.py", '"notify", "status"'),
    ),
    CoveredBy(
        r"interlock notify retry --channel [\w-]+",
        "tests/runtime/notify/test_outbox.py"
        "::test_notify_retry_sends_failed_messages_again_once_the_channel_is_back",
        ("tests/runtime/notify/test_outbox.py", '"notify", "retry"'),
    ),
    CoveredBy(
        r"interlock worker --metrics-port \d+ --log-json",
        "tests/runtime/test_metrics.py"
        "::test_a_worker_process_serves_the_same_numbers_and_logs_json_events",
        ("tests/runtime/test_metrics.py", '"--metrics-port", str(port), "--log-json"'),
    ),
    CoveredBy(
        r"interlock console --metrics-port \d+",
        "tests/ui/test_console_metrics.py"
        "::test_the_console_serves_database_numbers_and_logs_decisions_as_json",
        ("tests/ui/test_console_metrics.py", '"--metrics-port", str(metrics_port)'),
    ),
    CoveredBy(
        r"make console",
        "tests/ui/test_console_browser.py",
        ("tests/ui/test_console_browser.py", '"console"'),
    ),
    CoveredBy(
        r"interlock console --port \d+ --headless",
        "tests/ui/test_console_browser.py",
        ("tests/ui/test_console_browser.py", '"--headless"'),
    ),
    CoveredBy(
        r"make bench",
        "tests/test_bench_harness.py::test_quick_risk_bench_prints_table_and_writes_json",
        ("tests/test_bench_harness.py", '"-m", "bench"'),
    ),
    CoveredBy(
        r"make torture",
        "tests/runtime/test_crash.py::test_sigkill_at_random_points_never_duplicates_or_loses_anything",
        ("Makefile", "INTERLOCK_CRASH_RUNS=500"),
    ),
    CoveredBy(
        r"interlock worker",
        "tests/runtime/test_worker.py",
        ("tests/runtime/test_worker.py", '"worker"'),
    ),
    CoveredBy(
        r"langgraph dev --config langgraph\.json --port \d+ --no-browser",
        "tests/runtime/test_langgraph_server.py",
        ("tests/runtime/conftest.py", '"dev", "--config"'),
    ),
    CoveredBy(
        r"INTERLOCK_LANGGRAPH_URL=http://127\.0\.0\.1:\d+ interlock pending",
        "tests/runtime/test_langgraph_server_clients.py"
        "::test_the_pocketos_scenario_on_the_server_decided_through_the_cli",
        ("tests/runtime/test_langgraph_server_clients.py", '"pending"'),
    ),
)


def matches(cmd: Command) -> list[RunHere | CoveredBy]:
    return [c for c in (*RUN_HERE, *COVERED_BY) if re.fullmatch(c.pattern, cmd.text)]
