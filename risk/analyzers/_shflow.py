"""Where data and code flow in a shell command line: secrets read or printed, pipelines that
carry a secret to a sender, decoded payloads run by a shell, command words that are only
known at run time, and writes to files that run later.

The shell analyzer (`_shell`) calls in at five points: `through_pipe` (what the previous
command hands the next: decoded base64, printf escapes, a carried secret), `redirect` (a `<`
from a credential file, a `>` onto a persistence target or `/dev/tcp`), `before` (env dumps,
`ssh` fed a secret, installers that are also wrappers, such as `uv pip install`), `command_word`
(`x=rm; $x -rf /data`: resolved from the assignments seen, else opaque) and `after` (the
per-program readers, printers, senders, installers and persisters). A pipeline's carried
secret travels in `Stdin.secret` and `Ctx.carry`.
"""

from __future__ import annotations

import base64
import binascii
import re
import shlex

from interlock.risk.analyzers._code import analyze_interpreter
from interlock.risk.analyzers._findings import snippet, words
from interlock.risk.analyzers._secrets import secret_file, secret_var, shown_secret
from interlock.risk.analyzers._shctx import Ctx, Stdin
from interlock.risk.analyzers._shparse import parse
from interlock.risk.analyzers._shpersist import GIT_HOOKS, PERSISTERS, install, report_write
from interlock.risk.analyzers._shsend import SENDERS, report_send

__all__ = [
    "FLOW_PROGRAMS",
    "after",
    "before",
    "command_word",
    "may_flow",
    "redirect",
    "through_pipe",
]

_READERS = words(
    "cat tac less more most head tail bat batcat nl od xxd hexdump hd strings base64 base32 "
    "grep egrep fgrep rg ag ack awk gawk mawk sed cut sort uniq jq yq tr column diff cmp "
    "fold paste cp mv tar zip 7z gzip bzip2 xz zstd gpg openssl vim vi nvim nano emacs view "
    "code dd sqlite3 cpio"
)
# Programs that pass what they read on to the next command (a carried secret stays carried).
_TRANSFORMS = words(
    "cat base64 base32 xxd od hexdump gzip bzip2 xz zstd tar zip openssl gpg tr sed awk gawk "
    "grep egrep head tail cut sort uniq jq yq rev fold tee cpio"
)
_PRINTERS = words("echo printf print")
_DUMPS = words("env printenv set export declare typeset compgen")
_RUNNERS = words("sh bash zsh dash ksh ash fish mksh python python3 perl ruby node php")
_WRAPPING_INSTALLERS = words("uv poetry pdm pipx conda")
FLOW_PROGRAMS = frozenset(
    {*SENDERS, *PERSISTERS, *_DUMPS, *_WRAPPING_INSTALLERS, "base64", "base32", "xxd", "git", "ps"}
)
# Agent text meets these regexes (Python's `re`, kept for speed): each is linear, with no
# nested or adjacent quantifiers over the same characters; tests/risk/test_bounds.py times
# every analyzer on 64 KiB adversarial text.
_MARKS = re.compile(
    r"\.aws|\.ssh|id_(?:rsa|dsa|ecdsa|ed25519)|\.env\b|netrc|pgpass|\.my\.cnf|kube|gcloud"
    r"|\.azure|credential|secret|\.pem\b|\.key\b|\.p12|\.pfx|\.ppk|\.npmrc|\.pypirc|\.docker/"
    r"|/environ|shadow|vault-token|gnupg|\.\w*rc\b|profile|zshenv|zlogin|config\.fish|hooks"
    r"|husky|cron|systemd|\.service|\.timer|authorized_keys|autostart|launch(?:agents|daemons)"
    r"|sudoers|preload|customize\.py|\.pth\b|package\.json|requirements|pyproject|setup\.py"
    r"|setup\.cfg|pipfile|gemfile|cargo\.toml|go\.mod|composer\.json|pip\.conf|tasks\.json"
    r"|/dev/(?:tcp|udp)/"
)
# A `$` or backtick where a command word starts.
_DYNAMIC = re.compile(r"(?:^|[;&|(\n`]|\$\()[ \t]*[\"']?[$`]")
_VAR = re.compile(r"\$\{(\w+)\}|\$(\w+)")
_PATH_VARS = {
    "HOME": "~",
    "PWD": ".",
    "TMPDIR": "/tmp",
    "VIRTUAL_ENV": "venv",
    "CONDA_PREFIX": "conda",
    "GOPATH": "go",
    "CARGO_HOME": "cargo",
    "PYENV_ROOT": "pyenv",
    "NVM_DIR": "nvm",
}
_WHICH = re.compile(r"^\s*(?:which|command\s+-v|type\s+-p)\s+([\w.+-]+)\s*$")
_ESCAPE = re.compile(r"\\x([0-9a-fA-F]{1,2})|\\([0-7]{1,3})")


