"""Cloud CLI analyzers: aws, gcloud, gsutil, bq and az. Each takes the argv after the program."""

from __future__ import annotations

import re
from collections.abc import Sequence

from interlock.risk._model import Effect
from interlock.risk.analyzers._argv import Parsed, parse_argv
from interlock.risk.analyzers._findings import Finding, environment_of, snippet, words
from interlock.risk.analyzers._http import DATA_NOUNS, words_of
from interlock.risk.analyzers._sql import analyze_sql

__all__ = [
    "CLOUD_SIGNALS",
    "analyze_aws",
    "analyze_az",
    "analyze_bq",
    "analyze_gcloud",
    "analyze_gsutil",
]

CLOUD_SIGNALS: dict[str, str] = {
    "cloud.terminate": "a virtual machine is terminated (ec2 terminate-instances, vm delete)",
    "cloud.delete": "a cloud resource or its objects are deleted (delete-*, s3 rb, rm -r)",
    "cloud.detach": "a disk, volume or gateway is detached from what uses it",
    "cloud.disable_backups": "automated backups are switched off (retention 0, --no-backup)",
    "cloud.disable_protection": "deletion protection is switched off",
    "cloud.open_to_world": "a firewall, security group, bucket or ACL is opened to everyone",
    "cloud.iam_change": "IAM users, roles, policies, keys or bindings change",
}

# Agent text meets these regexes (Python's `re`, kept for speed): each is linear, with no
# nested or adjacent quantifiers over the same characters; tests/risk/test_bounds.py times
# every analyzer on 64 KiB adversarial text.
_WORLD = re.compile(r"(?:^|[\s\"',=\[])(?:0\.0\.0\.0/0|::/0|\*|internet|any)(?:$|[\s\"',\]])", re.I)
_PUBLIC_ACL = re.compile(
    r"public-read|allusers|allauthenticatedusers|\"principal\"\s*:\s*\"\*\"|"
    r"\"aws\"\s*:\s*\"\*\"",
    re.I,
)
_DELETE_PREFIXES = ("delete-", "remove-", "purge-", "destroy-", "deregister-")
_IAM_READ = ("get-", "list-", "generate-", "simulate-", "tag-", "untag-", "wait")


def _effect_for(words: Sequence[str]) -> Effect:
    return "destroy" if DATA_NOUNS.intersection(words) else "delete"


def _env(p: Parsed, explicit: str | None, default: str | None) -> str | None:
    """Explicit profile/configuration first, then any value or name that names an environment."""
    env = environment_of(explicit, explicit=True)
    if env:
        return env
    for raw in (*p.values(), *p.positionals):
        env = environment_of(raw, explicit=False)
        if env:
            return env
    return default


def _f(signal: str, effect: Effect, text: str, env: str | None) -> Finding:
    return Finding(signal=signal, effect=effect, text=text, environment=env)


_AWS_VALUE = words(
    "--profile --region --output --endpoint-url --query --cli-input-json "
    "--instance-ids --volume-id --db-instance-identifier --group-id --cidr "
    "--backup-retention-period --acl --policy --bucket --key --user-name --role-name "
    "--policy-arn --ip-permissions --protocol --port --instance-id"
)


