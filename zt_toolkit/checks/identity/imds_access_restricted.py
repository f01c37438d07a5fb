from __future__ import annotations

import numpy as np
import pandas as pd

from zt_toolkit.checks.helpers import cluster_result, join_names
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check
from zt_toolkit.frames.imds import INSTANCES
from zt_toolkit.frames.network import flag_value
from zt_toolkit.sources.catalog import SYSTEM_NAMESPACES

SET_KEY = ["node_set_kind", "node_set"]
_WHAT = {"EC2Instance": ("instance", "instances"),
         "LaunchTemplateVersion": ("launch template version", "launch template versions")}


@check(
    id="imds_access_restricted",
    pillar=Pillar.IDENTITY,
    severity=Severity.HIGH,
    title="Pods cannot obtain the node's IAM credentials from the instance metadata service",
    requires=("imds_evidence",),
    reason="pods can reach the node's instance metadata credentials",
    remediation="Require IMDSv2 with a hop limit of 1 in the node group's launch template "
    "(MetadataOptions: HttpTokens: required, HttpPutResponseHopLimit: 1) and roll the nodes; "
    "for running instances: aws ec2 modify-instance-metadata-options --instance-id <id> "
    "--http-tokens required --http-put-response-hop-limit 1. Or block egress to "
    "169.254.169.254/32 in every namespace with a NetworkPolicy (ipBlock 0.0.0.0/0 except "
    "169.254.169.254/32).",
    references=("BPG iam", "PW ec2_instance_imdsv2_enabled",
                "PW ec2_launch_template_imdsv2_required", "KS C-0052"),
    parameters={"max_hop_limit": 1},
)
def imds_access_restricted(frames, params) -> pd.DataFrame:
    """A pod that reaches IMDS acts as the node's IAM role, whatever its own role is.

    With IMDSv1 allowed, or a hop limit above 1, any pod gets the node instance profile's
    credentials (ECR pulls, ENI management, often much more) and bypasses IRSA and Pod Identity.
    One row per node set (managed node group, Karpenter NodePool, Auto Scaling group; a lone
    instance otherwise): it passes when every one of its instances, and the launch template
    version it launches from, has the endpoint disabled, or HttpTokens required with
    HttpPutResponseHopLimit at most ``max_hop_limit`` (1; raise it to 2 only for node sets whose
    pods must call IMDS). Every instance of every reservation counts. An instance without
    MetadataOptions is not assessed; an option unset in a launch template fails (the AMI's
    default applies: IMDSv1 allowed, or a hop limit of 2 for AMIs that require IMDSv2). The
    other defence makes every node set pass: every non-system namespace with workloads blocks
    egress to 169.254.169.254 by NetworkPolicy, and an engine enforces NetworkPolicy. Not
    considered: hostNetwork pods (they reach IMDS from the host whatever the hop limit, and no
    NetworkPolicy applies to them) and the IPv6 endpoint fd00:ec2::254.
    """
    blocked, network = _network_defence(frames)
    meta = (frames.node_metadata_options if not frames.gaps(["node_metadata_options"])
            else pd.DataFrame())
    if meta.empty:
        return _without_node_data(frames, blocked, network)
    limit = int(params["max_hop_limit"])
    off = meta["http_endpoint"].eq("disabled").fillna(False).to_numpy(dtype=bool)
    v2 = meta["http_tokens"].eq("required").fillna(False).to_numpy(dtype=bool)
    hop = meta["http_put_response_hop_limit"]
    hop_ok = hop.le(limit).fillna(False).to_numpy(dtype=bool)
    unknown = (meta["kind"].eq("EC2Instance").to_numpy() & meta["http_tokens"].isna().to_numpy()
               & ~off)
    ok = off | (v2 & hop_ok)
    state = np.select([ok, unknown], ["ok", "unknown"], default="bad")
    setting = np.where(off, "HttpEndpoint disabled",
                       "HttpTokens " + meta["http_tokens"].fillna("unset").astype(str)
                       + ", hop limit " + hop.astype("string").fillna("unset").astype(str))
    setting = np.where(unknown, "MetadataOptions not described", setting)
    m = meta.assign(state=state, setting=setting)
    out = []
    for (set_kind, set_name), g in m.groupby(SET_KEY, sort=True):
        states = set(g["state"])
        status = "fail" if "bad" in states else "not_assessed" if "unknown" in states else "pass"
        detail = _describe(g)
        if status != "pass" and blocked is True:
            status, detail = "pass", f"{detail}; {network}"
        elif status == "fail":
            detail = f"{detail}; {network}"
        out.append({"kind": set_kind, "namespace": "", "name": set_name, "status": status,
                    "detail": detail})
    return pd.DataFrame(out)


