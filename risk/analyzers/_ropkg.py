"""What package managers and the cloud CLIs (aws, gcloud, az) do (see `_readonly`)."""

from __future__ import annotations

from interlock.risk.analyzers._argv import parse_argv
from interlock.risk.analyzers._findings import words
from interlock.risk.analyzers._rotypes import Classifier, Nested
from interlock.risk.analyzers._verdict import Verdict, destroy, read, write

__all__ = ["PKG_PROGRAMS"]

# Subcommands that only query, per package manager (the first positional word).
_PKG_READ: dict[str, frozenset[str]] = {
    "apt": words("list show search policy depends rdepends changelog"),
    "apt-cache": words("show search policy depends rdepends showpkg stats madison pkgnames"),
    "dpkg-query": words("-l -L -s -S -W --list --listfiles --status --search --show"),
    "yum": words("list info search repolist provides check-update deplist"),
    "dnf": words("list info search repolist provides check-update repoquery deplist"),
    "brew": words("list ls info search outdated deps uses config doctor leaves desc home"),
    "pip": words("list show freeze check search index inspect debug"),
    "npm": words(
        "ls list ll view info show outdated search whoami ping explain why root "
        "prefix bin query docs repo fund doctor"
    ),
    "yarn": words("list info why outdated licenses"),
    "pnpm": words("list ls outdated why licenses"),
    "cargo": words("tree search metadata locate-project pkgid verify-project"),
    "go": words("list version env doc"),
    "gem": words("list search info query outdated environment contents dependency specification"),
    "poetry": words("show check search"),
    "conda": words("list info search"),
    "composer": words("show outdated info licenses depends why why-not"),
    "apk": words("info search list policy dot"),
    "snap": words("list info find connections"),
    "flatpak": words("list info search remote-ls"),
    "rpm": words("-q -qa -qi -ql -qf --query -V --verify"),
    "pacman": words("-Q -Qi -Ql -Qs -Ss -Si -Qe -Qo"),
    "uv": words("tree version"),
}
for _alias, _of in (("pip3", "pip"), ("apt-get", "apt"), ("npx", "npm"), ("dpkg", "dpkg-query")):
    _PKG_READ.setdefault(_alias, _PKG_READ[_of])
_PKG_AUDIT = words("audit")  # reads, unless asked to fix


def _pkg(prog: str, args: list[str], n: Nested) -> Verdict:
    shown = [prog, *args]
    reads = _PKG_READ.get(prog, frozenset())
    if not args or "--version" in args or args[:1] in (["-v"], ["-V"], ["help"], ["--help"]):
        return read(shown, "prints help or the version")
    if prog in ("rpm", "pacman", "dpkg", "dpkg-query"):
        if args[0] in reads:
            return read(shown, "only queries installed packages")
        return write(shown, "installs, removes or changes packages")
    sub = next((a for a in args if not a.startswith("-")), "")
    if prog == "uv" and sub == "pip":
        rest = [a for a in args if not a.startswith("-")][1:2]
        if rest and rest[0] in _PKG_READ["pip"]:
            return read(shown, "only lists or shows packages")
    if sub in reads or (sub in _PKG_AUDIT and "fix" not in args and "--fix" not in args):
        return read(shown, f"({prog} {sub}) only queries packages")
    if prog in ("npm", "yarn", "pnpm") and sub in ("config", "get") and "set" not in args:
        return read(shown, "only shows configuration")
    if prog == "conda" and args[:2] == ["env", "list"]:
        return read(shown, "only lists environments")
    return write(shown, f"({prog} {sub}) installs, removes or runs something")


