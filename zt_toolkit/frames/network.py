"""Network frames: NetworkPolicies, Services, Ingresses, security groups, flow logs, enforcement.

NetworkPolicy columns are the API fields after the API server's defaulting (``policyTypes``),
plus what the checks derive from them (default deny, allow-all rules, DNS-only egress), so that a
check states a predicate over columns. Services and Ingresses carry the load balancer *scheme*
as the AWS controllers would decide it (see :func:`service_scheme` and :func:`ingress_scheme`).
``network_policy_enforcement`` decides once whether any engine enforces NetworkPolicy; the
NetworkPolicy checks quote it through :func:`enforcement_caveat`, because a policy that no engine
enforces is only a policy "as written".
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pandera.pandas as pa

from zt_toolkit.analysis.selectors import LabelIndex, selects_everything
from zt_toolkit.frames import Frames, empty_frame, frame, from_rows
from zt_toolkit.sources.catalog import SYSTEM_NAMESPACES

_KEY = {"kind": pa.Column(str), "namespace": pa.Column(str), "name": pa.Column(str)}
WORLD_CIDRS = frozenset({"0.0.0.0/0", "::/0"})
DNS_PORTS = frozenset({53, "53", "dns", "dns-tcp"})  # CoreDNS names its ports dns / dns-tcp


def is_world(cidr: Any) -> bool:
    """Tell whether a CIDR covers every address of its family (``0.0.0.0/0``, ``::/0``)."""
    try:
        return ipaddress.ip_network(str(cidr).strip(), strict=False).prefixlen == 0
    except ValueError:
        return False


# ------------------------------------------------------------------------------------------
# NetworkPolicies
# ------------------------------------------------------------------------------------------
NETWORK_POLICY_COLUMNS = {
    "kind": "str", "namespace": "str", "name": "str", "pod_selector": "object",
    "selects_all_pods": "bool", "policy_types": "object", "policy_types_defaulted": "bool",
    "ingress_rules": "object", "egress_rules": "object", "denies_all_ingress": "bool",
    "denies_all_egress": "bool", "egress_dns_only": "bool", "allow_all_ingress": "bool",
    "allow_all_egress": "bool", "allow_all_rules": "object", "system": "bool",
}


@frame("network_policies", sources=("k8s/networkpolicies.networking.k8s.io",),
       schema=pa.DataFrameSchema({
           **_KEY,
           "pod_selector": pa.Column(object, description="spec.podSelector ({} = all pods)"),
           "selects_all_pods": pa.Column(bool, description="podSelector is empty"),
           "policy_types": pa.Column(object, description=(
               "spec.policyTypes; when unset, the API default: Ingress, plus Egress when the "
               "policy has egress rules")),
           "denies_all_ingress": pa.Column(bool, description="Ingress type, no ingress rule"),
           "denies_all_egress": pa.Column(bool, description="Egress type, no egress rule"),
           "egress_dns_only": pa.Column(bool, description=(
               "Egress type and every egress rule allows only port 53 (or named dns ports)")),
           "allow_all_ingress": pa.Column(bool, description=(
               "an effective ingress rule allows every source on every port")),
           "allow_all_egress": pa.Column(bool, description=(
               "an effective egress rule allows every destination on every port")),
       }))
def build_network_policies(frames: Frames) -> pd.DataFrame:
    """One row per NetworkPolicy, its ``policyTypes`` defaulted as the API server does.

    Rules of a direction the policy does not declare in ``policyTypes`` are kept in
    ``ingress_rules`` / ``egress_rules`` but have no effect, so they never make a policy
    ``allow_all_*``.

    Examples
    --------
    >>> frames.network_policies[["namespace", "name", "policy_types"]]  # doctest: +SKIP
    """
    rows = []
    for obj in frames.snapshot.iter_k8s("networkpolicies.networking.k8s.io"):
        meta, spec = obj.get("metadata", {}), obj.get("spec") or {}
        ns = meta.get("namespace", "default")
        selector = spec.get("podSelector") or {}
        ingress = list(spec.get("ingress") or ())
        egress = list(spec.get("egress") or ())
        types = tuple(spec.get("policyTypes") or ())
        defaulted = not types
        if defaulted:  # k8s.io/kubernetes pkg/apis/networking/v1 SetDefaults_NetworkPolicySpec
            types = ("Ingress", "Egress") if egress else ("Ingress",)
        has_in, has_eg = "Ingress" in types, "Egress" in types
        open_rules = [f"ingress[{i}]{why}" for i, r in enumerate(ingress) if has_in
                      for why in [_allow_all(r, "from")] if why is not None]
        open_rules += [f"egress[{i}]{why}" for i, r in enumerate(egress) if has_eg
                       for why in [_allow_all(r, "to")] if why is not None]
        rows.append({
            "kind": "NetworkPolicy", "namespace": ns, "name": meta.get("name", ""),
            "pod_selector": selector, "selects_all_pods": selects_everything(selector),
            "policy_types": types, "policy_types_defaulted": defaulted,
            "ingress_rules": ingress, "egress_rules": egress,
            "denies_all_ingress": has_in and not ingress,
            "denies_all_egress": has_eg and not egress,
            "egress_dns_only": has_eg and bool(egress) and all(map(_dns_only, egress)),
            "allow_all_ingress": any(r.startswith("ingress") for r in open_rules),
            "allow_all_egress": any(r.startswith("egress") for r in open_rules),
            "allow_all_rules": tuple(open_rules), "system": ns in SYSTEM_NAMESPACES,
        })
    return from_rows(rows, NETWORK_POLICY_COLUMNS)


def _allow_all(rule: dict[str, Any], peers_field: str) -> str | None:
    """Say why a rule allows every peer on every port (``None`` when it does not).

    A rule without ports allows every port; without peers (``- {}``) it allows every peer. A
    peer ``ipBlock`` of ``0.0.0.0/0`` or ``::/0`` without ``except`` also allows every address.
    """
    if not isinstance(rule, dict) or rule.get("ports"):
        return None
    peers = rule.get(peers_field) or []
    if not peers:
        return " has no peers and no ports: every peer, every port"
    for peer in peers:
        block = (peer.get("ipBlock") if isinstance(peer, dict) else None) or {}
        if is_world(block.get("cidr")) and not block.get("except"):
            return f" allows ipBlock {block['cidr']} on every port"
    return None


def _dns_only(rule: dict[str, Any]) -> bool:
    """Tell whether an egress rule opens only DNS (port 53 over UDP/TCP, or the dns ports)."""
    ports = (rule.get("ports") if isinstance(rule, dict) else None) or []
    return bool(ports) and all(
        isinstance(p, dict)
        and p.get("port") in DNS_PORTS
        and (p.get("protocol") or "TCP") in ("UDP", "TCP")
        and p.get("endPort") in (None, 53)
        for p in ports
    )


# Other policy kinds: they count as "a policy exists" but their semantics are not evaluated.
_CRD_POLICIES = {
    "ciliumnetworkpolicies.cilium.io": "CiliumNetworkPolicy",
    "networkpolicies.crd.projectcalico.org": "NetworkPolicy.crd.projectcalico.org",
}


@frame("crd_network_policies")
def build_crd_network_policies(frames: Frames) -> pd.DataFrame:
    """One row per CiliumNetworkPolicy or Calico NetworkPolicy, where those CRDs were collected.

    The frame reads optional sources: it is empty on clusters without these CRDs, and only adds
    evidence (a namespace *has* a policy); it never stands in for standard NetworkPolicies.
    """
    rows = []
    for resource, kind in _CRD_POLICIES.items():
        for obj in frames.snapshot.iter_k8s(resource):
            meta = obj.get("metadata", {})
            rows.append({"kind": kind, "namespace": meta.get("namespace", "default"),
                         "name": meta.get("name", "")})
    return from_rows(rows, {"kind": "str", "namespace": "str", "name": "str"})


TARGET_COLUMNS = {
    "policy_namespace": "str", "policy_name": "str", "kind": "str", "namespace": "str",
    "name": "str", "ingress": "bool", "egress": "bool",
}


@frame("network_policy_targets", sources=("k8s/networkpolicies.networking.k8s.io",))
def build_network_policy_targets(frames: Frames) -> pd.DataFrame:
    """One row per (NetworkPolicy, workload it selects), by the workload's pod template labels.

    ``ingress`` / ``egress`` say whether the policy isolates the workload in that direction
    (its ``policyTypes``). Selection is exact Kubernetes label-selector semantics, evaluated
    per namespace over a :class:`~zt_toolkit.analysis.selectors.LabelIndex`.
    """
    policies = frames.network_policies.reset_index(drop=True)
    workloads = frames.workloads if _workloads_collected(frames) else None
    if workloads is None or policies.empty or workloads.empty:
        return empty_frame(TARGET_COLUMNS)
    workloads = workloads.reset_index(drop=True)
    in_ns = workloads.groupby("namespace", sort=False).indices
    selectors = policies.pod_selector.to_numpy()
    labels = workloads["labels"].to_numpy()
    w_pos, p_pos = [], []
    for ns, p_idx in policies.groupby("namespace", sort=False).indices.items():
        w_idx = in_ns.get(ns)
        if w_idx is None:
            continue
        index = LabelIndex(labels[w_idx])
        for i in p_idx:
            chosen = w_idx[index.mask(selectors[i])]
            if chosen.size:
                w_pos.append(chosen)
                p_pos.append(np.full(chosen.size, i))
    if not w_pos:
        return empty_frame(TARGET_COLUMNS)
    w_at, p_at = np.concatenate(w_pos), np.concatenate(p_pos)
    types = policies.policy_types.to_numpy()
    return pd.DataFrame({
        "policy_namespace": policies.namespace.to_numpy()[p_at],
        "policy_name": policies.name.to_numpy()[p_at],
        "kind": workloads.kind.to_numpy()[w_at],
        "namespace": workloads.namespace.to_numpy()[w_at],
        "name": workloads.name.to_numpy()[w_at],
        "ingress": np.array(["Ingress" in t for t in types], dtype=bool)[p_at],
        "egress": np.array(["Egress" in t for t in types], dtype=bool)[p_at],
    }).astype(TARGET_COLUMNS)


def _workloads_collected(frames: Frames) -> bool:
    return not frames.gaps(["workloads"])


# ------------------------------------------------------------------------------------------
# NetworkPolicy enforcement
# ------------------------------------------------------------------------------------------
NODE_AGENT = "aws-eks-nodeagent"
_TRUE = {"1", "t", "true"}  # Go strconv.ParseBool, case-insensitive


@frame("network_policy_enforcement", sources=("aws/eks/describe_addon", "k8s/daemonsets.apps"),
       any_source=True)
def build_network_policy_enforcement(frames: Frames) -> pd.DataFrame:
    """One row: does an engine enforce NetworkPolicy, which one, and the evidence that decided.

    ``enforced`` is True when any engine is found: the Amazon VPC CNI network policy agent
    (``aws-eks-nodeagent`` running with ``--enable-network-policy=true`` in the ``aws-node``
    DaemonSet, or, when that DaemonSet is not in the snapshot, the ``vpc-cni`` add-on's
    ``configurationValues.enableNetworkPolicy``), a ``calico-node`` DaemonSet, or a ``cilium``
    DaemonSet. On EKS Auto Mode (no ``aws-node`` DaemonSet) the ConfigMap
    ``kube-system/amazon-vpc-cni`` key ``enable-network-policy-controller: "true"`` counts.
    When the DaemonSets were collected, the ``aws-node`` DaemonSet is what runs and decides over
    the add-on configuration. ``enforced`` is False when nothing was found, NA when the snapshot
    cannot tell (the add-on is unreadable or not installed and no DaemonSet was collected).
    """
    snap = frames.snapshot
    found: list[tuple[str, str]] = []  # (engine, evidence)
    notes: list[str] = []
    ds_collected = snap.has_k8s("daemonsets.apps")

    addon_state, addon_text = _vpc_cni_addon(frames)
    aws_node = None
    if ds_collected:
        for ds in snap.iter_k8s("daemonsets.apps"):
            meta = ds.get("metadata", {})
            name, ns = meta.get("name", ""), meta.get("namespace", "")
            if name == "calico-node":
                found.append(("Calico", f"DaemonSet {ns}/calico-node runs"))
            elif name == "cilium":
                found.append(("Cilium", f"DaemonSet {ns}/cilium runs"))
            elif name == "aws-node" and ns == "kube-system":
                aws_node = ds
        if aws_node is not None:
            agent_on, agent_text = _node_agent(aws_node)
            if agent_on:
                found.append(("Amazon VPC CNI", agent_text))
            else:
                notes.append(agent_text)
                if addon_state == "enabled":
                    notes.append(f"{addon_text}, but the running DaemonSet does not apply it")
        else:
            notes.append("no aws-node DaemonSet in kube-system")
            if addon_state == "enabled":
                found.append(("Amazon VPC CNI", addon_text))
            auto = _auto_mode_controller(frames)
            if auto:
                found.append(("Amazon VPC CNI (EKS Auto Mode)", auto))
        if not any(e in ("Calico", "Cilium") for e, _ in found):
            notes.append("no calico-node or cilium DaemonSet")
    else:
        notes.append(f"DaemonSets not collected ({snap.coverage('k8s/daemonsets.apps').status})")
        if addon_state == "enabled":
            found.append(("Amazon VPC CNI", addon_text))
        if snap.has_k8s("namespaces") and any(
                n.get("metadata", {}).get("name") == "calico-system"
                for n in snap.iter_k8s("namespaces")):
            found.append(("Calico", "namespace calico-system exists"))
    if addon_state != "enabled":
        notes.insert(0, addon_text)

    if found:
        enforced, engine = True, ", ".join(dict.fromkeys(e for e, _ in found))
        evidence = "; ".join(t for _, t in found)
    elif ds_collected or addon_state == "disabled":
        enforced, engine = False, None
        evidence = "; ".join(notes)
        if not ds_collected:
            evidence += " (Calico or Cilium could not be looked for)"
    else:
        enforced, engine, evidence = None, None, "; ".join(notes)
    row = {"kind": "Cluster", "namespace": "", "name": snap.cluster.name,
           "enforced": enforced, "engine": engine, "evidence": evidence,
           "vpc_cni_addon": addon_state}
    return from_rows([row], {"kind": "str", "namespace": "str", "name": "str",
                             "enforced": "boolean", "engine": "string", "evidence": "str",
                             "vpc_cni_addon": "str"})


def _vpc_cni_addon(frames: Frames) -> tuple[str, str]:
    """State of the vpc-cni add-on: enabled | disabled | not_installed | unreadable."""
    snap = frames.snapshot
    cov = snap.coverage("aws/eks/describe_addon")
    if not cov.ok:
        return "unreadable", f"vpc-cni add-on not read ({cov.describe('aws/eks/describe_addon')})"
    for rec in snap.aws("eks", "describe_addon"):
        addon = (rec.get("response") or {}).get("addon") or {}
        if "error" in rec and rec.get("params", {}).get("addonName") == "vpc-cni":
            code = rec["error"].get("code")
            if code == "ResourceNotFoundException":
                return "not_installed", "vpc-cni is not installed as an EKS add-on"
            return "unreadable", f"vpc-cni add-on not readable ({code})"
        if addon.get("addonName") != "vpc-cni":
            continue
        addons = frames.eks_addons
        row = addons[addons.name == "vpc-cni"].iloc[0]
        if isinstance(row.configuration_error, str):
            return "unreadable", f"vpc-cni add-on {row.configuration_error}"
        value = row.configuration.get("enableNetworkPolicy")
        if value is True or str(value).lower() in _TRUE:
            return "enabled", "vpc-cni add-on configurationValues enableNetworkPolicy=true"
        shown = "unset" if value is None else f"={value}"
        return "disabled", f"vpc-cni add-on configurationValues enableNetworkPolicy {shown}"
    return "not_installed", "vpc-cni was not described as an EKS add-on"


def _node_agent(ds: dict[str, Any]) -> tuple[bool, str]:
    """Read ``--enable-network-policy`` of the aws-node DaemonSet's node agent container."""
    spec = (((ds.get("spec") or {}).get("template") or {}).get("spec") or {})
    agent = next((c for c in spec.get("containers") or () if c.get("name") == NODE_AGENT), None)
    if agent is None:
        return False, (f"aws-node DaemonSet has no {NODE_AGENT} container "
                       "(VPC CNI older than 1.14, or the agent removed)")
    value = None
    for arg in [*(agent.get("command") or ()), *(agent.get("args") or ())]:
        flag, sep, val = str(arg).lstrip("-").partition("=")
        if flag == "enable-network-policy" and str(arg).startswith("-"):
            value = val if sep else "true"  # a bare bool flag means true
    if value is not None and value.lower() in _TRUE:
        return True, f"aws-node DaemonSet: {NODE_AGENT} runs with --enable-network-policy=true"
    shown = ("without --enable-network-policy" if value is None
             else f"with --enable-network-policy={value}")
    return False, f"aws-node DaemonSet: {NODE_AGENT} runs {shown}"


