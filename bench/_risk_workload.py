"""The 200-rule policy and the action mix `bench_risk` times.

The policy is the bundled default policy plus 35 tool families × 5 generated rules, the shape
a platform team's policy takes once every tool has its own guard rails: tool globs,
environments, effects, argument predicates, resource attributes, credentials and agents.
The action mix is mostly reads and staging writes, some production changes and a few
destructive calls, including the PocketOS one (an agent deleting a production volume whose
backups live on the same volume, with a token that reaches every environment).
"""

from __future__ import annotations

import json
from typing import Any

from interlock.risk import Action, Credential, Policy, Resource, default_policy

__all__ = ["FAMILIES", "RULE_COUNT", "action_mix", "generated_rules", "pocketos", "policy_200"]

FAMILIES = (
    "volume", "database", "bucket", "snapshot", "backup", "cluster", "node", "deployment",
    "service", "secret", "dns", "certificate", "loadBalancer", "firewall", "vpc", "subnet",
    "queue", "topic", "cache", "function", "container", "image", "registry", "repository",
    "pipeline", "domain", "user", "role", "apiKey", "billing", "webhook", "cron", "logSink",
    "alert", "dashboard",
)  # fmt: skip
RULE_COUNT = 200
_ARG_RULES: tuple[dict[str, Any], ...] = (
    {"count": {"gt": 25}},
    {"force": True},
    {"name": {"glob": "prod-*"}},
    {"region": {"not_in": ["eu-west-1", "eu-central-1"]}},
    {"replicas": {"gte": 50}},
)


def generated_rules() -> list[dict[str, Any]]:
    """Five rules per tool family, each a realistic guard rail on that family's tools."""
    rules: list[dict[str, Any]] = []
    for i, fam in enumerate(FAMILIES):
        glob = f"{fam}*"
        rtype = fam.lower()
        rules.append(
            {
                "id": f"{rtype}-prod-change",
                "reason": f"Changes a production {fam}.",
                "when": {
                    "tool": glob,
                    "environment": "production",
                    "effects": {"any": ["write", "config"]},
                },
                "points": 5 + i % 10,
            }
        )
        rules.append(
            {
                "id": f"{rtype}-delete",
                "reason": f"Deletes a {fam} ({{resource.id}}).",
                "when": {
                    "tool": [f"{fam}Delete", f"{fam}Destroy", f"{fam}Purge"],
                    "effects": {"any": ["delete", "destroy"]},
                },
                "points": 15,
                "floor": "high" if i % 2 else "medium",
            }
        )
        rules.append(
            {
                "id": f"{rtype}-critical-resource",
                "reason": f"Touches a tier-0 {fam}.",
                "when": {
                    "tool": glob,
                    "effects": {"none": ["read"]},
                    "resource": {"type": rtype, "tier": {"in": ["tier0", "critical"]}},
                },
                "points": 20,
                "floor": "high",
            }
        )
        rules.append(
            {
                "id": f"{rtype}-risky-args",
                "reason": f"Calls a {fam} tool with risky arguments.",
                "when": {"tool": glob, "args": _ARG_RULES[i % len(_ARG_RULES)]},
                "points": 10,
            }
        )
        if i % 5 == 0:
            # Only the operations agents may delete in production; others are refused.
            rules.append(
                {
                    "id": f"{rtype}-deny-foreign-agent",
                    "reason": f"Only ops agents may delete production {fam}s.",
                    "when": {
                        "tool": f"{fam}Delete",
                        "environment": "production",
                        "not": {"agent": ["ops-*", "sre-*"]},
                    },
                    "outcome": "deny",
                }
            )
        else:
            rules.append(
                {
                    "id": f"{rtype}-wide-token",
                    "reason": f"Uses a token valid in every environment on a {fam}.",
                    "when": {
                        "tool": glob,
                        "environment": ["production", "staging"],
                        "credential": {"environments": {"contains": "*"}},
                        "effects": {"any": ["write", "delete", "destroy", "config"]},
                    },
                    "points": 10,
                }
            )
    return rules


def _per_request(rule: Any) -> bool:
    """A rule that looks at the one request only: no `session:` condition (over the thread's
    earlier actions), which Cedar, judging one request at a time, has no counterpart for."""
    return "session" not in json.dumps(rule.get("when") or {})


def policy_200() -> Policy:
    """The default policy's per-request rules followed by the generated ones: exactly 200
    rules. Its session rules are timed on their own (`bench_risk`'s session row)."""
    data = default_policy().to_dict()
    data["name"] = "bench-200"
    own = [r for r in data["rules"] if _per_request(r)]
    data["rules"] = [*own, *generated_rules()][:RULE_COUNT]
    policy = Policy.from_dict(data, source="bench-200")
    if len(policy.rules) != RULE_COUNT:
        msg = f"the bench policy has {len(policy.rules)} rules, expected {RULE_COUNT}"
        raise RuntimeError(msg)
    return policy