def may_flow(low: str) -> bool:
    """True when the (lower-case) text may hold a secret, a persistence target or a command
    word computed at run time; the programs themselves are in `FLOW_PROGRAMS`."""
    if _MARKS.search(low):
        return True
    return "$" in low and (bool(_DYNAMIC.search(low)) or secret_var(low) is not None)


def _decode(prog: str, args: list[str], text: str | None) -> Stdin | None:
    """What `base64 -d`, `base32 -d` or `xxd -r -p` prints for known input; None if not one."""
    if prog in ("base64", "base32") and any(a in ("-d", "-D", "--decode") for a in args):
        if text is None:
            return Stdin(opaque=True)
        try:
            raw = text.strip().encode()
            data = (
                base64.b64decode(raw, validate=False) if prog == "base64" else base64.b32decode(raw)
            )
            return Stdin(text=data.decode(), decoded=True)
        except (binascii.Error, ValueError, UnicodeDecodeError):
            return Stdin(opaque=True)
    if prog == "xxd" and "-r" in args:
        try:
            return Stdin(text=bytes.fromhex("".join((text or "").split())).decode(), decoded=True)
        except (ValueError, UnicodeDecodeError):
            return Stdin(opaque=True)
    return None


def through_pipe(
    prev: tuple[str, list[str], str | None], stdin: Stdin, carried: str, shown: str
) -> Stdin:
    """The stdin of a command on the right of `|`, given the command on its left."""
    prog, args, prev_in = prev
    decoded = _decode(prog, args, prev_in)
    if decoded is not None:
        stdin = decoded
    elif prog == "printf" and stdin.text and "\\" in stdin.text:
        stdin = Stdin(text=_ESCAPE.sub(_unescape, stdin.text))
    stdin.secret = carried
    stdin.source = shown
    return stdin


def _unescape(m: re.Match[str]) -> str:
    return chr(int(m.group(1), 16)) if m.group(1) else chr(int(m.group(2), 8))


def redirect(op: str, target: str, argv: list[str], stdin: Stdin, ctx: Ctx) -> None:
    shown = snippet([*(shlex.quote(w) for w in argv), op, target])
    if op == "<":
        if secret_file(target):
            ctx.add("secret.read", "read", f"`{shown}` reads {shown_secret(target)}.")
            stdin.secret = stdin.secret or shown_secret(target)
            stdin.source = stdin.source or f"< {target}"
        return
    if ">" not in op:
        return
    if target.startswith(("/dev/tcp/", "/dev/udp/")):
        host = target.split("/")[3] if target.count("/") >= 3 else "a remote host"
        secret = next((w for w in argv if secret_file(w)), None)
        if secret is not None:
            report_send(shown, host, [secret], stdin, ctx)
        else:
            ctx.add(
                "exfil.network",
                "network",
                f"`{shown}` writes to a raw connection to {host}: the output leaves the host.",
            )
        return
    first = argv[0].rsplit("/", 1)[-1] if argv else ""
    content = stdin.text
    if first in ("echo", "printf"):
        content = " ".join(a for a in argv[1:] if not a.startswith("-"))
    report_write(target, shown, content, ctx)


def before(argv: list[str], stdin: Stdin, ctx: Ctx) -> bool:
    """Commands the wrapper handling would swallow; True when nothing else is to be done."""
    prog = argv[0].rsplit("/", 1)[-1].lower()
    args = argv[1:]
    if prog == "ps" and _ps_environ(args):
        ctx.add(
            "secret.env_dump",
            "read",
            f"`{snippet(argv)}` prints the environment of other processes (BSD option `e`), "
            "with the tokens, keys and database URLs they hold, a reviewer's console's too.",
        )
        return False
    if prog in _DUMPS and _dumps(prog, args):
        ctx.add(
            "secret.env_dump",
            "read",
            f"`{snippet(argv)}` prints every environment variable, with every token, key and "
            "password the agent's environment holds.",
        )
        return True
    if prog == "printenv":
        return False
    if prog == "ssh" and stdin.secret:
        host = next((a for a in args if not a.startswith("-")), "a remote host")
        report_send(snippet(argv), host.rpartition("@")[2], ["-"], stdin, ctx)
    if prog in _WRAPPING_INSTALLERS:
        install(prog, args, ctx)
    return False


def _ps_environ(args: list[str]) -> bool:
    """`ps e`, `ps eww`, `ps auxe`: BSD-style options (no dash) with `e` show each process's
    environment. `ps -e` (with a dash) only means every process."""
    prev = ""
    for a in args:
        # A word after a dash option is its value (`ps -u webserver`), not options.
        if not prev.startswith("-") and not a.startswith("-") and a.isalpha() and "e" in a:
            return True
        prev = a
    return False