def _auto_mode_controller(frames: Frames) -> str | None:
    snap = frames.snapshot
    for cm in snap.iter_k8s("configmaps"):
        meta = cm.get("metadata", {})
        if meta.get("namespace") == "kube-system" and meta.get("name") == "amazon-vpc-cni":
            value = str((cm.get("data") or {}).get("enable-network-policy-controller", ""))
            if value.lower() == "true":
                return "ConfigMap kube-system/amazon-vpc-cni enable-network-policy-controller=true"
    return None


def enforcement_caveat(frames: Frames) -> str:
    """Return a note for NetworkPolicy findings when no engine is known to enforce them.

    ``""`` when enforcement was found; otherwise a sentence saying the policies were judged as
    written, for the detail of every namespace and workload finding.
    """
    if frames.gaps(["network_policy_enforcement"]):
        return "policies judged as written (NetworkPolicy enforcement not assessed)"
    enforced = flag_value(frames.network_policy_enforcement.iloc[0].enforced)
    if enforced is True:
        return ""
    if enforced is False:
        return "policies judged as written: no engine enforces NetworkPolicy, so they are inert"
    return "policies judged as written (NetworkPolicy enforcement unknown)"


def with_caveat(detail: pd.Series | str, caveat: str) -> pd.Series | str:
    """Append ``caveat`` to details (``"; "``-joined); unchanged when the caveat is empty."""
    if not caveat:
        return detail
    if isinstance(detail, str):
        return f"{detail}; {caveat}" if detail else caveat
    return detail.where(detail.eq(""), detail + "; ").astype(str) + caveat


