"""kubectl, helm, terraform and git analyzers. Each takes the argv after the program name."""

from __future__ import annotations

import re
from collections.abc import Sequence

from interlock.risk._model import Effect
from interlock.risk.analyzers._argv import Parsed, parse_argv
from interlock.risk.analyzers._findings import Finding, environment_of, snippet, words

__all__ = [
    "CLI_SIGNALS",
    "K_VALUE",
    "analyze_git",
    "analyze_helm",
    "analyze_kubectl",
    "analyze_terraform",
    "analyze_terraform_plan",
    "kubectl_environment",
]

CLI_SIGNALS: dict[str, str] = {
    "k8s.delete": "kubectl delete (or helm uninstall, apply --prune, replace --force)",
    "k8s.delete_namespace": "kubectl delete namespace: every object in it is deleted",
    "k8s.scale_to_zero": "kubectl scale --replicas=0: the workload stops serving",
    "k8s.apply": "kubectl apply/replace/patch or helm upgrade: live cluster objects change",
    "k8s.drain": "kubectl drain: every pod on the node is evicted",
    "k8s.cordon": "kubectl cordon: the node takes no new pods",
    "terraform.destroy": "terraform destroy or apply -destroy: managed resources are destroyed",
    "terraform.apply_with_deletions": "a terraform apply or plan that destroys or replaces things",
    "terraform.auto_approve": "terraform apply/destroy -auto-approve: no one confirms the plan",
    "terraform.state_rm": "terraform state rm / workspace delete: resources leave the state",
    "git.force_push": "git push --force/-f/--force-with-lease/--mirror/+ref: history overwritten",
    "git.remote_branch_delete": "git push --delete or :branch: a remote branch is deleted",
    "git.history_rewrite": "git reset --hard, filter-branch, filter-repo, reflog expire",
    "git.clean": "git clean -f: untracked files are deleted",
}

K_VALUE = words(
    "-n --namespace --context --cluster --user --kubeconfig -s --server --token -l "
    "--selector -o --output -f --filename --field-selector --as --as-group "
    "--request-timeout -c --container --replicas --grace-period --timeout -p --patch "
    "--type -k --kustomize --current-replicas --resource-version --sort-by --template "
    "--for --cascade --prune-allowlist --selector- --kube-context --values --set "
    "--version --chunk-size"
)
_NAMESPACE_KINDS = frozenset({"ns", "namespace", "namespaces"})
_DATA_KINDS = words(
    "pv pvc persistentvolume persistentvolumes persistentvolumeclaim "
    "persistentvolumeclaims crd crds customresourcedefinition "
    "customresourcedefinitions volumesnapshot volumesnapshots"
)


def kubectl_environment(p: Parsed, default: str | None) -> str | None:
    """Environment from --context/--cluster (explicit), else namespace or kubeconfig names."""
    for raw, explicit in (
        (p.last("--context", "--kube-context"), True),
        (p.last("--cluster"), True),
        (p.last("-n", "--namespace"), False),
        (p.last("--kubeconfig"), False),
    ):
        env = environment_of(raw, explicit=explicit)
        if env:
            return env
    return default


def analyze_kubectl(
    argv: Sequence[str], env: str | None = None, prog: str = "kubectl", parsed: Parsed | None = None
) -> list[Finding]:
    p = parsed or parse_argv(argv, K_VALUE)
    if not p.positionals:
        return []
    dry = p.last("--dry-run")
    if dry not in (None, "none") or "--dry-run" in p.flags:
        return []
    env = kubectl_environment(p, env)
    verb, rest = p.positionals[0].lower(), p.positionals[1:]
    shown = snippet([prog, *argv])
    ns = p.last("-n", "--namespace")
    where = (
        "in every namespace"
        if p.has("-A", "--all-namespaces")
        else (f"in namespace {ns}" if ns else "in the current namespace")
    )
    out: list[Finding] = []
    if verb == "delete":
        out.extend(_k_delete(p, rest, shown, where, env))
    elif verb == "scale" and (p.last("--replicas") or "").strip() == "0":
        target = " ".join(rest) or "the workload"
        text = f"`{shown}` scales {target} to zero replicas: it stops serving {where}."
        out.append(Finding(signal="k8s.scale_to_zero", effect="config", text=text, environment=env))
    elif verb in ("apply", "replace", "patch", "set", "edit", "create") and (
        verb != "create" or p.has("-f", "--filename", "-k", "--kustomize")
    ):
        text = f"`{shown}` changes live objects {where}."
        out.append(Finding(signal="k8s.apply", effect="config", text=text, environment=env))
        if verb == "apply" and p.has("--prune"):
            text = f"`{shown}` prunes: live objects missing from the manifests are deleted."
            out.append(Finding(signal="k8s.delete", effect="delete", text=text, environment=env))
        if verb == "replace" and p.has("--force"):
            text = f"`{shown}` deletes the objects and re-creates them (downtime, lost state)."
            out.append(Finding(signal="k8s.delete", effect="delete", text=text, environment=env))
    elif verb == "drain":
        text = f"`{shown}` evicts every pod from node {' '.join(rest) or '?'}."
        out.append(Finding(signal="k8s.drain", effect="config", text=text, environment=env))
    elif verb == "cordon":
        text = f"`{shown}` stops scheduling new pods on node {' '.join(rest) or '?'}."
        out.append(Finding(signal="k8s.cordon", effect="config", text=text, environment=env))
    return out