def analyze_aws(argv: Sequence[str], env: str | None = None) -> list[Finding]:
    p = parse_argv(argv, _AWS_VALUE)
    if len(p.positionals) < 2:
        return []
    service, op = p.positionals[0].lower(), p.positionals[1].lower()
    env = _env(p, p.last("--profile"), env)
    shown = snippet(["aws", *argv])
    args = [*p.values(), *p.positionals[2:]]
    out: list[Finding] = []
    if service == "s3":
        target = " ".join(p.positionals[2:3]) or "the bucket"
        if op == "rb":
            effect: Effect = "destroy" if p.has("--force") else "delete"
            extra = " and every object in it" if p.has("--force") else ""
            out.append(
                _f("cloud.delete", effect, f"`{shown}` deletes bucket {target}{extra}.", env)
            )
        elif op == "rm" and p.has("--recursive"):
            out.append(
                _f("cloud.delete", "delete", f"`{shown}` deletes every object under {target}.", env)
            )
        elif op == "sync" and p.has("--delete"):
            text = f"`{shown}` deletes destination files that are missing from the source."
            out.append(_f("cloud.delete", "delete", text, env))
    elif service == "ec2" and op == "terminate-instances":
        ids = p.last("--instance-ids") or "the instances"
        text = f"`{shown}` terminates {ids}; their instance-store data is gone for good."
        out.append(_f("cloud.terminate", "destroy", text, env))
    elif service == "iam" and not op.startswith(_IAM_READ):
        out.append(_f("cloud.iam_change", "access", f"`{shown}` changes IAM permissions.", env))
    elif op.startswith("terminate-"):
        out.append(
            _f("cloud.terminate", "destroy", f"`{shown}` terminates {service} resources.", env)
        )
    elif op.startswith(_DELETE_PREFIXES) and not op.startswith("remove-tags"):
        words = words_of(op)
        effect = _effect_for(words) if op != "delete-secret" else "delete"
        if op == "schedule-key-deletion" or p.has("--force-delete-without-recovery"):
            effect = "destroy"
        extra = " with no final snapshot" if p.has("--skip-final-snapshot") else ""
        noun = " ".join(w for w in words if w not in ("delete", "remove", "purge", "destroy"))
        out.append(_f("cloud.delete", effect, f"`{shown}` deletes the {noun}{extra}.", env))
    elif op == "schedule-key-deletion":
        text = f"`{shown}` schedules a KMS key for deletion: data encrypted with it is lost."
        out.append(_f("cloud.delete", "destroy", text, env))
    elif op.startswith("detach-"):
        out.append(_f("cloud.detach", "config", f"`{shown}` detaches {op[7:]}.", env))
    if (p.last("--backup-retention-period") or "").strip() == "0":
        text = f"`{shown}` turns automated backups off; RDS deletes the existing automated backups."
        out.append(_f("cloud.disable_backups", "destroy", text, env))
    out.extend(_protection_off(p, shown, env))
    if op.startswith(("authorize-security-group", "modify-security-group")) and any(
        "0.0.0.0/0" in a or "::/0" in a for a in args
    ):
        text = f"`{shown}` opens the security group to the whole internet."
        out.append(_f("cloud.open_to_world", "network", text, env))
    elif any(_PUBLIC_ACL.search(a) for a in args if len(a) < 20_000):
        text = f"`{shown}` makes data readable by anyone (public ACL or policy)."
        out.append(_f("cloud.open_to_world", "access", text, env))
    return out


_GC_VALUE = words(
    "--project --zone --region --configuration --account --format --filter "
    "--source-ranges --member --role --impersonate-service-account --instance --disk"
)
_GC_VERBS = words(
    "delete rm rb purge destroy detach-disk create update patch "
    "add-iam-policy-binding set-iam-policy remove-iam-policy-binding "
    "add-access-config"
)


def _protection_off(p: Parsed, shown: str, env: str | None) -> list[Finding]:
    if not p.has("--no-deletion-protection"):
        return []
    text = f"`{shown}` turns deletion protection off."
    return [_f("cloud.disable_protection", "config", text, env)]


def _verb_path(positionals: Sequence[str], verbs: frozenset[str]) -> tuple[str, list[str]]:
    """`compute instances delete x` -> ("delete", ["compute", "instances"]); "" if no verb."""
    path: list[str] = []
    for w in positionals:
        if w.lower() in verbs:
            return w.lower(), path
        path.append(w.lower())
    return "", path


def analyze_gcloud(argv: Sequence[str], env: str | None = None) -> list[Finding]:
    p = parse_argv(argv, _GC_VALUE)
    verb, path = _verb_path(p.positionals, _GC_VERBS)
    if not verb:
        return []
    env = _env(p, p.last("--configuration"), env)
    shown = snippet(["gcloud", *argv])
    words = [x for w in path for x in words_of(w)]
    out: list[Finding] = []
    if verb in ("delete", "purge", "destroy"):
        if path[:2] == ["compute", "instances"]:
            out.append(
                _f(
                    "cloud.terminate",
                    "destroy",
                    f"`{shown}` deletes the VM and its boot disk.",
                    env,
                )
            )
        else:
            what = " ".join(path[-2:]) or "resource"
            out.append(
                _f("cloud.delete", _effect_for(words), f"`{shown}` deletes the {what}.", env)
            )
    elif verb in ("rm", "rb") and path[:1] == ["storage"]:
        if verb == "rb" or p.has("-r", "--recursive", "-R"):
            what = "the bucket" if verb == "rb" else "every object under the path"
            text = f"`{shown}` deletes {what}."
            out.append(_f("cloud.delete", "destroy" if verb == "rb" else "delete", text, env))
    elif verb == "detach-disk":
        out.append(_f("cloud.detach", "config", f"`{shown}` detaches a disk from the VM.", env))
    elif verb.endswith("iam-policy-binding") or verb == "set-iam-policy" or path[:1] == ["iam"]:
        member = p.last("--member") or ""
        if "allusers" in member.lower() or "allauthenticatedusers" in member.lower():
            out.append(
                _f("cloud.open_to_world", "access", f"`{shown}` grants access to everyone.", env)
            )
        out.append(_f("cloud.iam_change", "access", f"`{shown}` changes IAM permissions.", env))
    if "firewall-rules" in path and verb in ("create", "update"):
        ranges = p.last("--source-ranges")
        # A new ingress rule without --source-ranges or --source-tags is open to 0.0.0.0/0.
        default_open = verb == "create" and ranges is None and not p.has("--source-tags")
        if default_open or (ranges and _WORLD.search(ranges)):
            text = f"`{shown}` lets the whole internet reach the matching ports."
            out.append(_f("cloud.open_to_world", "network", text, env))
    if p.has("--no-backup"):
        out.append(
            _f("cloud.disable_backups", "config", f"`{shown}` turns automated backups off.", env)
        )
    out.extend(_protection_off(p, shown, env))
    return out