# ------------------------------------------------------------------------------------------
# Services and Ingresses
# ------------------------------------------------------------------------------------------
SVC = "service.beta.kubernetes.io/"
ALB = "alb.ingress.kubernetes.io/"
LBC = "AWS Load Balancer Controller"
SERVICE_COLUMNS = {
    "kind": "str", "namespace": "str", "name": "str", "type": "str", "annotations": "object",
    "selector": "object", "ports": "object", "load_balancer_class": "string",
    "load_balancer_source_ranges": "object", "source_ranges": "object", "external_ips": "object",
    "controller": "string", "scheme": "string", "scheme_reason": "string",
    "internet_facing": "bool", "ssl_cert": "string", "ssl_ports": "string", "system": "bool",
}


@frame("services", sources=("k8s/services",), schema=pa.DataFrameSchema({
    **_KEY,
    "type": pa.Column(str, description="spec.type (ClusterIP when unset)"),
    "source_ranges": pa.Column(object, description=(
        "effective client ranges of a load balancer: spec.loadBalancerSourceRanges, else the "
        "service.beta.kubernetes.io/load-balancer-source-ranges annotation; () = 0.0.0.0/0")),
    "scheme": pa.Column("string", nullable=True, description=(
        "internet-facing | internal for LoadBalancer Services, as the AWS controller decides")),
    "internet_facing": pa.Column(bool),
}))
def build_services(frames: Frames) -> pd.DataFrame:
    """One row per Service with its type, ports, selector and load balancer exposure.

    Examples
    --------
    >>> frames.services.query("internet_facing")[["name", "scheme_reason"]]  # doctest: +SKIP
    """
    rows = []
    for obj in frames.snapshot.iter_k8s("services"):
        meta, spec = obj.get("metadata", {}), obj.get("spec") or {}
        ann = {str(k): str(v) for k, v in (meta.get("annotations") or {}).items()}
        ns = meta.get("namespace", "default")
        stype = spec.get("type") or "ClusterIP"
        ranges = tuple(spec.get("loadBalancerSourceRanges") or ())
        effective = ranges or _csv(ann.get(SVC + "load-balancer-source-ranges"))
        controller = scheme = reason = None
        if stype == "LoadBalancer":
            controller, scheme, reason = service_scheme(spec, ann)
        rows.append({
            "kind": "Service", "namespace": ns, "name": meta.get("name", ""), "type": stype,
            "annotations": ann, "selector": dict(spec.get("selector") or {}),
            "ports": list(spec.get("ports") or ()),
            "load_balancer_class": spec.get("loadBalancerClass"),
            "load_balancer_source_ranges": ranges, "source_ranges": effective,
            "external_ips": tuple(spec.get("externalIPs") or ()),
            "controller": controller, "scheme": scheme, "scheme_reason": reason,
            "internet_facing": scheme == "internet-facing",
            "ssl_cert": ann.get(SVC + "aws-load-balancer-ssl-cert"),
            "ssl_ports": ann.get(SVC + "aws-load-balancer-ssl-ports"),
            "system": ns in SYSTEM_NAMESPACES,
        })
    return from_rows(rows, SERVICE_COLUMNS)


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


