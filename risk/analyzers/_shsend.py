"""Data leaving the host from a shell command: uploads by curl, wget and HTTPie, scp and
rsync to a remote host, raw connections (nc, ncat, socat, telnet), and uploaders given a
credential file (`aws s3 cp`, `gsutil cp`, `rclone`, `gh gist create`, `mail`).

A credential file read and sent in one command or pipeline is `exfil.secret`, with a reason
that names both ends ("reads ~/.aws/credentials (AWS access keys) and sends it to
paste.example.net"); any other file or piped data sent off the host is `exfil.upload`.
"""

from __future__ import annotations

from collections.abc import Callable

from interlock.risk.analyzers._findings import snippet, words
from interlock.risk.analyzers._secrets import (
    exfil_host,
    persistence_target,
    remote_host,
    secret_file,
    secret_var,
    shown_secret,
)
from interlock.risk.analyzers._shctx import Ctx, Stdin

__all__ = ["SENDERS", "download_target", "report_send"]

_CURL_DATA = words(
    "-d --data --data-binary --data-raw --data-ascii --data-urlencode --json -F --form "
    "--form-string -T --upload-file --post-file --body-file --post-data --body-data"
)
_CURL_VALUE = words(
    "-H --header -u --user -A --user-agent -e --referer -b --cookie -c --cookie-jar -o "
    "--output -O --output-document -x --proxy -m --max-time --connect-timeout -w --write-out "
    "-K --config -E --cert --key --cacert -r --range -X --request --method -P "
    "--directory-prefix -U --proxy-user -t --tries -T --upload-file --url --resolve"
)
_OUTPUT = words("-o --output -O --output-document")


def report_send(
    shown: str, host: str, sent: list[str], stdin: Stdin, ctx: Ctx, how: str = "sends"
) -> None:
    """One finding for data sent to `host`: files (`-` is stdin) or inline values."""
    where = host or "a remote host"
    for item in sent:
        if item == "-" and stdin.secret:
            lead = f"{shown} {stdin.source}" if stdin.source[:1] == "<" else stdin.source
            lead = lead if lead.startswith(shown) else f"{lead} | {shown}"
            ctx.add(
                "exfil.secret",
                "network",
                f"`{lead}` reads {stdin.secret} and {how} it to {where}.",
            )
            return
        secret = secret_file(item) if item != "-" else None
        var = secret_var(item)
        if secret or var:
            what = shown_secret(item) if secret else f"the secret {var}"
            ctx.add(
                "exfil.secret",
                "network",
                f"`{shown}` reads {what} and {how} it to {where}.",
            )
            return
    files = [s for s in sent if s != "-" and not s.startswith("=")]
    if "-" in sent and (stdin.source or stdin.text is not None):
        what = f"what `{stdin.source}` prints" if stdin.source else "its input"
    elif files:
        what = "the file " + ", ".join(files[:3])
    elif exfil_host(where):
        what = "data"
    else:
        return
    ctx.add(
        "exfil.upload",
        "network",
        f"`{shown}` {how} {what} to {where}, off this host.",
    )