def analyze_gsutil(argv: Sequence[str], env: str | None = None) -> list[Finding]:
    p = parse_argv(argv, frozenset({"-o", "-h", "-u"}))
    if not p.positionals:
        return []
    cmd, rest = p.positionals[0].lower(), p.positionals[1:]
    env = _env(p, None, env)
    shown = snippet(["gsutil", *argv])
    if cmd == "rb":
        return [_f("cloud.delete", "destroy", f"`{shown}` deletes the bucket.", env)]
    if cmd == "rm" and (p.has("-r", "-R", "-a") or any("**" in r for r in rest)):
        return [
            _f("cloud.delete", "delete", f"`{shown}` deletes every object under the path.", env)
        ]
    if cmd in ("iam", "acl", "defacl") and any(_PUBLIC_ACL.search(a) for a in rest):
        return [_f("cloud.open_to_world", "access", f"`{shown}` makes the bucket public.", env)]
    return []


def analyze_bq(argv: Sequence[str], env: str | None = None) -> list[Finding]:
    p = parse_argv(argv, frozenset({"--project_id", "--location", "--format"}))
    if not p.positionals:
        return []
    cmd = p.positionals[0].lower()
    env = _env(p, None, env)
    if cmd == "rm":
        shown = snippet(["bq", *argv])
        what = "dataset and every table in it" if p.has("-r", "-d") else "table or dataset"
        return [_f("cloud.delete", "destroy", f"`{shown}` deletes the {what}.", env)]
    if cmd == "query" and len(p.positionals) > 1:
        return analyze_sql(p.positionals[-1], env)
    return []


_AZ_VALUE = words(
    "-g --resource-group --subscription -n --name --source-address-prefixes --access "
    "--role --assignee --output -o --query"
)


_AZ_VERBS = words("delete purge detach create update reset set-policy list show")


def analyze_az(argv: Sequence[str], env: str | None = None) -> list[Finding]:
    p = parse_argv(argv, _AZ_VALUE)
    verb, path = _verb_path(p.positionals, _AZ_VERBS)
    if not verb:
        return []
    env = _env(p, None, env)
    shown = snippet(["az", *argv])
    out: list[Finding] = []
    if verb in ("delete", "purge"):
        if path == ["vm"]:
            text = f"`{shown}` deletes the virtual machine."
            out.append(_f("cloud.terminate", "destroy", text, env))
        elif path == ["group"]:
            text = f"`{shown}` deletes the resource group and every resource in it."
            out.append(_f("cloud.delete", "destroy", text, env))
        elif path[:1] in (["role"], ["ad"]):
            text = f"`{shown}` removes a role assignment or identity."
            out.append(_f("cloud.iam_change", "access", text, env))
        else:
            keyvault = "keyvault" in path
            words = [x for w in path for x in words_of(w)] + (["vault"] if keyvault else [])
            effect: Effect = "destroy" if verb == "purge" else _effect_for(words)
            what = " ".join(path) or "resource"
            out.append(_f("cloud.delete", effect, f"`{shown}` deletes the {what}.", env))
    elif verb == "detach":
        out.append(_f("cloud.detach", "config", f"`{shown}` detaches a disk.", env))
    elif (path[:1] in (["role"], ["ad"]) or verb == "set-policy") and verb not in ("list", "show"):
        out.append(_f("cloud.iam_change", "access", f"`{shown}` changes who can do what.", env))
    if "nsg" in path and verb in ("create", "update"):
        prefixes = " ".join(p.opts.get("--source-address-prefixes", []))
        allow = (p.last("--access") or "allow").lower() == "allow"
        # A new rule with no source prefixes allows any source ("*").
        if allow and (_WORLD.search(f" {prefixes} ") or (verb == "create" and not prefixes)):
            text = f"`{shown}` lets the whole internet reach the matching ports."
            out.append(_f("cloud.open_to_world", "network", text, env))
    return out
