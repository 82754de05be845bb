"""The notify file: the documented example loads, and each mistake is one line naming
file:line and the fix."""

# ruff: noqa: E501  (each expected message is kept whole, as a user reads it)

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from interlock.risk.errors import ConfigError
from interlock.runtime.notify import (
    EmailChannelConfig,
    FileChannelConfig,
    NotifyConfigError,
    OutboxOptions,
    SlackChannelConfig,
    TerminalChannelConfig,
    WebhookChannelConfig,
    load_notify_config,
    notify_config_from_env,
    outbox_options,
    parse_duration,
    parse_notify_config,
)

EXAMPLE = Path(__file__).resolve().parents[3] / "docs" / "notify.example.toml"

GOOD = """\
console_url = "https://interlock.example.com/"
default_team = "ops"

[reminders]
before_expiry = ["5m", "15m"]

[teams.ops]
members = ["Alice", "bob"]
channels = ["hook"]

[teams.db]
members = ["alice"]
channels = ["mail", "hook"]

[channels.hook]
kind = "webhook"
url_env = "HOOK_URL"
secret_env = "HOOK_SECRET"
timeout = "2s"

[channels.mail]
kind = "email"
host = "127.0.0.1"
port = 2525
tls = "none"
sender = "interlock@example.com"
to = ["db@example.com"]
"""


def test_the_documented_example_loads_with_every_kind_of_channel() -> None:
    cfg = load_notify_config(EXAMPLE)
    kinds = {type(c) for c in cfg.channels.values()}
    assert kinds == {
        WebhookChannelConfig,
        SlackChannelConfig,
        EmailChannelConfig,
        FileChannelConfig,
        TerminalChannelConfig,
    }
    assert cfg.default_team == "oncall"
    assert cfg.reminders.before_expiry == (timedelta(minutes=15),)
    assert cfg.console_url == "http://localhost:8501"
    assert cfg.link_for("rv-1") == "http://localhost:8501/review?review=rv-1"
    mail = cfg.channels["sre-email"]
    assert isinstance(mail, EmailChannelConfig)
    assert (mail.port, mail.tls, mail.password_env) == (587, "starttls", "INTERLOCK_SMTP_PASSWORD")
    security = cfg.channels["dba-email"]
    assert isinstance(security, EmailChannelConfig)
    assert security.port == 587  # the default for starttls


def test_teams_channels_and_members() -> None:
    cfg = parse_notify_config(GOOD, source="n.toml")
    assert cfg.console_url == "https://interlock.example.com"  # trailing slash dropped
    assert cfg.channels_for("db") == ("mail", "hook")
    assert cfg.channels_for(None) == ("hook",)  # the default team's
    assert cfg.channels_for("nobody-knows") == ("hook",)
    assert cfg.teams_of("ALICE ") == ("db", "ops")
    assert cfg.teams_of("bob") == ("ops",)
    assert cfg.teams_of("mallory") == ()
    assert cfg.reminders.before_expiry == (timedelta(minutes=15), timedelta(minutes=5))
    hook = cfg.channels["hook"]
    assert isinstance(hook, WebhookChannelConfig)
    assert hook.timeout == 2.0
    assert hook.line == 15


def test_delivery_options_come_from_the_file_and_default_the_rest() -> None:
    assert outbox_options(parse_notify_config(GOOD, source="n.toml")) == OutboxOptions()
    text = _edit(
        "[teams.ops]", '[delivery]\nlease = "30s"\nmax_age = "2h"\nmax_attempts = 3\n[teams.ops]'
    )
    got = outbox_options(parse_notify_config(text, source="n.toml"))
    assert (got.lease, got.max_age, got.max_attempts) == (30.0, 7200.0, 3)
    assert (got.base_delay, got.max_delay) == (
        OutboxOptions().base_delay,
        OutboxOptions().max_delay,
    )