def _describe(group: pd.DataFrame) -> str:
    """``2 of 3 instances (i-a, i-b): HttpTokens optional, hop limit 2; ...`` worst first."""
    parts = []
    order = {"bad": 0, "unknown": 1, "ok": 2}
    for kind, rows in group.groupby("kind", sort=True):
        one, many = _WHAT.get(kind, (kind, kind))
        total = len(rows)
        by_setting = rows.groupby(["state", "setting"], sort=False)["name"]
        for (state, text), names in sorted(by_setting, key=lambda x: order[x[0][0]]):
            count = len(names)
            label = (f"{one} {names.iloc[0]}" if total == 1 else
                     f"{count} of {total} {many}" + (f" ({join_names(names, 3)})"
                                                     if state != "ok" else ""))
            parts.append(f"{label}: {text}")
    return "; ".join(parts)


def _network_defence(frames) -> tuple[bool | None, str]:
    """Whether NetworkPolicies keep every workload namespace from IMDS (None: cannot tell)."""
    if frames.gaps(["namespace_imds_egress"]):
        return None, "NetworkPolicies not collected"
    egress = frames.namespace_imds_egress
    if not frames.gaps(["workloads"]):
        w = frames.workloads
        egress = egress[egress["name"].isin(set(w["namespace"]) - SYSTEM_NAMESPACES)]
    if egress.empty:
        return None, "no non-system namespace runs workloads to judge NetworkPolicies on"
    open_ns = egress[~egress["blocked"]]
    if not open_ns.empty:
        shown = "; ".join(f'"{n}": {e}' for n, e in zip(open_ns["name"][:3],
                                                         open_ns["evidence"][:3], strict=True))
        more = f"; and {len(open_ns) - 3} more" if len(open_ns) > 3 else ""
        return False, f"NetworkPolicies leave 169.254.169.254 open in {len(open_ns)} " \
                      f"namespace(s): {shown}{more}"
    written = f"every namespace with workloads ({len(egress)}) blocks 169.254.169.254 by " \
              "NetworkPolicy"
    if frames.gaps(["network_policy_enforcement"]):
        return None, f"{written}, but NetworkPolicy enforcement was not assessed"
    row = frames.network_policy_enforcement.iloc[0]
    enforced = flag_value(row.enforced)
    if enforced is True:
        return True, f"{written}, enforced by {row.engine}"
    if enforced is False:
        return False, f"{written}, but no engine enforces NetworkPolicy"
    return None, f"{written}, but whether an engine enforces NetworkPolicy is unknown"


def _without_node_data(frames, blocked: bool | None, network: str) -> pd.DataFrame:
    """One Cluster row when no instance or launch template was described."""
    if blocked is True:
        return cluster_result(frames, failed=False, detail=network)
    detail = f"no EC2 instance or launch template described; {network}"
    row = cluster_result(frames, failed=False, detail=detail)
    row["status"] = "not_assessed"
    if frames.snapshot.coverage(INSTANCES).ok and not frames.gaps(["nodes"]):
        ec2 = frames.nodes["instance_id"].fillna("").str.startswith("i-")
        if not ec2.any():
            row["status"] = "not_applicable"
            row["detail"] = "no EC2 node (Fargate pods have no access to the metadata service)"
    return row