def service_scheme(spec: dict[str, Any], ann: dict[str, str]) -> tuple[str, str, str]:
    """Decide ``(controller, scheme, reason)`` for a LoadBalancer Service on AWS.

    - The AWS Load Balancer Controller reconciles Services with ``loadBalancerClass:
      service.k8s.aws/nlb`` or the ``aws-load-balancer-type`` annotation ``external`` /
      ``nlb-ip``; EKS Auto Mode those with ``eks.amazonaws.com/nlb``. Both default to an
      **internal** NLB: internet-facing only with ``aws-load-balancer-scheme: internet-facing``
      (``aws-load-balancer-internal: "true"`` wins over it).
    - Otherwise the in-tree (legacy cloud provider) controller creates an **internet-facing**
      CLB/NLB unless ``aws-load-balancer-internal`` is set to anything but ``"false"``. It
      ignores ``aws-load-balancer-scheme``; when that annotation is present we follow it,
      because it signals the AWS Load Balancer Controller, whose webhook claims Services
      without a ``loadBalancerClass`` (the reason says so).
    - Another ``loadBalancerClass``: the annotation if present, else assumed internet-facing.
    """
    lb_class = spec.get("loadBalancerClass")
    lb_type = (ann.get(SVC + "aws-load-balancer-type") or "").lower()
    internal = ann.get(SVC + "aws-load-balancer-internal")
    scheme = ann.get(SVC + "aws-load-balancer-scheme")
    if lb_class in ("service.k8s.aws/nlb", "eks.amazonaws.com/nlb") or (
            not lb_class and lb_type in ("external", "nlb-ip")):
        controller = "EKS Auto Mode" if lb_class == "eks.amazonaws.com/nlb" else LBC
        if (internal or "").lower() == "true":
            return controller, "internal", "aws-load-balancer-internal=true"
        if scheme:
            return controller, scheme, f"aws-load-balancer-scheme={scheme}"
        return controller, "internal", f"{controller} default scheme (internal)"
    if lb_class:
        if scheme:
            return f"loadBalancerClass {lb_class}", scheme, f"aws-load-balancer-scheme={scheme}"
        return (f"loadBalancerClass {lb_class}", "internet-facing",
                f"unknown loadBalancerClass {lb_class}: assumed internet-facing")
    if internal and internal.lower() != "false":
        return "in-tree", "internal", f"aws-load-balancer-internal={internal}"
    if scheme:
        return (LBC, scheme, f"aws-load-balancer-scheme={scheme} (honoured by the {LBC}; "
                "the in-tree controller ignores it and would create an internet-facing LB)")
    return ("in-tree", "internet-facing",
            "in-tree controller default: internet-facing without aws-load-balancer-internal")