_WIDE = Credential(name="platform-token", environments=frozenset({"*"}))
_STAGING_TOKEN = Credential(name="staging-deployer", environments=frozenset({"staging"}))
_PROD_TOKEN = Credential(name="prod-deployer", environments=frozenset({"production"}))


def pocketos() -> Action:
    """The incident: a production volume delete whose backups share the volume."""
    return Action(
        tool="volumeDelete",
        args={"volume_id": "vol-prod-db-01"},
        environment="production",
        resource=Resource(
            type="volume",
            id="vol-prod-db-01",
            attributes={"has_independent_backup": False, "tier": "tier0", "size_gb": 500},
        ),
        effects=frozenset({"delete", "destroy"}),
        reversible=False,
        agent="coding-agent",
        credential=_WIDE,
    )


def _res(fam: str, n: int, env: str, **attrs: Any) -> Resource:
    tier = "tier0" if n % 7 == 0 else "tier2"
    return Resource(
        type=fam.lower(), id=f"{fam.lower()}-{env[:4]}-{n:02d}", attributes={"tier": tier, **attrs}
    )


def _generic(tool: str, text: str, env: str, *, read: bool = False) -> Action:
    return Action(
        tool=tool,
        args={"command" if tool == "shell" else "query": text},
        environment=env,
        effects=frozenset({"read"}) if read else None,
        agent="ops-agent",
        credential=None if read else _PROD_TOKEN,
    )


def action_mix() -> list[Action]:
    """50 actions: 26 reads, 12 staging writes, 7 production changes, 5 destructive."""
    out: list[Action] = []
    for n in range(24):  # reads over the families, in every environment
        fam = FAMILIES[(n * 3) % len(FAMILIES)]
        env = ("production", "staging", "dev")[n % 3]
        out.append(
            Action(
                tool=f"{fam}{'List' if n % 2 else 'Get'}",
                args={"region": "eu-west-1", "limit": 50},
                environment=env,
                resource=_res(fam, n, env),
                effects=frozenset({"read"}),
                reversible=True,
                agent="ops-agent",
                credential=_PROD_TOKEN if env == "production" else _STAGING_TOKEN,
            )
        )
    out.append(_generic("shell", "ls -la /var/log/app", "staging", read=True))
    out.append(_generic("sql", "SELECT id, email FROM users LIMIT 20", "production", read=True))
    for n in range(12):  # staging writes
        fam = FAMILIES[(n * 5 + 1) % len(FAMILIES)]
        out.append(
            Action(
                tool=f"{fam}{'Create' if n % 3 else 'Update'}",
                args={"name": f"feature-{n}", "count": 3 + n, "region": "eu-west-1", "replicas": 2},
                environment="staging",
                resource=_res(fam, n + 1, "staging"),
                effects=frozenset({"write"}),
                reversible=True,
                agent="deploy-agent",
                credential=_WIDE if n % 4 == 0 else _STAGING_TOKEN,
            )
        )
    for n in range(7):  # production changes
        fam = FAMILIES[(n * 4 + 2) % len(FAMILIES)]
        out.append(
            Action(
                tool=f"{fam}Update",
                args={"name": f"prod-{fam.lower()}", "replicas": 4 + n * 10, "region": "us-east-1"},
                environment="production",
                resource=_res(fam, n, "production"),
                effects=frozenset({"config"} if n % 2 else {"write"}),
                reversible=n != 3,
                agent="ops-agent",
                credential=_WIDE if n == 5 else _PROD_TOKEN,
            )
        )
    out.append(pocketos())
    out.append(
        Action(
            tool="databaseDelete",
            args={"database": "orders_copy", "force": True},
            environment="staging",
            resource=_res("database", 3, "staging", has_independent_backup=True),
            effects=frozenset({"delete"}),
            reversible=False,
            agent="ops-agent",
            credential=_STAGING_TOKEN,
        )
    )
    out.append(
        Action(
            tool="bucketDelete",
            args={"name": "prod-exports", "force": True},
            environment="production",
            resource=_res("bucket", 5, "production"),  # backup status unknown: fails closed
            effects=frozenset({"delete"}),
            reversible=False,
            agent="sre-agent",
            credential=_PROD_TOKEN,
        )
    )
    # Generic tools declare nothing: the policy's defaults and the analyzers decide.
    out.append(_generic("shell", "rm -rf /var/lib/postgresql/data", "production"))
    out.append(_generic("sql", "DROP TABLE customers", "production"))
    return out