def _dumps(prog: str, args: list[str]) -> bool:
    """`env`, `printenv`, `set`, `export -p`, `declare -x`: every variable printed."""
    pos = [a for a in args if not a.startswith(("-", "+"))]
    if prog == "printenv":
        return not pos
    if prog == "env":
        return not pos and not any(a in ("-u", "--unset", "-S", "-C") for a in args)
    if prog == "set":
        return not args
    if prog == "compgen":
        return "-v" in args or "-e" in args
    return not pos and (not args or all(a in ("-p", "-x", "-px", "-xp") for a in args))


def command_word(argv: list[str], ctx: Ctx) -> list[str] | None:
    """Resolve a command word with `$` or backticks in it; None when it was reported."""
    word = argv[0]
    if word.startswith(("$(", "`")):
        inner = word[2:].rstrip(")") if word.startswith("$(") else word.strip("`")
        which = _WHICH.match(inner)
        if which:
            return [which.group(1), *argv[1:]]
        decoded = _decoded_output(inner)
        if decoded is not None:
            ctx.add(
                "code.decode_exec",
                "write",
                f"`{snippet(argv)}` runs base64-decoded text as a command: "
                f"`{snippet(decoded, 80)}`.",
            )
            ctx.script(" ".join([decoded, *argv[1:]]))
            return None
        ctx.add(
            "code.opaque",
            "write",
            f"`{snippet(argv)}` runs whatever `{snippet(inner, 60)}` prints as a command: "
            "it cannot be read before it runs.",
        )
        return None
    unknown: list[str] = []

    def value(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        if name in ctx.vars:
            return ctx.vars[name]
        if name in _PATH_VARS:
            return _PATH_VARS[name]
        unknown.append(name)
        return ""

    resolved = _VAR.sub(value, word)
    if unknown or "$" in resolved or not resolved.strip():
        ctx.add(
            "code.opaque",
            "write",
            f"`{snippet(argv)}` runs a command whose name comes from "
            f"${(unknown or ['a variable'])[0]}, known only at run time.",
        )
        return None
    return [*resolved.split(), *argv[1:]]


def _decoded_output(inner: str) -> str | None:
    """What `echo B64 | base64 -d` (or printf, or a here-string) prints, when decodable."""
    cmds, _ = parse(inner)
    if len(cmds) != 2 or not cmds[1].piped or not cmds[0].words or not cmds[1].words:
        return None
    head, tail = cmds[0].words, cmds[1].words
    if head[0] not in ("echo", "printf"):
        return None
    text = " ".join(a for a in head[1:] if not a.startswith("-"))
    got = _decode(tail[0], tail[1:], text)
    return got.text if got is not None and got.decoded else None


def after(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    """The per-program part: readers, printers, senders, persisters and interpreters."""
    shown = snippet([prog, *args])
    if prog in _READERS:
        for a in args:
            path = a[3:] if a.startswith("if=") else a
            if (not a.startswith("-") or path != a) and secret_file(path):
                ctx.add("secret.read", "read", f"`{shown}` reads {shown_secret(path)}.")
                if ctx.feeds:
                    ctx.carry = shown_secret(path)
    if prog in _PRINTERS or prog == "printenv":
        var = next((v for a in args if (v := secret_var(a))), None)
        if prog == "printenv":
            var = next((f"${a}" for a in args if secret_var(f"${a}")), None)
        if var is not None:
            if ctx.feeds:
                ctx.carry = f"the secret {var}"
            else:
                ctx.add(
                    "secret.print",
                    "read",
                    f"`{shown}` prints the secret {var} into the agent's output.",
                )
    if stdin.secret and prog in _TRANSFORMS:
        if ctx.feeds:
            ctx.carry = stdin.secret
        elif stdin.secret.startswith("the secret $"):  # the pipeline prints it
            ctx.add(
                "secret.print",
                "read",
                f"`{stdin.source} | {shown}` prints {stdin.secret} into the agent's output.",
            )
    sender = SENDERS.get(prog)
    if sender is not None:
        sender(prog, args, stdin, ctx)
    persister = PERSISTERS.get(prog)
    if persister is not None:
        persister(prog, args, stdin, ctx)
    if prog == "git":
        GIT_HOOKS(args, ctx, shown)
    if prog in _RUNNERS:
        _runner(prog, args, stdin, ctx)


def _runner(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    if stdin.decoded:
        ctx.add(
            "code.decode_exec",
            "write",
            f"`{stdin.source} | {snippet([prog, *args])}` runs base64-decoded text: "
            f"`{snippet(stdin.text or '', 80)}`.",
        )
    elif stdin.opaque and (not args or args[0] in ("-", "-s")):
        ctx.add(
            "code.opaque",
            "write",
            f"`{stdin.source} | {snippet([prog, *args])}` runs decoded text that cannot be "
            "read before it runs.",
        )
    if prog.startswith(("python", "perl", "ruby", "node", "php")):
        if args[:2] in (["-m", "pip"], ["-m", "pip3"]):
            install("pip", args[2:], ctx)
        else:
            analyze_interpreter(prog, args, stdin, ctx)