def _k_delete(p: Parsed, rest: list[str], shown: str, where: str, env: str | None) -> list[Finding]:
    kinds: list[str] = []
    names: list[str] = []
    if rest:
        for part in rest[0].lower().split(","):
            kind, _, name = part.partition("/")
            kinds.append(kind.split(".")[0])
            if name:
                names.append(name)
        names.extend(rest[1:])
    files = p.opts.get("-f", []) + p.opts.get("--filename", []) + p.opts.get("-k", [])
    selector = p.last("-l", "--selector")
    kind = "/".join(kinds)
    if not kinds and files:
        target = f"the objects defined in {', '.join(files)}"
    elif not kinds:
        return []
    elif p.has("--all"):
        target = f"every {kind} {where}"
    elif selector and not names:
        target = f"every {kind} matching {selector} {where}"
    else:
        target = f"{kind} {', '.join(names) or '?'} {where}"
    if _NAMESPACE_KINDS.intersection(kinds):
        text = (
            f"`{shown}` deletes namespace {', '.join(names) or '?'} and every object in it "
            "(deployments, services, secrets, volume claims)."
        )
        return [
            Finding(signal="k8s.delete_namespace", effect="destroy", text=text, environment=env)
        ]
    effect: Effect = "destroy" if _DATA_KINDS.intersection(kinds) else "delete"
    extra = " The data on those volumes may be lost." if effect == "destroy" else ""
    text = f"`{shown}` deletes {target}.{extra}"
    return [Finding(signal="k8s.delete", effect=effect, text=text, environment=env)]


def analyze_helm(argv: Sequence[str], env: str | None = None) -> list[Finding]:
    p = parse_argv(argv, K_VALUE)
    if not p.positionals:
        return []
    env = kubectl_environment(p, env)
    verb = p.positionals[0].lower()
    release = " ".join(p.positionals[1:2]) or "?"
    shown = snippet(["helm", *argv])
    if verb in ("uninstall", "delete", "del", "un"):
        text = f"`{shown}` uninstalls release {release}: every object it created is deleted."
        return [Finding(signal="k8s.delete", effect="delete", text=text, environment=env)]
    if verb in ("upgrade", "install", "rollback"):
        text = f"`{shown}` changes the live objects of release {release}."
        return [Finding(signal="k8s.apply", effect="config", text=text, environment=env)]
    return []


_TF_VALUE = words(
    "-var -var-file -target -replace -chdir -out -state -parallelism -lock-timeout -backend-config"
)
_TF_ENV_VARS = words("env environment stage tier workspace env_name")


def _tf_environment(p: Parsed, default: str | None) -> str | None:
    for assignment in p.opts.get("-var", []):
        key, _, value = assignment.partition("=")
        if key.strip().lower() in _TF_ENV_VARS:
            env = environment_of(value.strip().strip("\"'"), explicit=True)
            if env:
                return env
    for raw in (*p.opts.get("-var-file", []), p.last("-chdir"), *p.opts.get("-backend-config", [])):
        env = environment_of(raw, explicit=False)
        if env:
            return env
    return default


def analyze_terraform(
    argv: Sequence[str], env: str | None = None, prog: str = "terraform"
) -> list[Finding]:
    p = parse_argv(argv, _TF_VALUE, single_dash_long=True)
    pos = [a for a in p.positionals if a not in ("run-all", "run", "--all")]
    if not pos:
        return []
    env = _tf_environment(p, env)
    shown = snippet([prog, *argv])
    cmd = pos[0].lower()
    targets = p.opts.get("-target", [])
    scope = f"the targeted resources ({', '.join(targets)})" if targets else "every resource"
    out: list[Finding] = []
    auto = p.has("-auto-approve", "-force")
    if cmd == "destroy" or (cmd == "apply" and p.has("-destroy")):
        text = f"`{shown}` destroys {scope} this configuration manages."
        out.append(
            Finding(signal="terraform.destroy", effect="destroy", text=text, environment=env)
        )
    elif cmd == "apply" and p.opts.get("-replace"):
        text = f"`{shown}` destroys and re-creates {', '.join(p.opts['-replace'])}."
        out.append(
            Finding(
                signal="terraform.apply_with_deletions",
                effect="destroy",
                text=text,
                environment=env,
            )
        )
    if cmd in ("apply", "destroy") and auto:
        text = f"`{shown}` applies without showing anyone the plan (-auto-approve)."
        out.append(
            Finding(signal="terraform.auto_approve", effect="config", text=text, environment=env)
        )
    if cmd == "state" and len(pos) > 1 and pos[1] in ("rm", "remove"):
        text = (
            f"`{shown}` removes {', '.join(pos[2:]) or 'resources'} from Terraform state: "
            "they keep running but Terraform no longer manages them."
        )
        out.append(
            Finding(signal="terraform.state_rm", effect="config", text=text, environment=env)
        )
    if cmd == "workspace" and len(pos) > 2 and pos[1] == "delete":
        env = environment_of(pos[2], explicit=True)
        text = f"`{shown}` deletes workspace {pos[2]} and its state."
        out.append(
            Finding(signal="terraform.state_rm", effect="config", text=text, environment=env)
        )
    return out


