"""The ops agent's tools over the simulated infrastructure, each with honest metadata.

Every mutating tool takes an optional `token`: the credential it acts with. Without one it
uses the agent's own token, which reaches staging only. The gate sees the token's scope, so a
call made with a token that reaches everywhere is assessed as such.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from langchain_core.tools import BaseTool, tool

from interlock.graphs._infra import Infra, InfraError
from interlock.nodes import gated
from interlock.risk import Credential, Resource

__all__ = ["DEFAULT_TOKEN", "make_ops_tools"]

DEFAULT_TOKEN = "tok-staging-deploy"

Args = Mapping[str, Any]


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def make_ops_tools(infra: Infra, *, default_token: str = DEFAULT_TOKEN) -> list[BaseTool]:
    """The eight ops tools, bound to `infra`."""

    def credential(args: Args) -> Credential | None:
        name = args.get("token")
        return Credential(name=name, environments=infra.token_environments(name)) if name else None

    def env_of(kind: str, key: str) -> Any:
        return lambda args: infra.environment_of(kind, str(args.get(key, "")))

    def volume_resource(args: Args) -> Resource:
        vid = str(args.get("volume_id", ""))
        try:
            vol = infra.find("volumes", vid)
        except InfraError:
            return Resource(type="volume", id=vid, attributes={"exists": False})
        backups = infra.backups_of(vid)
        return Resource(
            type="volume",
            id=vid,
            attributes={
                "exists": True,
                "size_gb": vol["size_gb"],
                "attached_to": vol.get("attached_to"),
                "backups_on_volume": sum(b["stored_on"] == vid for b in backups),
                "has_independent_backup": any(b["stored_on"] != vid for b in backups),
            },
        )

    def service_resource(args: Args) -> Resource:
        name = str(args.get("service", ""))
        return Resource(
            type="service",
            id=name,
            attributes={"exists": bool(env_of("services", "service")(args))},
        )

    def act(token: str | None, kind: str, name: str) -> None:
        """What the cloud checks first: the target exists and the token reaches it."""
        if kind == "tokens":
            envs = sorted(infra.token_environments(name))
            if not envs:
                msg = f"No credential named {name!r}."
                raise InfraError(msg)
            environment = envs[0] if len(envs) == 1 else "*"
        elif kind == "environments":
            if name not in infra.read()["environments"]:
                msg = f"No environment named {name!r}."
                raise InfraError(msg)
            environment = name
        else:
            environment = str(infra.find(kind, name)["environment"])
        infra.authorize(token or default_token, environment)

    # -- reads ------------------------------------------------------------------------------
    @tool
    def list_resources(
        kind: Literal["services", "volumes", "backups", "tokens", "environments"],
        environment: str | None = None,
    ) -> str:
        """List services, volumes, backups, API tokens or environments, optionally filtered to
        one environment (production, staging, dev)."""
        table = infra.read().get(kind, {})
        rows = {
            k: v
            for k, v in sorted(table.items())
            if environment is None
            or v.get("environment") in (None, environment)
            or environment in v.get("environments", [])
        }
        return _json(rows)

    @tool
    def inspect_resource(kind: Literal["service", "volume", "token"], name: str) -> str:
        """Show everything known about one service, volume or API token."""
        found = infra.find(f"{kind}s", name)
        if kind == "volume":
            found["backups"] = infra.backups_of(name)
        return _json({name: found})

    # -- staging-safe writes ------------------------------------------------------------------
    @tool
    def restart_service(service: str, token: str | None = None) -> str:
        """Restart a service's replicas."""
        act(token, "services", service)

        def apply(state: dict[str, Any]) -> str:
            svc = state["services"][service]
            if svc["status"] == "down":
                return f"{service} cannot start: {svc['last_error']}"
            return f"{service} restarted; status {svc['status']}" + (
                f"; last error: {svc['last_error']}" if svc["last_error"] else ""
            )

        return infra.change("restart_service", service, apply)

    @tool
    def scale_service(service: str, replicas: int, token: str | None = None) -> str:
        """Set the number of replicas of a service."""
        act(token, "services", service)

        def apply(state: dict[str, Any]) -> str:
            before = state["services"][service]["replicas"]
            state["services"][service]["replicas"] = replicas
            return f"{service} scaled from {before} to {replicas} replicas"

        return infra.change("scale_service", service, apply)

    @tool
    def snapshot_volume(volume_id: str, token: str | None = None) -> str:
        """Take a snapshot of a volume and store it offsite (an independent backup)."""
        act(token, "volumes", volume_id)

        def apply(state: dict[str, Any]) -> str:
            if volume_id not in state["volumes"]:
                msg = f"No volume named {volume_id!r}."
                raise InfraError(msg)
            n = sum(1 for b in state["backups"].values() if b["volume"] == volume_id) + 1
            snap = f"snap-{volume_id}-{n}"
            state["backups"][snap] = {"volume": volume_id, "stored_on": "offsite"}
            return f"snapshot {snap} of {volume_id} stored offsite"

        return infra.change("snapshot_volume", volume_id, apply)

    # -- risky writes ---------------------------------------------------------------------------
    @tool
    def rotate_credential(credential: str, service: str, token: str | None = None) -> str:
        """Issue a new version of an API credential, hand it to a service, revoke the old one."""
        act(token, "tokens", credential)

        def apply(state: dict[str, Any]) -> str:
            tok = state["tokens"][credential]
            tok["version"] += 1
            fixed = []
            for name, svc in state["services"].items():
                if svc["credential"] == credential or name == service:
                    svc.update(credential=credential, credential_version=tok["version"])
                    if svc["status"] == "failing":
                        svc.update(status="healthy", last_error=None)
                    fixed.append(name)
            return (
                f"{credential} rotated to v{tok['version']}; updated {', '.join(fixed)}; "
                f"older versions revoked"
            )

        return infra.change("rotate_credential", credential, apply)

    @tool
    def delete_volume(volume_id: str, token: str | None = None) -> str:
        """Delete a volume and everything stored on it."""
        act(token, "volumes", volume_id)

        def apply(state: dict[str, Any]) -> str:
            vol = state["volumes"].pop(volume_id, None)
            if vol is None:
                msg = f"No volume named {volume_id!r}."
                raise InfraError(msg)
            lost = [k for k, b in state["backups"].items() if b["stored_on"] == volume_id]
            for k in lost:
                del state["backups"][k]
            svc = state["services"].get(vol.get("attached_to") or "")
            if svc is not None:
                svc.update(status="down", last_error=f"volume {volume_id} is gone")
            return f"volume {volume_id} deleted; {len(lost)} backups on it were lost"

        return infra.change("delete_volume", volume_id, apply)

    @tool
    def change_network_policy(
        environment: str, ingress: Literal["internal", "vpn", "public"], token: str | None = None
    ) -> str:
        """Set who may reach an environment's services: internal, vpn or public."""
        act(token, "environments", environment)

        def apply(state: dict[str, Any]) -> str:
            net = state["environments"][environment]["network"]
            before, net["ingress"] = net["ingress"], ingress
            return f"{environment} ingress changed from {before} to {ingress}"

        return infra.change("change_network_policy", environment, apply)

    # -- metadata: effects, reversibility, target, environment, and a dry run --------------------
    def describe_volume(args: Args) -> str:
        r = volume_resource(args)
        if not r.attributes.get("exists"):
            return f"volume {r.id} does not exist; the call would fail"
        a = r.attributes
        return f"volume {r.id} ({a['size_gb']} GB, attached to {a['attached_to']})"

    def delete_preview(args: Args) -> str:
        r = volume_resource(args)
        if not r.attributes.get("exists"):
            return describe_volume(args)
        on = r.attributes["backups_on_volume"]
        safe = (
            "an independent backup exists"
            if r.attributes["has_independent_backup"]
            else ("no independent backup exists")
        )
        return (
            f"deletes {describe_volume(args)}; {on} backups live on this volume and would be "
            f"lost; {safe}; {r.attributes['attached_to']} goes down. Cannot be undone."
        )

    def scale_preview(args: Args) -> str:
        try:
            before = infra.find("services", str(args.get("service")))["replicas"]
        except InfraError as exc:
            return f"the call would fail: {exc}"
        return f"scales {args.get('service')} from {before} to {args.get('replicas')} replicas"

    def rotate_preview(args: Args) -> str:
        name = str(args.get("credential"))
        try:
            tok = infra.find("tokens", name)
        except InfraError as exc:
            return f"the call would fail: {exc}"
        return (
            f"issues {name} v{tok['version'] + 1}, gives it to {args.get('service')} and every "
            f"service using {name}, and revokes v{tok['version']} and older"
        )

    def network_preview(args: Args) -> str:
        env = str(args.get("environment"))
        try:
            now = infra.read()["environments"][env]["network"]["ingress"]
        except KeyError:
            return f"environment {env} does not exist; the call would fail"
        return f"changes {env} ingress from {now} to {args.get('ingress')}"

    def rotate_env(args: Args) -> str | None:
        envs = sorted(infra.token_environments(str(args.get("credential"))))
        return envs[0] if len(envs) == 1 and envs[0] != "*" else None

    reads_only = "reads only; changes nothing"
    gated(
        list_resources,
        effects={"read"},
        reversible=True,
        idempotent=True,
        environment=lambda a: a.get("environment"),
        preview=lambda a: reads_only,
    )
    gated(
        inspect_resource,
        effects={"read"},
        reversible=True,
        idempotent=True,
        environment=lambda a: infra.environment_of(f"{a.get('kind')}s", str(a.get("name"))),
        resource=lambda a: Resource(type=str(a.get("kind")), id=str(a.get("name"))),
        preview=lambda a: reads_only,
    )
    gated(
        restart_service,
        effects={"write"},
        reversible=True,
        idempotent=True,
        environment=env_of("services", "service"),
        resource=service_resource,
        credential=credential,
        preview=lambda a: f"restarts {a.get('service')}; a few seconds of degraded service",
    )
    gated(
        scale_service,
        effects={"write"},
        reversible=True,
        idempotent=True,
        environment=env_of("services", "service"),
        resource=service_resource,
        credential=credential,
        preview=scale_preview,
    )
    gated(
        snapshot_volume,
        effects={"write"},
        reversible=True,
        environment=env_of("volumes", "volume_id"),
        resource=volume_resource,
        credential=credential,
        preview=lambda a: f"snapshots {describe_volume(a)} to offsite storage; removes nothing",
    )
    gated(
        rotate_credential,
        effects={"access"},
        reversible=False,
        environment=rotate_env,
        resource=lambda a: Resource(type="credential", id=str(a.get("credential"))),
        credential=credential,
        preview=rotate_preview,
    )
    gated(
        delete_volume,
        effects={"delete", "destroy"},
        reversible=False,
        environment=env_of("volumes", "volume_id"),
        resource=volume_resource,
        credential=credential,
        preview=delete_preview,
    )
    gated(
        change_network_policy,
        effects={"network"},
        reversible=True,
        environment=lambda a: a.get("environment"),
        resource=lambda a: Resource(type="network_policy", id=str(a.get("environment"))),
        credential=credential,
        preview=network_preview,
    )
    return [
        list_resources,
        inspect_resource,
        restart_service,
        scale_service,
        snapshot_volume,
        rotate_credential,
        delete_volume,
        change_network_policy,
    ]