INGRESS_COLUMNS = {
    "kind": "str", "namespace": "str", "name": "str", "annotations": "object",
    "ingress_class": "string", "tls": "object", "hosts": "object", "is_alb": "bool",
    "group_name": "string", "scheme": "string", "scheme_reason": "string",
    "internet_facing": "bool", "inbound_cidrs": "object", "certificate_arn": "string",
    "listen_ports": "object", "ssl_redirect": "string", "system": "bool",
}


@frame("ingresses", sources=("k8s/ingresses.networking.k8s.io",), schema=pa.DataFrameSchema({
    **_KEY,
    "ingress_class": pa.Column("string", nullable=True, description=(
        "spec.ingressClassName, else the kubernetes.io/ingress.class annotation")),
    "is_alb": pa.Column(bool, description="an ALB serves it (class alb, alb.ingress annotations)"),
    "scheme": pa.Column("string", nullable=True, description="ALB scheme (internal by default)"),
    "internet_facing": pa.Column(bool),
}))
def build_ingresses(frames: Frames) -> pd.DataFrame:
    """One row per Ingress: class, TLS, and for ALB Ingresses the scheme and inbound CIDRs.

    An ALB Ingress is internet-facing with ``alb.ingress.kubernetes.io/scheme: internet-facing``
    on it or on any Ingress of its IngressGroup (``group.name``: the group shares one ALB).
    Without the annotation the controller's default is internal (a scheme set in an
    IngressClassParams object is not in the snapshot; the reason says so).
    """
    rows = []
    for obj in frames.snapshot.iter_k8s("ingresses.networking.k8s.io"):
        meta, spec = obj.get("metadata", {}), obj.get("spec") or {}
        ann = {str(k): str(v) for k, v in (meta.get("annotations") or {}).items()}
        ns = meta.get("namespace", "default")
        ing_class = spec.get("ingressClassName") or ann.get("kubernetes.io/ingress.class")
        is_alb = ing_class == "alb" or any(k.startswith(ALB) for k in ann)
        scheme = ann.get(ALB + "scheme") if is_alb else None
        reason = f"alb.ingress.kubernetes.io/scheme={scheme}" if scheme else None
        if is_alb and not scheme:
            scheme, reason = "internal", (f"{LBC} default scheme (internal); an "
                                          "IngressClassParams scheme is not visible")
        rows.append({
            "kind": "Ingress", "namespace": ns, "name": meta.get("name", ""),
            "annotations": ann, "ingress_class": ing_class,
            "tls": list(spec.get("tls") or ()),
            "hosts": tuple(dict.fromkeys(r.get("host") for r in spec.get("rules") or ()
                                         if r.get("host"))),
            "is_alb": is_alb, "group_name": ann.get(ALB + "group.name") if is_alb else None,
            "scheme": scheme, "scheme_reason": reason,
            "internet_facing": scheme == "internet-facing",
            "inbound_cidrs": _csv(ann.get(ALB + "inbound-cidrs")),
            "certificate_arn": ann.get(ALB + "certificate-arn"),
            "listen_ports": _listen_ports(ann.get(ALB + "listen-ports")),
            "ssl_redirect": ann.get(ALB + "ssl-redirect"),
            "system": ns in SYSTEM_NAMESPACES,
        })
    df = from_rows(rows, INGRESS_COLUMNS)
    grouped = df[df.is_alb & df.group_name.notna()]
    public_groups = set(grouped.group_name[grouped.internet_facing])
    inherit = (df.is_alb & df.group_name.isin(public_groups) & ~df.internet_facing).to_numpy()
    if inherit.any():
        df.loc[inherit, "scheme"] = "internet-facing"
        df.loc[inherit, "scheme_reason"] = ("shares the internet-facing ALB of IngressGroup "
                                            + df.group_name[inherit])
        df.loc[inherit, "internet_facing"] = True
    return df