# Plans are agent-supplied text (up to 64 KiB), read with Python's `re`: each pattern starts
# only where a run begins (lookbehind) and never gives back what a possessive `++` took, and
# an actions list is read at most 200 characters far, so every scan is linear. (Measured:
# 8,000 digits took 3.4 s with the earlier `(\d+)\s+to`, under 10 ms with these.)
_PLAN_SUMMARY = re.compile(r"(?<!\d)(\d++)\s++to\s++destroy\b")
_PLAN_LINE = re.compile(
    r"(?<!\S)#[ \t]*+(\S++)[ \t]++(?:will\s+be\s+destroyed|must\s+be\s+replaced)"
)
_PLAN_JSON = re.compile(r'"actions"\s*+:\s*+\[[^\]]{0,200}')


def analyze_terraform_plan(text: str, env: str | None = None) -> list[Finding]:
    """A plan or apply output that destroys or replaces resources."""
    if "destroy" not in text and "replaced" not in text and '"delete"' not in text:
        return []
    addresses = _PLAN_LINE.findall(text)
    counts = [int(m) for m in _PLAN_SUMMARY.findall(text)]
    deletes = sum('"delete"' in m for m in _PLAN_JSON.findall(text))
    n = max([len(addresses), deletes, *counts])
    if n == 0:
        return []
    named = f": {snippet(', '.join(addresses), 120)}" if addresses else ""
    text = f"The Terraform plan destroys or replaces {n} resource(s){named}."
    return [
        Finding(
            signal="terraform.apply_with_deletions", effect="destroy", text=text, environment=env
        )
    ]


_GIT_GLOBAL = words("-C -c --git-dir --work-tree --namespace --exec-path")
_GIT_VALUE = frozenset({"-o", "--push-option", "--repo", "--receive-pack", "--exec"})


def analyze_git(argv: Sequence[str], env: str | None = None) -> list[Finding]:
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        i += 2 if argv[i] in _GIT_GLOBAL else 1
    if i >= len(argv):
        return []
    sub, args = argv[i].lower(), argv[i + 1 :]
    shown = snippet(["git", *argv])
    p = parse_argv(args, _GIT_VALUE)
    out: list[Finding] = []
    if sub == "push":
        refs = p.positionals[1:]
        env = next((e for r in refs if (e := environment_of(r, explicit=False))), env)
        remote = p.positionals[0] if p.positionals else "the remote"
        branches = ", ".join(r.lstrip("+:") for r in refs) or "the pushed branches"
        force = (
            p.has("--force", "-f", "--mirror")
            or any(k.startswith("--force-with-lease") for k in (*p.flags, *p.opts))
            or any(r.startswith("+") for r in refs)
        )
        if force:
            text = (
                f"`{shown}` overwrites the history of {branches} on {remote}: "
                "commits others pushed there can be lost."
            )
            out.append(
                Finding(signal="git.force_push", effect="destroy", text=text, environment=env)
            )
        deleted = [r[1:] for r in refs if r.startswith(":") and len(r) > 1]
        if p.has("--delete", "-d") or deleted:
            names = ", ".join(deleted) or branches
            text = f"`{shown}` deletes {names} on {remote}."
            out.append(
                Finding(
                    signal="git.remote_branch_delete", effect="delete", text=text, environment=env
                )
            )
    elif sub == "reset" and p.has("--hard"):
        target = p.positionals[0] if p.positionals else "HEAD"
        text = f"`{shown}` discards uncommitted changes and moves the branch to {target}."
        out.append(
            Finding(signal="git.history_rewrite", effect="destroy", text=text, environment=env)
        )
    elif sub in ("filter-branch", "filter-repo") or (sub == "reflog" and "expire" in p.positionals):
        text = f"`{shown}` rewrites or expires history; old commits become unrecoverable."
        out.append(
            Finding(signal="git.history_rewrite", effect="destroy", text=text, environment=env)
        )
    elif sub == "clean" and p.has("-f", "--force") and not p.has("-n", "--dry-run"):
        extra = " including ignored files" if p.has("-x", "-X") else ""
        text = f"`{shown}` deletes untracked files{extra}; they are not in git history."
        out.append(Finding(signal="git.clean", effect="delete", text=text, environment=env))
    return out
