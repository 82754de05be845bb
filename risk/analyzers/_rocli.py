"""What the everyday CLIs do: Unix tools, git, gh, kubectl, helm, docker, terraform,
systemctl, journalctl, crontab and find (see `_readonly`)."""

from __future__ import annotations

from interlock.risk._model import Effect
from interlock.risk.analyzers._argv import parse_argv
from interlock.risk.analyzers._clitools import K_VALUE
from interlock.risk.analyzers._findings import words
from interlock.risk.analyzers._rocontainers import CONTAINER_PROGRAMS
from interlock.risk.analyzers._rotypes import Classifier, Nested
from interlock.risk.analyzers._verdict import Verdict, destroy, read, write

__all__ = ["CLI_PROGRAMS"]

# Programs that only read or print, whatever their arguments (redirects are checked apart).
_READERS = words(
    "ls ll dir cat tac head tail less more grep egrep fgrep zgrep zcat bzcat xzcat rg ag ack "
    "wc sort uniq cut tr column jq nl fold fmt paste join expand rev echo printf pwd whoami id "
    "groups hostname uname date uptime df du free ps pgrep top htop stat file which whereis type "
    "printenv realpath readlink basename dirname diff cmp comm md5sum sha1sum sha256sum "
    "sha512sum cksum base64 xxd od hexdump strings tree locate dig nslookup host ping "
    "traceroute tracepath netstat ss lsof nproc lscpu lsblk lsusb lspci getent last w who "
    "test [ sleep seq vmstat iostat mpstat sar env-show tput clear man help history jobs "
    "whois curl-config ldd arch lsmod timedatectl-status"
)
_DESTROYERS = {
    "rm": "deletes files",
    "rmdir": "deletes directories",
    "unlink": "deletes a file",
    "shred": "overwrites files beyond recovery",
    "dd": "copies raw bytes, devices included",
    "mkfs": "erases a filesystem",
    "truncate": "cuts files short",
}


def _reader(prog: str, args: list[str], n: Nested) -> Verdict:
    return read([prog, *args], "only reads and prints")


def _destroyer(prog: str, args: list[str], n: Nested) -> Verdict:
    # The shell analyzer reports the dangerous shapes (rm -r, shred, dd of=/dev/...).
    return destroy([prog, *args], _DESTROYERS[prog], signal=False)


def _sed(prog: str, args: list[str], n: Nested) -> Verdict:
    if any(
        a.startswith("--in-place") or (a[:1] == "-" and a[1:2] != "-" and "i" in a[1:])
        for a in args
    ):
        return write([prog, *args], "edits files in place")
    return read([prog, *args], "prints an edited copy; no file changes")


def _awk(prog: str, args: list[str], n: Nested) -> Verdict:
    text = " ".join(args)
    if "system" in text or ">" in text or "|" in text or "-i" in args:
        return write([prog, *args], "may run commands or write files from its program")
    return read([prog, *args], "only reads and prints")


def _find(prog: str, args: list[str], n: Nested) -> Verdict:
    shown = [prog, *args]
    if "-delete" in args:
        return destroy(shown, "deletes every file it matches", signal=False)
    if not {"-fprint", "-fprint0", "-fprintf", "-fls"}.isdisjoint(args):
        return write(shown, "writes its results into a file")
    out = []
    for k, a in enumerate(args):
        if a in ("-exec", "-execdir", "-ok", "-okdir"):
            end = next(
                (j for j in range(k + 1, len(args)) if args[j] in (";", "+", "\\;")), len(args)
            )
            inner = [x for x in args[k + 1 : end] if x != "{}"]
            out.append(n.argv(inner))
    bad = next((v for v in out if v.kind != "read"), None)
    if bad is not None:
        return Verdict(bad.kind, f"`find` runs, on every match: {bad.reason}", bad.findings)
    return read(shown, "only lists files")


_GIT_READ = words(
    "status log diff show blame shortlog describe rev-parse rev-list ls-files ls-tree "
    "ls-remote cat-file grep show-ref for-each-ref merge-base name-rev whatchanged version "
    "help count-objects fsck verify-commit verify-tag check-ignore cherry range-diff "
    "show-branch fetch"
)
_GIT_GLOBAL = words("-C -c --git-dir --work-tree --namespace")


