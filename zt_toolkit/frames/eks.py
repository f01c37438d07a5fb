"""EKS frames: the cluster, its add-ons and node groups, as ``describe_*`` returned them."""

from __future__ import annotations

from typing import Any

import orjson
import pandas as pd
import yaml

from zt_toolkit.errors import NotAssessed
from zt_toolkit.frames import Frames, frame, from_rows, nullable_bool

CLUSTER_COLUMNS = {
    "kind": "str", "namespace": "str", "name": "str", "arn": "string", "version": "string",
    "endpoint_public_access": "boolean", "endpoint_private_access": "boolean",
    "public_access_cidrs": "object", "cluster_security_group_id": "string",
    "security_group_ids": "object", "vpc_id": "string", "authentication_mode": "string",
    "bootstrap_cluster_creator_admin": "boolean", "logging_enabled": "object",
    "secrets_encryption_key_arn": "string", "oidc_issuer": "string",
    "platform_version": "string", "role_arn": "string",
}


@frame("eks_cluster", sources=("aws/eks/describe_cluster",))
def build_eks_cluster(frames: Frames) -> pd.DataFrame:
    """One row per described cluster (normally one): endpoint, auth mode, logging, encryption.

    ``logging_enabled`` is the union of every ``clusterLogging`` entry with ``enabled: true``
    (the API returns a list; reading only its first entry is a known mistake).
    """
    rows = []
    for rec in frames.snapshot.aws("eks", "describe_cluster"):
        c = (rec.get("response") or {}).get("cluster")
        if not c:
            continue
        vpc = c.get("resourcesVpcConfig") or {}
        access = c.get("accessConfig") or {}
        enabled: set[str] = set()
        for entry in (c.get("logging") or {}).get("clusterLogging") or ():
            if entry.get("enabled"):
                enabled.update(entry.get("types") or ())
        key_arn = next(
            ((e.get("provider") or {}).get("keyArn") for e in c.get("encryptionConfig") or ()
             if "secrets" in (e.get("resources") or ())),
            None,
        )
        rows.append({
            "kind": "Cluster", "namespace": "", "name": c.get("name", ""), "arn": c.get("arn"),
            "version": c.get("version"),
            "endpoint_public_access": nullable_bool(vpc.get("endpointPublicAccess")),
            "endpoint_private_access": nullable_bool(vpc.get("endpointPrivateAccess")),
            "public_access_cidrs": tuple(vpc.get("publicAccessCidrs") or ()),
            "cluster_security_group_id": vpc.get("clusterSecurityGroupId"),
            "security_group_ids": tuple(vpc.get("securityGroupIds") or ()),
            "vpc_id": vpc.get("vpcId"),
            "authentication_mode": access.get("authenticationMode"),
            "bootstrap_cluster_creator_admin": nullable_bool(
                access.get("bootstrapClusterCreatorAdminPermissions")),
            "logging_enabled": tuple(sorted(enabled)),
            "secrets_encryption_key_arn": key_arn,
            "oidc_issuer": ((c.get("identity") or {}).get("oidc") or {}).get("issuer"),
            "platform_version": c.get("platformVersion"), "role_arn": c.get("roleArn"),
        })
    return from_rows(rows, CLUSTER_COLUMNS)


ADDON_COLUMNS = {
    "kind": "str", "namespace": "str", "name": "str", "addon_version": "string",
    "configuration": "object", "configuration_error": "string",
    "service_account_role_arn": "string",
}


@frame("eks_addons", sources=("aws/eks/describe_addon",))
def build_eks_addons(frames: Frames) -> pd.DataFrame:
    """One row per add-on; ``configuration`` is ``configurationValues`` parsed (JSON or YAML)."""
    rows = []
    for rec in frames.snapshot.aws("eks", "describe_addon"):
        a = (rec.get("response") or {}).get("addon")
        if not a:
            continue
        config, error = parse_configuration_values(a.get("configurationValues"))
        rows.append({
            "kind": "Addon", "namespace": "", "name": a.get("addonName", ""),
            "addon_version": a.get("addonVersion"), "configuration": config,
            "configuration_error": error,
            "service_account_role_arn": a.get("serviceAccountRoleArn"),
        })
    return from_rows(rows, ADDON_COLUMNS)


def parse_configuration_values(text: str | None) -> tuple[dict[str, Any], str | None]:
    """Parse an add-on's ``configurationValues`` (JSON or YAML); malformed text is reported."""
    if not text:
        return {}, None
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            return {}, f"configurationValues is neither JSON nor YAML: {exc}"
    return (value, None) if isinstance(value, dict) else ({}, "configurationValues is not a map")


NODEGROUP_COLUMNS = {
    "kind": "str", "namespace": "str", "name": "str", "node_role_arn": "string",
    "ami_type": "string", "instance_types": "object", "launch_template_id": "string",
    "launch_template_version": "string", "remote_access_key": "string", "taints": "object",
}


@frame("eks_nodegroups", sources=("aws/eks/describe_nodegroup",))
def build_eks_nodegroups(frames: Frames) -> pd.DataFrame:
    """One row per managed node group: node IAM role, launch template, SSH access, taints."""
    rows = []
    for rec in frames.snapshot.aws("eks", "describe_nodegroup"):
        ng = (rec.get("response") or {}).get("nodegroup")
        if not ng:
            continue
        lt = ng.get("launchTemplate") or {}
        rows.append({
            "kind": "Nodegroup", "namespace": "", "name": ng.get("nodegroupName", ""),
            "node_role_arn": ng.get("nodeRole"), "ami_type": ng.get("amiType"),
            "instance_types": tuple(ng.get("instanceTypes") or ()),
            "launch_template_id": lt.get("id"), "launch_template_version": lt.get("version"),
            "remote_access_key": (ng.get("remoteAccess") or {}).get("ec2SshKey"),
            "taints": list(ng.get("taints") or ()),
        })
    return from_rows(rows, NODEGROUP_COLUMNS)


def aws_errors(frames: Frames, service: str, operation: str) -> list[str]:
    """List the AWS errors recorded for one operation, as ``code: message (params)``."""
    out = []
    for rec in frames.snapshot.aws(service, operation):
        if "error" in rec:
            err = rec["error"]
            text = f"{err.get('code')}: {err.get('message', '')}".rstrip(": ")
            out.append(f"{text} ({orjson.dumps(rec.get('params', {})).decode()})")
    return out


def described_clusters(frames: Frames) -> pd.DataFrame:
    """Return the ``eks_cluster`` rows; raise NotAssessed when describe_cluster gave none.

    A failed describe_cluster is recorded as an error record: it is data, and a check must not
    judge the cluster without it.
    """
    clusters = frames.eks_cluster
    if clusters.empty:
        errors = aws_errors(frames, "eks", "describe_cluster")
        raise NotAssessed("describe_cluster returned no cluster"
                          + (f": {'; '.join(errors)}" if errors else ""))
    return clusters


def eks_cluster_row(frames: Frames) -> pd.Series:
    """Return the described EKS cluster (the snapshot's, when several were described)."""
    clusters = described_clusters(frames)
    mine = clusters[clusters["name"] == frames.snapshot.cluster.name]
    return (mine if not mine.empty else clusters).iloc[0]
