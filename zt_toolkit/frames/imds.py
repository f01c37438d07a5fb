"""Instance metadata (IMDS) frames: how pods could reach the node's IAM credentials.

Two independent defences keep pods away from ``http://169.254.169.254``: the nodes' metadata
options (IMDSv2 required with a hop limit of 1, or the endpoint disabled), read from every EC2
instance of the cluster and from the launch template versions its node groups launch from; and
NetworkPolicies that block egress to the address. ``node_metadata_options`` holds the first,
one row per instance and per launch template version, each attached to its *node set* (the
managed node group, Karpenter NodePool or Auto Scaling group that owns the instance: the place
where the setting is fixed). ``namespace_imds_egress`` holds the second, one row per namespace.
``imds_evidence`` says which of the sources were collected.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pandas as pd
import pandera.pandas as pa

from zt_toolkit.frames import Frames, frame, from_rows
from zt_toolkit.sources.catalog import SYSTEM_NAMESPACES

INSTANCES = "aws/ec2/describe_instances"
LAUNCH_TEMPLATES = "aws/ec2/describe_launch_template_versions"
NETWORK_POLICIES = "k8s/networkpolicies.networking.k8s.io"
IMDS_ADDRESS = "169.254.169.254"
IMDS_PORT = 80

_KEY = {"kind": pa.Column(str), "namespace": pa.Column(str), "name": pa.Column(str)}
#: Instance tags naming the node set that owns an instance, most specific first.
NODE_SET_TAGS = (("eks:nodegroup-name", "Nodegroup"), ("karpenter.sh/nodepool", "NodePool"),
                 ("karpenter.sh/provisioner-name", "Provisioner"),
                 ("aws:autoscaling:groupName", "AutoScalingGroup"))
_GONE = {"terminated", "shutting-down"}

# ------------------------------------------------------------------------------------------
# node metadata options
# ------------------------------------------------------------------------------------------
METADATA_COLUMNS = {
    "kind": "str", "namespace": "str", "name": "str", "node_set_kind": "str",
    "node_set": "str", "state": "string", "launch_template": "string",
    "http_tokens": "string", "http_put_response_hop_limit": "Int64",
    "http_endpoint": "string", "http_protocol_ipv6": "string",
}


@frame("node_metadata_options", sources=(INSTANCES, LAUNCH_TEMPLATES), any_source=True,
       schema=pa.DataFrameSchema({
           **_KEY,
           "kind": pa.Column(str, pa.Check.isin(["EC2Instance", "LaunchTemplateVersion"])),
           "name": pa.Column(str, description="instance id, or <launch template id>:<version>"),
           "node_set_kind": pa.Column(str, description=(
               "Nodegroup, NodePool, Provisioner, AutoScalingGroup, LaunchTemplate, or "
               "EC2Instance for an instance that no tag attaches to a group")),
           "node_set": pa.Column(str, description="name of the node set"),
           "http_tokens": pa.Column("string", nullable=True, description=(
               "MetadataOptions.HttpTokens: required (IMDSv2 only) | optional; NA = unset")),
           "http_put_response_hop_limit": pa.Column("Int64", nullable=True, description=(
               "MetadataOptions.HttpPutResponseHopLimit; 1 keeps IMDSv2 tokens on the host")),
           "http_endpoint": pa.Column("string", nullable=True, description=(
               "MetadataOptions.HttpEndpoint: enabled | disabled; NA = unset (enabled)")),
       }))
def build_node_metadata_options(frames: Frames) -> pd.DataFrame:
    """One row per EC2 instance of the cluster and per launch template version of its nodes.

    Every instance of every reservation is read (not only the first of each reservation), except
    terminated ones. An instance's node set is named by its tags (``eks:nodegroup-name``,
    ``karpenter.sh/nodepool``, ``aws:autoscaling:groupName``), else by the instance itself. A
    launch template version belongs to the managed node groups that reference it
    (``describe_nodegroup`` ``launchTemplate``; ``$Latest`` / ``$Default`` resolved) and to the
    node sets of instances launched from it (``aws:ec2launchtemplate:*`` tags); one that nothing
    references is its own node set, kind ``LaunchTemplate``. Unset launch template options stay
    NA: the AMI's defaults apply, which the snapshot cannot see.

    Examples
    --------
    >>> frames.node_metadata_options[["node_set", "name", "http_tokens"]]  # doctest: +SKIP
    """
    snap = frames.snapshot
    rows: list[dict[str, Any]] = []
    lt_users: dict[tuple[str, str], set[tuple[str, str]]] = {}
    seen: set[str] = set()
    for rec in snap.aws("ec2", "describe_instances"):
        for res in (rec.get("response") or {}).get("Reservations") or ():
            for inst in res.get("Instances") or ():  # every instance, not Instances[0]
                iid = str(inst.get("InstanceId") or "")
                state = (inst.get("State") or {}).get("Name")
                if not iid or iid in seen or state in _GONE:
                    continue
                seen.add(iid)
                tags = {t.get("Key"): t.get("Value") for t in inst.get("Tags") or ()}
                set_kind, set_name = next(((k, str(tags[t])) for t, k in NODE_SET_TAGS
                                           if tags.get(t)), ("EC2Instance", iid))
                lt_id = tags.get("aws:ec2launchtemplate:id")
                lt_version = tags.get("aws:ec2launchtemplate:version")
                if lt_id and lt_version:
                    lt_users.setdefault((lt_id, str(lt_version)), set()).add((set_kind, set_name))
                rows.append({"kind": "EC2Instance", "name": iid, "node_set_kind": set_kind,
                             "node_set": set_name, "state": state,
                             "launch_template": f"{lt_id}:{lt_version}" if lt_id else None,
                             **_options(inst.get("MetadataOptions"))})
    rows += _launch_template_rows(frames, lt_users)
    for row in rows:
        row["namespace"] = ""
    return from_rows(rows, METADATA_COLUMNS)


def _options(options: Any) -> dict[str, Any]:
    options = options if isinstance(options, dict) else {}
    hop = options.get("HttpPutResponseHopLimit")
    return {"http_tokens": options.get("HttpTokens"),
            "http_put_response_hop_limit": hop if isinstance(hop, int) else None,
            "http_endpoint": options.get("HttpEndpoint"),
            "http_protocol_ipv6": options.get("HttpProtocolIpv6")}


def _launch_template_rows(frames: Frames,
                          lt_users: dict[tuple[str, str], set[tuple[str, str]]]
                          ) -> list[dict[str, Any]]:
    """Rows of the launch template versions, attached to the node sets that launch from them."""
    versions: dict[tuple[str, str], dict[str, Any]] = {}
    for rec in frames.snapshot.aws("ec2", "describe_launch_template_versions"):
        for ver in (rec.get("response") or {}).get("LaunchTemplateVersions") or ():
            lt_id = str(ver.get("LaunchTemplateId") or "")
            if lt_id:
                versions[(lt_id, str(ver.get("VersionNumber")))] = ver
    if not versions:
        return []
    users = {k: set(v) for k, v in lt_users.items()}
    if not frames.gaps(["eks_nodegroups"]):
        for ng in frames.eks_nodegroups.itertuples(index=False):
            if not isinstance(ng.launch_template_id, str):
                continue
            mine = {v: d for (i, v), d in versions.items() if i == ng.launch_template_id}
            version = str(ng.launch_template_version)
            if version == "$Default":
                version = next((v for v, d in mine.items() if d.get("DefaultVersion")), version)
            elif version == "$Latest" and mine:
                version = max(mine, key=lambda v: int(v) if v.isdigit() else -1)
            users.setdefault((ng.launch_template_id, version), set()).add(("Nodegroup", ng.name))
    rows = []
    for (lt_id, version), ver in versions.items():
        data = ver.get("LaunchTemplateData") or {}
        owners = users.get((lt_id, version)) or {
            ("LaunchTemplate", str(ver.get("LaunchTemplateName") or lt_id))}
        for set_kind, set_name in sorted(owners):
            rows.append({"kind": "LaunchTemplateVersion", "name": f"{lt_id}:{version}",
                         "node_set_kind": set_kind, "node_set": set_name, "state": None,
                         "launch_template": f"{lt_id}:{version}",
                         **_options(data.get("MetadataOptions"))})
    return rows


# ------------------------------------------------------------------------------------------
# NetworkPolicy egress to the metadata address
# ------------------------------------------------------------------------------------------
EGRESS_COLUMNS = {"kind": "str", "namespace": "str", "name": "str", "blocked": "bool",
                  "evidence": "str"}


@frame("namespace_imds_egress", sources=(NETWORK_POLICIES,), schema=pa.DataFrameSchema({
    **_KEY,
    "blocked": pa.Column(bool, description=(
        "an Egress policy selects every pod and no Egress policy of the namespace lets any pod "
        "reach 169.254.169.254:80/TCP")),
    "evidence": pa.Column(str, description="the policies that decide it"),
}))
def build_namespace_imds_egress(frames: Frames) -> pd.DataFrame:
    """One row per non-system namespace: whether its NetworkPolicies block egress to IMDS.

    Namespaces are those with workloads, with a Namespace object, or with a policy (whatever
    the snapshot holds). Policies add up: a namespace blocks the address only when a policy of
    type Egress selects all pods (so every pod is egress-isolated) and no Egress policy of the
    namespace, whatever pods it selects, has a rule that reaches 169.254.169.254 on TCP port 80
    (see :func:`egress_rule_reaches`). The policies are judged as written; whether an engine
    enforces them is ``network_policy_enforcement``'s to say.
    """
    policies = frames.network_policies
    names = set(policies["namespace"])
    if not frames.gaps(["workloads"]):
        names |= set(frames.workloads["namespace"])
    if not frames.gaps(["namespaces"]):
        names |= set(frames.namespaces["name"])
    rows = []
    egress = policies[policies["policy_types"].map(lambda t: "Egress" in t).astype(bool)]
    by_ns = egress.groupby("namespace", sort=False).indices
    for ns in sorted(names - SYSTEM_NAMESPACES):
        mine = egress.iloc[by_ns[ns]] if ns in by_ns else egress.iloc[0:0]
        isolating = mine[mine["selects_all_pods"]]
        open_rules = [f'"{p.name}" egress[{i}]' for p in mine.itertuples(index=False)
                      for i, r in enumerate(p.egress_rules) if egress_rule_reaches(r)]
        if isolating.empty:
            blocked, evidence = False, "no Egress policy selects all pods"
        elif open_rules:
            blocked, evidence = False, ("169.254.169.254 allowed by "
                                        + ", ".join(open_rules[:3])
                                        + (" ..." if len(open_rules) > 3 else ""))
        else:
            blocked = True
            evidence = ("egress isolated by " + ", ".join(f'"{n}"' for n in isolating["name"][:3])
                        + "; no egress rule reaches 169.254.169.254")
        rows.append({"kind": "Namespace", "namespace": "", "name": ns, "blocked": blocked,
                     "evidence": evidence})
    return from_rows(rows, EGRESS_COLUMNS)


def egress_rule_reaches(rule: Any, address: str = IMDS_ADDRESS, port: int = IMDS_PORT) -> bool:
    """Tell whether one NetworkPolicy egress rule allows TCP traffic to ``address``:``port``.

    Ports: none listed means every port; an entry matches TCP (the default protocol) on the
    port, a range (``port``..``endPort``) holding it, or every port when ``port`` is unset. A
    named port names a pod's port and never matches an address outside the pod network.
    Peers: none listed means every destination; an ``ipBlock`` whose ``cidr`` holds the address
    and no ``except`` entry holds it; pod and namespace selectors select pods, never IMDS.

    >>> egress_rule_reaches({"to": [{"ipBlock": {"cidr": "0.0.0.0/0",
    ...                                          "except": ["169.254.169.254/32"]}}]})
    False
    >>> egress_rule_reaches({"ports": [{"port": 53, "protocol": "UDP"}]})
    False
    >>> egress_rule_reaches({})
    True
    """
    if not isinstance(rule, dict):
        return False
    ports = rule.get("ports") or []
    if ports and not any(_port_matches(p, port) for p in ports):
        return False
    peers = rule.get("to") or []
    return not peers or any(_peer_holds(p, address) for p in peers)


def _port_matches(entry: Any, port: int) -> bool:
    if not isinstance(entry, dict) or (entry.get("protocol") or "TCP") != "TCP":
        return False
    value = entry.get("port")
    if value is None:
        return True
    if isinstance(value, str):
        if not value.isdigit():
            return False  # a named port: a pod's port, not the metadata service
        value = int(value)
    end = entry.get("endPort")
    return value == port or (isinstance(end, int) and value <= port <= end)


def _peer_holds(peer: Any, address: str) -> bool:
    block = (peer.get("ipBlock") if isinstance(peer, dict) else None) or {}
    if not block:
        return False
    ip = ipaddress.ip_address(address)
    try:
        if ip not in ipaddress.ip_network(str(block.get("cidr")).strip(), strict=False):
            return False
    except ValueError:
        return False
    for excepted in block.get("except") or ():
        try:
            if ip in ipaddress.ip_network(str(excepted).strip(), strict=False):
                return False
        except ValueError:
            continue
    return True


# ------------------------------------------------------------------------------------------
# what was collected
# ------------------------------------------------------------------------------------------
@frame("imds_evidence", sources=(INSTANCES, LAUNCH_TEMPLATES, NETWORK_POLICIES),
       any_source=True)
def build_imds_evidence(frames: Frames) -> pd.DataFrame:
    """One row per source of IMDS evidence: was it collected, and how it stands.

    Usable when any of EC2 instances, launch template versions or NetworkPolicies was
    collected: either defence alone can keep pods from the node's credentials.
    """
    snap = frames.snapshot
    rows = [{"source": key, "collected": snap.coverage(key).ok,
             "coverage": snap.coverage(key).describe(key)}
            for key in (INSTANCES, LAUNCH_TEMPLATES, NETWORK_POLICIES)]
    return from_rows(rows, {"source": "str", "collected": "bool", "coverage": "str"})