def _listen_ports(text: str | None) -> tuple[tuple[str, int], ...]:
    """Parse ``[{"HTTP": 80}, {"HTTPS": 443}]``; the controller default is HTTP 80."""
    if not text:
        return ()
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return ()
    out = []
    for item in value if isinstance(value, list) else ():
        if isinstance(item, dict):
            out.extend((str(k).upper(), v) for k, v in item.items())
    return tuple(out)


# ------------------------------------------------------------------------------------------
# EC2: security groups and flow logs
# ------------------------------------------------------------------------------------------
SG_COLUMNS = {
    "kind": "str", "namespace": "str", "name": "str", "group_id": "str", "group_name": "string",
    "vpc_id": "string", "tags": "object", "ip_protocol": "string", "from_port": "Int64",
    "to_port": "Int64", "ports": "str", "source_kind": "str", "source": "string",
    "rule_description": "string", "open_to_world": "bool",
}


@frame("security_groups", sources=("aws/ec2/describe_security_groups",),
       schema=pa.DataFrameSchema({
           **_KEY,
           "group_id": pa.Column(str),
           "source_kind": pa.Column(str, pa.Check.isin(
               ["ipv4", "ipv6", "security_group", "prefix_list", "none"]), description=(
               "what the ingress range names; 'none': the group has no ingress rule at all")),
           "open_to_world": pa.Column(bool, description="ingress from 0.0.0.0/0 or ::/0"),
       }))