def _git(prog: str, args: list[str], n: Nested) -> Verdict:
    i = 0
    while i < len(args) and args[i].startswith("-"):
        i += 2 if args[i] in _GIT_GLOBAL else 1
    shown = [prog, *args]
    if i >= len(args):
        return read(shown, "prints git's help or version")
    sub, rest = args[i].lower(), args[i + 1 :]
    opts = [a for a in rest if a.startswith("-")]
    pos = [a for a in rest if not a.startswith("-")]
    if sub in _GIT_READ:
        why = (
            "downloads remote commits; no branch or file changes"
            if sub == "fetch"
            else (f"(git {sub}) only reads the repository")
        )
        return read(shown, why)
    listing = {
        "branch": not pos
        or (
            bool(
                {
                    "-a",
                    "-r",
                    "-v",
                    "-vv",
                    "--list",
                    "--show-current",
                    "--contains",
                    "--merged",
                    "--no-merged",
                    "-l",
                }
                & set(opts)
            )
            and not {"-d", "-D", "-m", "-M", "-c", "-C", "--delete", "-f"} & set(opts)
        ),
        "tag": not pos or "-l" in opts or "--list" in opts,
        "remote": not pos or pos[0] in ("show", "get-url", "-v"),
        "stash": bool(pos) and pos[0] in ("list", "show"),
        "config": bool({"--get", "--get-all", "--list", "-l", "--get-regexp"} & set(opts)),
        "worktree": pos[:1] == ["list"],
        "reflog": not pos or pos[0] == "show",
        "notes": not pos or pos[0] in ("list", "show"),
        "submodule": pos[:1] == ["status"],
        "bisect": pos[:1] in (["log"], ["view"]),
    }
    if listing.get(sub):
        return read(shown, f"(git {sub}) only lists")
    if (
        (sub == "reset" and "--hard" in opts)
        or sub in ("filter-branch", "filter-repo")
        or (sub == "clean" and "-n" not in opts and "--dry-run" not in opts)
        or (
            sub == "push"
            and any(o.startswith(("-f", "--force", "--mirror", "--delete", "-d")) for o in opts)
        )
        or (sub == "stash" and pos[:1] in (["drop"], ["clear"]))
    ):
        return destroy(shown, "throws away commits, branches or uncommitted work", signal=False)
    return write(shown, f"(git {sub}) changes the repository or its remote")


# gh NOUN VERB: the verbs that only look.
_GH_READ = words("list ls view status diff checks search watch verify get download-url")
_GH_DELETE = words("delete remove rm")


def _gh(prog: str, args: list[str], n: Nested) -> Verdict:
    p = parse_argv(
        args,
        words(
            "-R --repo -X --method -f -F --field --raw-field -H --header "
            "--input -q --jq -t --template -L --limit -s --state -B -b"
        ),
    )
    pos = p.positionals
    shown = [prog, *args]
    if not pos or pos[0] in ("version", "help", "status", "browse") or p.has("--version"):
        return read(shown, "only shows")
    noun, verb = pos[0].lower(), (pos[1].lower() if len(pos) > 1 else "")
    if noun == "api":
        method = (p.last("-X", "--method") or "").upper()
        if not method:
            fields = p.has("-f", "-F", "--field", "--raw-field", "--input")
            method = "POST" if fields else "GET"
        if method in ("GET", "HEAD"):
            return read(shown, f"is a {method} to the GitHub API: it only reads")
        if method == "DELETE":
            return destroy(shown, "asks the GitHub API to delete what the path names")
        return write(shown, f"is a {method} to the GitHub API")
    if noun == "search" or verb in _GH_READ or (noun == "auth" and verb in ("status", "token")):
        return read(shown, f"(gh {noun} {verb}) only reads GitHub")
    if noun in ("config", "variable", "secret", "label", "cache") and verb in ("get", "list"):
        return read(shown, f"(gh {noun} {verb}) only reads")
    if verb in _GH_DELETE:
        what = {"repo": "the repository, its issues, pull requests and wiki"}.get(noun, noun)
        effect: Effect = "destroy" if noun in ("repo", "release", "gist") else "delete"
        return destroy(shown, f"deletes {what} on GitHub", effect)
    return write(shown, f"(gh {noun} {verb}) changes something on GitHub")


_K_READ = words(
    "get describe logs top explain version cluster-info api-resources api-versions events "
    "diff wait completion"
)


