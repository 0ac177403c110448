"""How management reads present config objects: Contentstack Personalize Management API field names
where they exist (uid, __type, shortUid, latestVersion, versions with DRAFT / ACTIVE / PAUSED), and no
secret anywhere (connection secrets, client secrets and write keys are never shown)."""

from __future__ import annotations

from typing import Any

from connections import AuthScheme, Connection, OAuth2ClientCredentials
from decision_models import Audience, DecisionModel, Experience, ExperienceVersion, Kind, Status, Variant

from ..runtime import Project

STATUS = {Status.ACTIVE: "ACTIVE", Status.PAUSED: "PAUSED", Status.DRAFT: "DRAFT"}


def audience_view(audience: Audience, project: Project) -> dict[str, Any]:
    return {
        "uid": audience.id,
        "_id": audience.id,
        "name": audience.name,
        "description": "",
        "project": project.contentstack_project_uid or project.id,
        "definition": {"__type": "JsonLogic", "rule": audience.condition.source},
    }


def version_uid(experience: Experience, version: ExperienceVersion) -> str:
    return f"{experience.id}.{version.label}"


def _variant_view(index: int, variant: Variant, version: ExperienceVersion) -> dict[str, Any]:
    view: dict[str, Any] = {
        "shortUid": str(index),
        "uid": variant.id,
        "name": variant.name,
        "decisionModels": [m.id for m in variant.models],
    }
    if version.kind is Kind.AB:
        view.update(
            {"__type": "ABTestVariant", "trafficDistribution": variant.weight / 100, "control": variant.control}
        )
    else:
        view.update(
            {
                "__type": "SegmentedVariant",
                "audiences": [variant.audience.id] if variant.audience else [],
                "audienceCombinationType": "AND",
            }
        )
    return view


def version_view(experience: Experience, version: ExperienceVersion) -> dict[str, Any]:
    status = "DRAFT" if version.label == "draft" else STATUS[experience.status]
    return {
        "uid": version_uid(experience, version),
        "status": status,
        "variants": [_variant_view(i, v, version) for i, v in enumerate(version.variants)],
        "targeting": {
            "audience": {
                "audiences": [version.audience.id] if version.audience else [],
                "audienceCombinationType": "OR",
            },
            "channels": sorted(version.channels),
            "pointsOfSale": sorted(version.points_of_sale),
        },
        "deadlineMs": version.deadline_ms,
    }


def experience_view(index: int, experience: Experience) -> dict[str, Any]:
    latest = experience.draft or experience.live
    audiences = {
        a.id
        for version in (experience.live, experience.draft)
        if version is not None
        for a in [version.audience, *(v.audience for v in version.variants)]
        if a is not None
    }
    return {
        "uid": experience.id,
        "shortUid": str(index),
        "friendlyId": experience.friendly_id,
        "name": experience.name,
        "description": "",
        "__type": "AB_TEST" if experience.live.kind is Kind.AB else "SEGMENTED",
        "status": STATUS[experience.status],
        "latestVersion": version_uid(experience, latest),
        "referredAudiences": sorted(audiences),
        "tags": sorted(experience.tags),
    }


def versions(experience: Experience) -> list[ExperienceVersion]:
    return [experience.live] + ([experience.draft] if experience.draft is not None else [])


def connection_view(connection: Connection) -> dict[str, Any]:
    auth: dict[str, Any] = {"type": connection.auth.scheme.value}
    if isinstance(connection.auth, OAuth2ClientCredentials):
        token = connection.auth
        auth = {
            "type": "oauth2_client_credentials",
            "tokenUrl": token.token_url,
            "clientId": token.client_id,
            "scope": token.scope,
            "audience": token.audience,
            "credentialsIn": token.credentials_in,
            "formItems": sorted(token.form_items),
            "headers": sorted(token.headers),
            "clientSecret": "[redacted]",
        }
    elif connection.auth.scheme is AuthScheme.BASIC:
        auth = {"type": "basic", "password": "[redacted]"}
    elif connection.auth.scheme is AuthScheme.HEADER:
        auth = {"type": "header", "headers": {name: "[redacted]" for name in connection.auth.header_names}}
    return {
        "uid": connection.id,
        "kind": connection.kind,
        "method": connection.method,
        "baseUrl": connection.base_text,
        "path": connection.path.source,
        "query": {k: t.source for k, t in connection.query},
        "headers": {k: t.source for k, t in connection.headers},
        "inputs": connection.inputs,
        "auth": auth,
        "timeouts": {
            "connectMs": connection.timeouts.connect * 1000,
            "readMs": connection.timeouts.read * 1000,
            "totalMs": connection.timeouts.total * 1000,
        },
        "cacheTtlS": connection.cache_ttl,
        "maxResponseBytes": connection.max_bytes,
        "outputs": {o.name: {"path": o.path, "type": o.type} for o in connection.outputs},
        "signing": {"secrets": ["[redacted]"] * len(connection.signing)} if connection.signing else None,
    }


def model_view(model: DecisionModel) -> dict[str, Any]:
    return {
        "uid": model.id,
        "name": model.name,
        "testShare": model.test_share,
        "variants": [
            {
                "uid": v.id,
                "name": v.name,
                "status": v.status.upper(),
                "weight": v.weight,
                "revision": v.revision,
                "nodes": [
                    {"id": n.id, "kind": n.kind, "type": n.type, "dependsOn": list(n.deps)} for n in v.graph.nodes
                ],
            }
            for v in model.variants
        ],
    }


def project_view(project: Project) -> dict[str, Any]:
    return {
        "uid": project.contentstack_project_uid or project.id,
        "id": project.id,
        "name": project.name,
        "clientKey": project.client_key,
        "contextIds": list(project.context_ids),
        "allowedOrigins": sorted(project.allowed_origins),
        "segmentWriteKeys": len(project.segment_write_keys),  # how many, never which
    }