def build_security_groups(frames: Frames) -> pd.DataFrame:
    """One row per ingress permission range of every described security group.

    A permission (``IpPermissions[]``) with several ranges gives one row per range
    (``IpRanges``, ``Ipv6Ranges``, ``UserIdGroupPairs``, ``PrefixListIds``); a group without
    any ingress permission gives one row with ``source_kind`` ``none``, so that every described
    group appears. ``name`` is the group id.
    """
    rows, seen = [], set()
    for rec in frames.snapshot.aws("ec2", "describe_security_groups"):
        for sg in (rec.get("response") or {}).get("SecurityGroups") or ():
            gid = sg.get("GroupId", "")
            if gid in seen:
                continue
            seen.add(gid)
            base = {"kind": "SecurityGroup", "namespace": "", "name": gid, "group_id": gid,
                    "group_name": sg.get("GroupName"), "vpc_id": sg.get("VpcId"),
                    "tags": {t.get("Key"): t.get("Value") for t in sg.get("Tags") or ()}}
            n = len(rows)
            for perm in sg.get("IpPermissions") or ():
                proto = str(perm.get("IpProtocol", "-1"))
                ports = {"ip_protocol": proto, "from_port": perm.get("FromPort"),
                         "to_port": perm.get("ToPort"),
                         "ports": describe_ports(proto, perm.get("FromPort"), perm.get("ToPort"))}
                for kind, field, key in (("ipv4", "IpRanges", "CidrIp"),
                                         ("ipv6", "Ipv6Ranges", "CidrIpv6"),
                                         ("security_group", "UserIdGroupPairs", "GroupId"),
                                         ("prefix_list", "PrefixListIds", "PrefixListId")):
                    for rng in perm.get(field) or ():
                        source = rng.get(key)
                        rows.append({**base, **ports, "source_kind": kind, "source": source,
                                     "rule_description": rng.get("Description"),
                                     "open_to_world": kind in ("ipv4", "ipv6")
                                     and is_world(source)})
            if len(rows) == n:
                rows.append({**base, "ports": "", "source_kind": "none", "open_to_world": False})
    return from_rows(rows, SG_COLUMNS)


def describe_ports(protocol: str, from_port: Any, to_port: Any) -> str:
    """Write a permission's ports as ``tcp/443``, ``udp/30000-32767`` or ``all traffic``."""
    if protocol in ("-1", "all"):
        return "all traffic"
    name = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}.get(protocol, protocol)
    if name in ("icmp", "icmpv6"):
        return name
    if from_port is None or (from_port in (0, -1) and to_port in (65535, -1)):
        return f"{name}/all ports"
    return f"{name}/{from_port}" if from_port == to_port else f"{name}/{from_port}-{to_port}"


CLUSTER_SG_COLUMNS = {"group_id": "str", "role": "str", "evidence": "str"}