def _kubectl(prog: str, args: list[str], n: Nested) -> Verdict:
    p = parse_argv(args, K_VALUE)
    shown = [prog, *args]
    if not p.positionals:
        return read(shown, "prints help")
    verb, rest = p.positionals[0].lower(), [x.lower() for x in p.positionals[1:]]
    dry = p.last("--dry-run")
    if verb in _K_READ:
        return read(shown, f"(kubectl {verb}) only reads the cluster")
    if (
        (verb == "auth" and rest[:1] in (["can-i"], ["whoami"]))
        or (
            verb == "config"
            and rest[:1]
            and rest[0] in ("view", "get-contexts", "current-context", "get-clusters", "get-users")
        )
        or (verb == "rollout" and rest[:1] in (["status"], ["history"]))
    ):
        return read(shown, f"(kubectl {verb} {rest[0]}) only reads")
    if (dry not in (None, "none")) or "--dry-run" in p.flags:
        return read(shown, "is a dry run: nothing changes")
    if verb == "exec":
        inner = p.after_dashdash or p.positionals[2:]
        v = n.argv(list(inner))
        return Verdict(v.kind, f"`kubectl exec` runs in the pod: {v.reason}", v.findings)
    if verb == "delete":
        return destroy(shown, "deletes cluster objects", signal=False)
    return write(shown, f"(kubectl {verb}) changes the cluster")


_TF_READ = words("plan show validate output providers version graph console")


def _terraform(prog: str, args: list[str], n: Nested) -> Verdict:
    pos = [a for a in args if not a.startswith("-") and a not in ("run-all", "run")]
    shown = [prog, *args]
    if not pos or pos[0] in _TF_READ:
        return read(shown, "only reads state and configuration; nothing is applied")
    if pos[0] == "fmt" and ("-check" in args or "--check" in args):
        return read(shown, "only checks formatting")
    if pos[0] in ("state", "workspace") and pos[1:2] and pos[1] in ("list", "show", "pull"):
        return read(shown, f"({prog} {pos[0]} {pos[1]}) only reads")
    if pos[0] == "destroy" or "-destroy" in args or pos[:2] == ["state", "rm"]:
        return destroy(shown, "destroys infrastructure or drops it from the state", signal=False)
    return write(shown, f"({prog} {pos[0]}) changes infrastructure, state or the working dir")


_SYSTEMCTL_READ = words(
    "status is-active is-enabled is-failed is-system-running list-units list-unit-files "
    "list-timers list-sockets list-jobs list-dependencies list-machines show cat get-default "
    "help show-environment"
)


def _systemctl(prog: str, args: list[str], n: Nested) -> Verdict:
    pos = [a for a in args if not a.startswith("-")]
    shown = [prog, *args]
    if not pos or pos[0] in _SYSTEMCTL_READ or "--version" in args:
        return read(shown, "only shows units and their state")
    return write(shown, f"(systemctl {pos[0]}) starts, stops or reconfigures services")


def _service(prog: str, args: list[str], n: Nested) -> Verdict:
    if (len(args) > 1 and args[1] == "status") or args[:1] == ["--status-all"]:
        return read([prog, *args], "only shows the service's state")
    return write([prog, *args], "starts, stops or reconfigures a service")


def _journalctl(prog: str, args: list[str], n: Nested) -> Verdict:
    if any(a.startswith(("--vacuum", "--rotate", "--flush", "--relinquish")) for a in args):
        return destroy([prog, *args], "deletes or moves the system logs")
    return read([prog, *args], "only reads the system logs")


def _crontab(prog: str, args: list[str], n: Nested) -> Verdict:
    flags = {a for a in args if a.startswith("-")}
    if "-l" in flags:
        return read([prog, *args], "only lists the cron jobs")
    if "-r" in flags:
        return destroy([prog, *args], "deletes every cron job of the user")
    return write([prog, *args], "replaces the user's cron jobs")


def _dmesg(prog: str, args: list[str], n: Nested) -> Verdict:
    if {"-c", "-C", "--clear", "--read-clear"} & set(args):
        return destroy([prog, *args], "clears the kernel log")
    return read([prog, *args], "only reads the kernel log")


def _tar(prog: str, args: list[str], n: Nested) -> Verdict:
    first = args[0].lstrip("-") if args else ""
    if (
        first.startswith("t")
        or "--list" in args
        or (first and "t" in first and "x" not in first and "c" not in first)
    ):
        return read([prog, *args], "only lists the archive")
    return write([prog, *args], "creates or extracts files")


CLI_PROGRAMS: dict[str, Classifier] = {
    **dict.fromkeys(_READERS, _reader),
    **dict.fromkeys(_DESTROYERS, _destroyer),
    "sed": _sed,
    "awk": _awk,
    "gawk": _awk,
    "find": _find,
    "git": _git,
    "gh": _gh,
    "kubectl": _kubectl,
    "oc": _kubectl,
    **CONTAINER_PROGRAMS,
    "terraform": _terraform,
    "tofu": _terraform,
    "terragrunt": _terraform,
    "systemctl": _systemctl,
    "service": _service,
    "journalctl": _journalctl,
    "crontab": _crontab,
    "dmesg": _dmesg,
    "tar": _tar,
}