def _http_cli(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    sent: list[str] = []
    url = ""
    i = 0
    while i < len(args):
        a = args[i]
        opt, eq, val = a.partition("=") if a.startswith("--") else (a, "", "")
        if opt in _CURL_DATA or (opt[:2] in ("-d", "-F", "-T") and len(opt) > 2):
            if not eq and opt in _CURL_DATA:
                i += 1
                val = args[i] if i < len(args) else ""
            elif not eq:
                val = opt[2:]
            _, sep, rest = val.partition("=")
            form = opt in ("-F", "--form") or opt.startswith("-F")
            value = rest if form and sep else val
            if opt in ("-T", "--upload-file", "--post-file", "--body-file") or opt.startswith("-T"):
                sent.append(value)
            elif value[:1] in ("@", "<"):
                sent.append(value[1:].partition(";")[0] or "-")
            else:  # inline data: it matters when it holds a secret or goes to a paste site
                sent.append(value if secret_var(value) else "=" + value)
        elif opt in _CURL_VALUE and not eq:
            i += 1
        elif prog in ("http", "https", "xh") and not a.startswith("-") and url:
            if a.startswith("@") or "=@" in a or "@" in a.partition("=")[0]:
                sent.append(a.rpartition("@")[2])
        elif not a.startswith("-") and not url and ("." in a or ":" in a):
            url = a
        i += 1
    if sent or (stdin.secret and prog in ("http", "https", "xh")):
        report_send(snippet([prog, *args]), remote_host(url), sent or ["-"], stdin, ctx)
    download_target(prog, args, url, ctx)


def download_target(prog: str, args: list[str], url: str, ctx: Ctx) -> None:
    """`curl -o .git/hooks/pre-commit URL`: downloaded code lands where it will run later."""
    for i, a in enumerate(args):
        opt, eq, val = a.partition("=")
        if opt in _OUTPUT or (a[:2] in ("-o", "-O") and len(a) > 2 and not a.startswith("--")):
            nxt = args[i + 1] if i + 1 < len(args) else ""
            path = val if eq else (a[2:] if len(a) > 2 else nxt)
            target = persistence_target(path) if path else None
            if target is not None:
                ctx.add(
                    target[0],
                    "config",
                    f"`{snippet([prog, *args])}` downloads {url or 'a file'} into {path}, "
                    f"{target[1]}: downloaded code would run later, unread.",
                )


def _remote(arg: str) -> str:
    """The host of an scp/rsync operand (`user@host:path`, `host::mod`, `rsync://host`)."""
    if arg.startswith(("rsync://", "scp://", "sftp://")):
        return remote_host(arg)
    head, sep, _ = arg.partition(":")
    if not sep or not head or "/" in head or len(head) == 1:  # a path, or `C:\...`
        return ""
    return head.rpartition("@")[2]


def _copy_remote(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    value = words("-i -P -p -o -F -c -l -S -J -e --rsh --exclude --include --filter -f")
    pos: list[str] = []
    skip = False
    for a in args:
        if skip:
            skip = False
        elif a in value:
            skip = True
        elif not a.startswith("-"):
            pos.append(a)
    if len(pos) < 2:
        return
    host = _remote(pos[-1])
    if host and not any(_remote(p) for p in pos[:-1]):
        report_send(snippet([prog, *args]), host, pos[:-1], stdin, ctx, "copies")


def _raw(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    shown = snippet([prog, *args])
    pos = [a for a in args if not a.startswith("-")]
    if prog == "socat":
        pos = [a.split(":")[1] for a in args if a.upper().startswith(("TCP", "UDP", "OPENSSL"))]
    host = pos[0] if pos else "a remote host"
    if stdin.secret:
        report_send(shown, host, ["-"], stdin, ctx)
        return
    ctx.add(
        "exfil.network",
        "network",
        f"`{shown}` opens a raw network connection to {' '.join(pos[:2]) or host}: whatever "
        "it is fed leaves the host, and what comes back may be run.",
    )


def _uploader(prog: str, args: list[str], stdin: Stdin, ctx: Ctx) -> None:
    pos = [a for a in args if not a.startswith("-")]
    secrets = [a for a in pos if secret_file(a)]
    if secrets:
        dest = next((a for a in reversed(pos) if "://" in a), "") or "a remote service"
        report_send(snippet([prog, *args]), remote_host(dest) or dest, secrets, stdin, ctx)


Sender = Callable[[str, list[str], Stdin, Ctx], None]
SENDERS: dict[str, Sender] = {
    **dict.fromkeys(words("curl wget http https xh"), _http_cli),
    **dict.fromkeys(words("scp rsync"), _copy_remote),
    **dict.fromkeys(words("nc ncat netcat socat telnet"), _raw),
    **dict.fromkeys(words("aws gsutil rclone gh az azcopy mail mailx sendmail mutt"), _uploader),
}