_AWS_VALUE = words(
    "--profile --region --output --endpoint-url --query --cli-input-json --filters "
    "--instance-ids --bucket --key --log-group-name --max-items --starting-token"
)
_AWS_READ_PREFIXES = (
    "describe-",
    "list-",
    "get-",
    "lookup-",
    "search-",
    "batch-get-",
    "head-",
    "query",
    "scan",
    "filter-log-events",
    "tail",
    "wait",
    "validate-",
    "estimate-",
    "preview-",
    "test-",
)
_AWS_DESTROY_PREFIXES = (
    "delete-",
    "terminate-",
    "remove-",
    "purge-",
    "destroy-",
    "deregister-",
    "schedule-key-",
)
# `get-*` operations that create or change something despite their name.
_AWS_NOT_READ = words("get-login get-federation-token get-session-token")


def _aws(prog: str, args: list[str], n: Nested) -> Verdict:
    p = parse_argv(args, _AWS_VALUE)
    pos = [x.lower() for x in p.positionals]
    shown = [prog, *args]
    if not pos or p.has("--version") or pos[:1] == ["help"]:
        return read(shown, "prints help or the version")
    if pos[0] == "configure" and pos[1:2] in (["list"], ["get"], ["list-profiles"]):
        return read(shown, "only shows the CLI's configuration")
    if len(pos) < 2:
        return write(shown, "may change AWS resources")
    service, op = pos[0], pos[1]
    if service == "s3":
        if op == "ls":
            return read(shown, "only lists buckets or objects")
        if op in ("rm", "rb"):
            return destroy(shown, "deletes S3 objects or buckets", signal=False)
        return write(shown, f"(aws s3 {op}) copies, moves or syncs objects")
    if p.has("--dry-run"):
        return read(shown, "is a dry run: AWS only checks the permissions")
    if op.startswith(_AWS_READ_PREFIXES) and op not in _AWS_NOT_READ:
        return read(shown, f"(aws {service} {op}) only reads")
    if op.startswith(_AWS_DESTROY_PREFIXES):
        return destroy(shown, f"(aws {service} {op}) deletes AWS resources", signal=False)
    return write(shown, f"(aws {service} {op}) changes AWS resources")


# gcloud and az: GROUP... VERB; the first word that is a verb decides.
_GC_READ = words(
    "list describe show get-iam-policy get-value get read tail info version print-access-token "
    "print-identity-token get-serial-port-output ls cat du exists query wait check browse "
    "get-access-token get-ancestors list-grantable-roles list-tags"
)
_GC_DESTROY = words("delete purge rm rb remove destroy")
_GC_WRITE = words(
    "create update set add deploy patch stop start restart reset resize attach detach import "
    "export move rename enable disable undelete restore apply deallocate redeploy ssh scp cp mv "
    "rsync revoke grant get-credentials login activate-service-account upload download "
    "submit execute invoke scale swap sync"
)


def _cloud(prog: str, args: list[str], n: Nested) -> Verdict:
    p = parse_argv(
        args,
        words(
            "--project --zone --region --configuration --account --format "
            "--filter -g --resource-group --subscription -n --name -o --output "
            "--query --limit --sort-by"
        ),
    )
    shown = [prog, *args]
    if not p.positionals or p.has("--version") or p.positionals[:1] == ["version"]:
        return read(shown, "prints help or the version")
    for word in [x.lower() for x in p.positionals[:6]]:
        if word in _GC_DESTROY or word.startswith("delete-"):
            return destroy(shown, f"({prog} ... {word}) deletes cloud resources", signal=False)
        if word in _GC_WRITE or word.startswith(("add-", "remove-", "set-", "update-", "create-")):
            return write(shown, f"({prog} ... {word}) changes cloud resources")
        if word in _GC_READ or word.startswith(("list-", "describe-", "show-")):
            return read(shown, f"({prog} ... {word}) only reads")
    return write(shown, f"may change cloud resources: no verb of {prog} Interlock knows")


PKG_PROGRAMS: dict[str, Classifier] = {
    **dict.fromkeys(_PKG_READ, _pkg),
    "aws": _aws,
    "gcloud": _cloud,
    "az": _cloud,
}