@frame("cluster_security_groups", sources=("aws/eks/describe_cluster",))
def build_cluster_security_groups(frames: Frames) -> pd.DataFrame:
    """One row per (security group, role) of the groups that guard the cluster.

    Roles: ``cluster`` (``clusterSecurityGroupId``: the EKS-created group on control-plane
    ENIs and managed nodes), ``control-plane`` (``securityGroupIds``), ``node`` (groups of the
    cluster's EC2 instances and of its node groups' launch templates, when those were
    collected). Groups found only by tags are not included: load balancer groups carry the
    same ``kubernetes.io/cluster/<name>`` tag and are open to the internet by design.
    """
    rows = []
    for c in frames.eks_cluster.itertuples(index=False):
        if isinstance(c.cluster_security_group_id, str):
            rows.append({"group_id": c.cluster_security_group_id, "role": "cluster",
                         "evidence": "clusterSecurityGroupId"})
        rows += [{"group_id": g, "role": "control-plane", "evidence": "securityGroupIds"}
                 for g in c.security_group_ids]
    snap = frames.snapshot
    for rec in snap.aws("ec2", "describe_instances"):
        for res in (rec.get("response") or {}).get("Reservations") or ():
            for inst in res.get("Instances") or ():  # every instance, not only the first
                groups = [g.get("GroupId") for g in inst.get("SecurityGroups") or ()]
                for eni in inst.get("NetworkInterfaces") or ():
                    groups += [g.get("GroupId") for g in eni.get("Groups") or ()]
                rows += [{"group_id": g, "role": "node",
                          "evidence": f"instance {inst.get('InstanceId', '?')}"}
                         for g in dict.fromkeys(groups) if g]
    for rec in snap.aws("ec2", "describe_launch_template_versions"):
        for ver in (rec.get("response") or {}).get("LaunchTemplateVersions") or ():
            data = ver.get("LaunchTemplateData") or {}
            groups = list(data.get("SecurityGroupIds") or ())
            for eni in data.get("NetworkInterfaces") or ():
                groups += list(eni.get("Groups") or ())
            rows += [{"group_id": g, "role": "node",
                      "evidence": f"launch template {ver.get('LaunchTemplateId', '?')}"}
                     for g in dict.fromkeys(groups) if g]
    df = from_rows(rows, CLUSTER_SG_COLUMNS)
    if df.empty:
        return df
    # one row per (group, role); evidence of many instances collapses to a count
    return (df.groupby(["group_id", "role"], sort=False)["evidence"]
            .agg(lambda s: s.iloc[0] if len(s) == 1 else f"{s.iloc[0]} and {len(s) - 1} more")
            .reset_index())


FLOW_LOG_COLUMNS = {
    "kind": "str", "namespace": "str", "name": "str", "resource_id": "string",
    "traffic_type": "string", "flow_log_status": "string", "deliver_logs_status": "string",
    "deliver_logs_error_message": "string", "log_destination_type": "string",
    "log_destination": "string",
}


@frame("flow_logs", sources=("aws/ec2/describe_flow_logs",))
def build_flow_logs(frames: Frames) -> pd.DataFrame:
    """One row per VPC flow log (``ec2.describe_flow_logs``), named by its FlowLogId."""
    rows, seen = [], set()
    for rec in frames.snapshot.aws("ec2", "describe_flow_logs"):
        for fl in (rec.get("response") or {}).get("FlowLogs") or ():
            fid = fl.get("FlowLogId", "")
            if fid in seen:
                continue
            seen.add(fid)
            rows.append({
                "kind": "FlowLog", "namespace": "", "name": fid,
                "resource_id": fl.get("ResourceId"), "traffic_type": fl.get("TrafficType"),
                "flow_log_status": fl.get("FlowLogStatus"),
                "deliver_logs_status": fl.get("DeliverLogsStatus"),
                "deliver_logs_error_message": fl.get("DeliverLogsErrorMessage"),
                "log_destination_type": fl.get("LogDestinationType"),
                "log_destination": fl.get("LogDestination") or fl.get("LogGroupName"),
            })
    return from_rows(rows, FLOW_LOG_COLUMNS)


def endpoint_state(public: Any, private: Any, cidrs: Iterable[str]) -> str:
    """Name the API endpoint state: private-only, public-and-private or public-only.

    ``public`` unset counts as enabled (the EKS default); an empty ``publicAccessCidrs`` with
    public access on means ``0.0.0.0/0`` (the EKS default).

    >>> endpoint_state(True, True, ["0.0.0.0/0"])
    'public-and-private (public endpoint open to 0.0.0.0/0)'
    >>> endpoint_state(False, True, [])
    'private-only'
    """
    public, private = flag_value(public), flag_value(private)
    cidrs = list(cidrs) or ["0.0.0.0/0"]
    if public is False:
        return "private-only" if private is True else "no endpoint access enabled"
    world = [c for c in cidrs if is_world(c)]
    access = (f"open to {', '.join(world)}" if world
              else f"limited to {', '.join(cidrs[:5])}" + (" …" if len(cidrs) > 5 else ""))
    state = "public-and-private" if private is True else "public-only"
    return f"{state} (public endpoint {access})"


def namespaces_in_scope(frames: Frames) -> pd.DataFrame:
    """Return the non-system namespaces that run a workload, as ``Namespace`` result keys.

    Columns ``kind, namespace (""), name, workloads`` (the number of workloads in it).
    """
    w = frames.workloads
    counts = w[~w.namespace.isin(SYSTEM_NAMESPACES)].groupby("namespace").size()
    return pd.DataFrame({"kind": "Namespace", "namespace": "", "name": counts.index.astype(str),
                         "workloads": counts.to_numpy()})


def flag_value(value: Any) -> bool | None:
    """Read a nullable boolean frame cell (numpy and pandas scalars too) as True, False or None."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    return bool(value)