def test_without_a_default_team_an_unrouted_review_tells_nobody() -> None:
    cfg = parse_notify_config(GOOD.replace('default_team = "ops"\n', ""), source="n.toml")
    assert cfg.channels_for(None) == ()
    assert cfg.channels_for("ops") == ("hook",)
    assert cfg.link_for(None) is None


def test_missing_secrets_are_one_line_each_naming_the_variable() -> None:
    cfg = parse_notify_config(GOOD, source="n.toml")
    lines = cfg.missing_secrets({"HOOK_URL": "http://127.0.0.1:9/x", "HOOK_SECRET": ""})
    assert lines == [
        "n.toml:15: channel 'hook' (webhook): environment variable HOOK_SECRET (secret_env) "
        "is not set; export it where the worker runs."
    ]
    assert cfg.missing_secrets({"HOOK_URL": "u", "HOOK_SECRET": "s"}) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("1h30m", timedelta(minutes=90)),
        ("2d", timedelta(days=2)),
        ("500ms", timedelta(milliseconds=500)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "15", "m", "15 minutes", "1h-5m", "-5m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def _edit(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new)


BAD = [
    (
        _edit("[reminders]", "colour = 1\n[reminders]"),
        "n.toml:4: unknown key 'colour'; allowed here: console_url, default_team, reminders, delivery, teams, channels.",
    ),
    (
        _edit('before_expiry = ["5m", "15m"]', 'before_expiry = ["5m", "soon"]'),
        'n.toml:5: reminders.before_expiry: \'soon\' is not a duration above zero; write e.g. "15m", "1h" or "90s".',
    ),
    (
        _edit('before_expiry = ["5m", "15m"]', 'before_expiry = "15m"'),
        "n.toml:5: reminders.before_expiry must be a list of non-empty strings, got '15m'.",
    ),
    (
        _edit('kind = "webhook"', 'kind = "pager"'),
        "n.toml:16: channels.hook.kind must be one of webhook, slack, email, file, terminal, got 'pager'.",
    ),
    (
        _edit('kind = "webhook"\n', ""),
        "n.toml:15: channels.hook.kind must be one of webhook, slack, email, file, terminal, got None.",
    ),
    (
        _edit('channels = ["mail", "hook"]', 'channels = ["mail", "hoook"]'),
        "n.toml:13: teams.db.channels names 'hoook', which is not a channel of this file (channels: hook, mail); add [channels.hoook] or fix the name.",
    ),
    (
        _edit('default_team = "ops"', 'default_team = "opps"'),
        "n.toml:2: default_team 'opps' is not a team of this file (teams: db, ops); add [teams.opps] or fix the name.",
    ),
    (
        _edit('url_env = "HOOK_URL"', 'url = "https://hooks.example.com/secret"'),
        'n.toml:17: channels.hook.url: secrets never go in the notify file; put the value in an environment variable and name it with url_env = "VARIABLE".',
    ),
    (
        _edit('url_env = "HOOK_URL"', 'url_env = "https://hooks.example.com/secret"'),
        "n.toml:17: channels.hook.url_env must name an environment variable (letters, digits, _), got 'https://hooks.example.com/secret'; the value itself goes in the environment.",
    ),
    (
        _edit('secret_env = "HOOK_SECRET"\n', ""),
        "n.toml:15: channels.hook needs secret_env (the variable holding the HMAC secret).",
    ),
    (
        _edit('timeout = "2s"', 'timeout = "10m"'),
        "n.toml:19: channels.hook.timeout must be a duration above 0 and at most 120s (e.g. \"5s\", or 5 for seconds), got '10m'.",
    ),
    (
        _edit("port = 2525", "port = 70000"),
        "n.toml:24: channels.mail.port must be a port number 1-65535, got 70000.",
    ),
    (
        _edit('tls = "none"', 'tls = "yes"'),
        "n.toml:25: channels.mail.tls must be one of starttls, ssl, none, got 'yes'.",
    ),
    (
        _edit('to = ["db@example.com"]', "to = []"),
        'n.toml:21: channels.mail needs to = ["someone@example.com", ...] (at least one recipient).',
    ),
    (
        _edit('sender = "interlock@example.com"', 'sender = "interlock"'),
        "n.toml:21: channels.mail: 'interlock' is not an e-mail address.",
    ),
    (
        _edit('tls = "none"', 'tls = "none"\nusername = "x"'),
        "n.toml:21: channels.mail: give username and password_env together (or neither, for a server that needs no login).",
    ),
    (
        _edit('members = ["alice"]', 'members = ["alice"]\nrole = "dba"'),
        "n.toml:13: unknown key 'teams.db.role'; allowed here: members, channels.",
    ),
    (
        _edit('console_url = "https://interlock.example.com/"', 'console_url = "localhost:8501"'),
        "n.toml:1: console_url must be an http(s) URL without query, e.g. \"https://interlock.example.com\", got 'localhost:8501'.",
    ),
    (
        _edit("[channels.mail]", "[channels.'my mail']"),
        "n.toml:21: channel name 'my mail': use letters, digits, '-', '_' or '.', starting with a letter or digit.",
    ),
    (
        _edit("[teams.ops]", '[delivery]\nlease = "soon"\n[teams.ops]'),
        "n.toml:8: delivery.lease must be a duration above 0 (e.g. \"60s\", or 60 for seconds), got 'soon'.",
    ),
    (
        _edit("[teams.ops]", '[delivery]\nlease = "1s"\n[teams.ops]'),
        "n.toml:8: delivery.lease (1s) must be longer than the slowest channel's timeout (10s); raise [delivery] lease or lower that timeout.",
    ),
    (
        _edit('timeout = "2s"', 'timeout = "90s"'),
        "n.toml: delivery.lease (60s, the default) must be longer than the slowest channel's timeout (90s); raise [delivery] lease or lower that timeout.",
    ),
    (
        _edit("[teams.ops]", "[delivery]\nmax_attempts = 0\n[teams.ops]"),
        "n.toml:8: delivery.max_attempts must be a whole number from 1 to 100, got 0.",
    ),
    (
        _edit("[teams.ops]", "[delivery]\nretries = 3\n[teams.ops]"),
        "n.toml:8: unknown key 'delivery.retries'; allowed here: lease, base_delay, max_delay, max_age, max_attempts.",
    ),
    (
        _edit('default_team = "ops"', "default_team = ops"),
        "n.toml:2: not valid TOML: Invalid value.",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_each_mistake_is_one_line_with_file_line_and_fix(text: str, message: str) -> None:
    with pytest.raises(NotifyConfigError) as err:
        parse_notify_config(text, source="n.toml")
    assert str(err.value) == message
    assert "\n" not in str(err.value)
    assert isinstance(err.value, ConfigError)  # so the CLI prints it as one line


def test_files_and_the_environment_variable(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(
        NotifyConfigError, match=r"notify file .*nope.toml does not exist; create it"
    ):
        load_notify_config(missing)
    assert notify_config_from_env({}) is None  # unset: notifications are off
    assert notify_config_from_env({"INTERLOCK_NOTIFY": "  "}) is None
    with pytest.raises(NotifyConfigError, match="does not exist"):
        notify_config_from_env({"INTERLOCK_NOTIFY": str(missing)})
    good = tmp_path / "notify.toml"
    good.write_text(GOOD, encoding="utf-8")
    cfg = notify_config_from_env({"INTERLOCK_NOTIFY": str(good)})
    assert cfg is not None
    assert cfg.source == str(good)
    assert set(cfg.channels) == {"hook", "mail"}


def test_the_readme_configuration_loads() -> None:
    readme = (EXAMPLE.parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("Teams, channels and reminders live in one TOML file", 1)[1]
    block = section.split("```toml\n", 1)[1].split("```", 1)[0]
    cfg = parse_notify_config(block, source="README.md")
    assert sorted(cfg.teams) == ["dba", "oncall", "sre"]
    assert outbox_options(cfg) == OutboxOptions()  # it shows the defaults
