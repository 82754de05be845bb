"""What a path, a variable or a URL is, as far as secrets, exfiltration and persistence go.

- `secret_file(path)`: credential files and folders (`~/.aws/credentials`, `~/.ssh/id_*`,
  `.env`, `.netrc`, `.pgpass`, kubeconfig, gcloud and Azure credentials, private keys...).
- `secret_var(word)`: a `$NAME` whose name says it holds a secret (`$AWS_SECRET_ACCESS_KEY`,
  `${GITHUB_TOKEN}`, `$DB_PASSWORD`...).
- `persistence_target(path)`: files that run later or decide what runs later: shell start-up
  files, git hooks, cron, systemd units, `authorized_keys`, and dependency manifests.
- `remote_host(url)` / `exfil_host(host)`: where a request goes, and whether that place is a
  paste site, a webhook catcher or a tunnel that only ever receives data.

Each returns a short description for the reviewer, or None. The checks start with substring
tests, so a path that names none of these costs well under a microsecond.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = [
    "SECRETS_SIGNALS",
    "exfil_host",
    "persistence_target",
    "remote_host",
    "secret_file",
    "secret_var",
    "shown_secret",
]

SECRETS_SIGNALS: dict[str, str] = {
    "secret.read": (
        "a credential file is read (~/.aws/credentials, ~/.ssh/id_*, .env, .netrc, .pgpass, "
        "kubeconfig, gcloud credentials, private keys)"
    ),
    "secret.print": "a secret environment variable is printed (echo $AWS_SECRET_ACCESS_KEY)",
    "secret.env_dump": "every environment variable is printed (env, printenv, set, os.environ)",
    "exfil.secret": "a secret is read and sent off the host in one command or pipeline",
    "exfil.upload": (
        "a file or piped data is sent off the host (curl -d @file/-F/-T, wget --post-file, "
        "scp/rsync to a remote host, a paste site or webhook)"
    ),
    "exfil.network": "a raw network connection (nc, ncat, socat, telnet, /dev/tcp) carries data",
    "persistence.write": (
        "a file that runs later is written: shell rc and profile files, git hooks, cron, "
        "systemd units, ~/.ssh/authorized_keys"
    ),
    "package.install": "a package is installed (pip, npm, yarn, pnpm, cargo, gem, go, apt...)",
    "package.manifest": (
        "a dependency manifest is edited (package.json, requirements.txt, pyproject.toml, "
        "Gemfile...)"
    ),
    "code.shell": "interpreter code runs a shell command (os.system, subprocess, child_process)",
    "code.file_write": "interpreter code writes or deletes files",
    "code.decode_exec": "encoded text is decoded and run (base64 -d | sh, exec(b64decode(...)))",
    "code.opaque": (
        "code that cannot be read before it runs: a command word from a variable, eval of "
        "computed text, an undecodable payload"
    ),
}

# Agent text meets these regexes (Python's `re`, kept for speed): each is linear, with no
# nested or adjacent quantifiers over the same characters; tests/risk/test_bounds.py times
# every analyzer on 64 KiB adversarial text.
_SECRET_MARKS = (
    ".aws", ".ssh", "id_", "env", "netrc", "pgpass", ".my.cnf", "kube", "gcloud", "azure",
    "credential", "secret", ".pem", ".key", ".p12", ".pfx", ".ppk", ".npmrc", ".pypirc",
    ".docker", "shadow", "vault-token", "token", "service", "gnupg", "password", "gh/hosts",
)  # fmt: skip
_SECRET_FILES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), what)
    for p, what in (
        (r"(?:^|/)\.aws(?:/(?:credentials|config|sso|cli)\b.*)?/?$", "AWS access keys"),
        (
            r"(?:^|/)\.ssh(?:/(?!known_hosts|config$|authorized_keys|[^/]*\.pub$)[^/]+)?/?$",
            "SSH private keys",
        ),
        (r"(?:^|/)id_(?:rsa|dsa|ecdsa|ed25519)(?:_sk)?$", "an SSH private key"),
        (
            r"(?:^|/)(?:[\w-]+)?\.env(?:\.(?!example|sample|template|dist|defaults?\b)[\w.-]+)?$",
            "API keys and passwords kept in an environment file",
        ),
        (r"(?:^|/)[._]netrc$", "saved logins"),
        (r"(?:^|/)(?:\.pgpass|\.my\.cnf)$", "saved database passwords"),
        (r"(?:^|/)\.kube(?:/config)?/?$|(?:^|/)kubeconfig[\w.-]*$", "cluster credentials"),
        (
            r"(?:^|/)\.config/gcloud(?:/.*)?$|application_default_credentials\.json$",
            "Google Cloud credentials",
        ),
        (r"(?:^|/)\.azure(?:/.*)?$", "Azure credentials"),
        (
            r"(?:^|/)(?:\.docker/config\.json|\.git-credentials|\.npmrc|\.pypirc|\.vault-token"
            r"|\.config/gh/hosts\.ya?ml|credentials\.tfrc\.json)$",
            "saved access tokens",
        ),
        (r"(?:^|/)\.gnupg(?:/.*)?$|(?:^|/)\.password-store(?:/.*)?$", "private keys"),
        (r"\.(?:pem|key|p12|pfx|ppk|jks|keystore)$", "a private key or certificate"),
        (
            r"(?:^|/)(?:[\w.-]*credentials?(?:\.(?:json|csv|ya?ml|db|txt))?"
            r"|service[-_]?account[\w.-]*\.json|secrets?\.(?:json|ya?ml|toml|txt|env))$",
            "credentials",
        ),
        (r"^/etc/g?shadow$", "password hashes"),
        (r"^/proc/(?:self|\d+)/environ$", "a process's environment (its secrets)"),
    )
)
_SECRET_VAR = re.compile(
    r"\$\{?([A-Za-z_]*(?:SECRET|TOKEN|PASSWORD|PASSWD|PASSPHRASE|API_?KEY|ACCESS_?KEY|"
    r"PRIVATE_?KEY|CREDENTIAL|AUTH|SESSION_KEY|DATABASE_URL|_DSN|WEBHOOK)[A-Za-z0-9_]*)",
    re.I,
)
_PERSIST_MARKS = (
    "rc", "profile", "zshenv", "zlogin", "config.fish", "hooks", "husky", "cron", "systemd",
    ".service", ".timer", "authorized_keys", "ssh/environment", "init.d", "autostart",
    "launchagents", "launchdaemons", "sudoers", "ld.so.preload", "customize.py", ".pth",
    "package.json", "requirements", "pyproject", "setup.py", "setup.cfg", "pipfile",
    "gemfile", "cargo.toml", "go.mod", "composer.json", "pip.conf", "tasks.json",
)  # fmt: skip
_PERSISTENCE: tuple[tuple[re.Pattern[str], str, str], ...] = tuple(
    (re.compile(p), kind, what)
    for p, kind, what in (
        (
            r"(?:^|/)\.(?:bashrc|bash_profile|bash_login|bash_logout|profile|zshrc|zprofile"
            r"|zshenv|zlogin|kshrc|mkshrc)$|(?:^|/)\.config/fish/config\.fish$"
            r"|^/etc/(?:profile|bash\.bashrc|zsh/\w+|profile\.d/.*)$",
            "persistence.write",
            "a shell start-up file, run by every new shell",
        ),
        (
            r"(?:^|/)\.git/hooks/[\w.-]+$|(?:^|/)\.husky/[\w-]+$",
            "persistence.write",
            "a git hook, run by git itself on commits, checkouts or pushes",
        ),
        (
            r"^/etc/(?:cron[\w.]*(?:/.*)?|anacrontab)$|^/var/spool/cron(?:/.*)?$",
            "persistence.write",
            "a cron table, run on a schedule",
        ),
        (
            r"(?:^|/)systemd/(?:system|user)/[\w@.-]+$|\.(?:service|timer)$",
            "persistence.write",
            "a systemd unit, started by the system",
        ),
        (
            r"(?:^|/)\.ssh/(?:authorized_keys2?|rc|environment)$",
            "persistence.write",
            "the SSH login keys (whoever holds a listed key can log in)",
        ),
        (
            r"^/etc/(?:rc\.local|init\.d/.*|sudoers(?:\.d/.*)?|ld\.so\.preload)$"
            r"|(?:^|/)\.config/autostart/.*|(?:^|/)launch(?:agents|daemons)/.*"
            r"|(?:^|/)(?:site|user)customize\.py$|(?:^|/)site-packages/[\w.-]+\.pth$"
            r"|(?:^|/)\.vscode/tasks\.json$",
            "persistence.write",
            "a file the system or the editor runs on its own",
        ),
        (
            r"(?:^|/)(?:package\.json|requirements[\w.-]*\.(?:txt|in)|pyproject\.toml"
            r"|setup\.py|setup\.cfg|pipfile|gemfile|cargo\.toml|go\.mod|composer\.json"
            r"|pip\.conf)$",
            "package.manifest",
            "a dependency manifest: what it lists is downloaded and run on the next install",
        ),
    )
)
_HOST = re.compile(r"^(?:[a-z][\w+.-]*://)?(?:[^@/\s]*@)?([^/:?#\s]+)", re.I)
_EXFIL_HOSTS = (
    "hooks.slack.com", "discord.com", "discordapp.com", "webhook.site", "pastebin", "hastebin",
    "paste.", "ghostbin", "requestbin", "pipedream", "ngrok", "transfer.sh", "file.io",
    "0x0.st", "termbin", "bashupload", "interact.sh", "oast.", "burpcollaborator",
    "canarytokens", "beeceptor", "ix.io", "sprunge", "requestcatcher", "trycloudflare",
)  # fmt: skip


def _norm(path: str) -> str:
    return path.strip().strip("'\"").lower()[:300].rstrip("/") or "/"


@lru_cache(maxsize=1024)
def secret_file(path: str) -> str | None:
    """What secret the file or folder holds ("AWS access keys"), or None."""
    p = _norm(path)
    if not any(m in p for m in _SECRET_MARKS):
        return None
    return next((what for rx, what in _SECRET_FILES if rx.search(p)), None)


def secret_var(word: str) -> str | None:
    """The first secret-looking `$VARIABLE` the word expands (`$GITHUB_TOKEN`), or None."""
    if "$" not in word:
        return None
    m = _SECRET_VAR.search(word)
    return f"${m.group(1)}" if m else None


def shown_secret(path: str) -> str:
    """`~/.aws/credentials (AWS access keys)`: the path as given and what it holds."""
    what = secret_file(path)
    return f"{path} ({what})" if what else path


@lru_cache(maxsize=1024)
def persistence_target(path: str) -> tuple[str, str] | None:
    """(signal, what the file is) when writing it changes what runs later, or None."""
    p = _norm(path)
    if not any(m in p for m in _PERSIST_MARKS):
        return None
    return next(((kind, what) for rx, kind, what in _PERSISTENCE if rx.search(p)), None)


def remote_host(url: str) -> str:
    """The host a URL or `user@host:path` names ("" when it names none)."""
    m = _HOST.match(url.strip().strip("'\""))
    return m.group(1).lower() if m else ""


def exfil_host(host: str) -> bool:
    """A paste site, request catcher, webhook or tunnel: a place that only receives data."""
    return any(mark in host for mark in _EXFIL_HOSTS)
