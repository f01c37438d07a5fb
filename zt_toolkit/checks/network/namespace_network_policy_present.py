import pandas as pd

from zt_toolkit.checks.helpers import join_names, results_per_row
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check
from zt_toolkit.frames.network import enforcement_caveat, namespaces_in_scope, with_caveat


@check(
    id="namespace_network_policy_present",
    pillar=Pillar.NETWORK,
    severity=Severity.HIGH,
    title="Every non-system namespace that runs workloads has at least one NetworkPolicy",
    requires=("workloads", "network_policies", "crd_network_policies"),
    reason="namespace has no NetworkPolicy",
    remediation="Start with a default-deny policy and add allow rules per workload: kubectl "
    "apply -n <ns> -f - <<< '{\"apiVersion\": \"networking.k8s.io/v1\", \"kind\": "
    "\"NetworkPolicy\", \"metadata\": {\"name\": \"default-deny\"}, \"spec\": {\"podSelector\": "
    "{}, \"policyTypes\": [\"Ingress\", \"Egress\"]}}'",
    references=("CIS 4.3.2", "KS C-0206", "BPG network"),
)
def namespace_network_policy_present(frames) -> pd.DataFrame:
    """Without any NetworkPolicy a namespace is flat: one compromised pod reaches all its pods.

    Judged: namespaces that run a workload, except kube-system, kube-public and
    kube-node-lease. CiliumNetworkPolicies and Calico NetworkPolicies count as policies when
    those CRDs were collected (kubescape and kube-bench miss them). Policies are judged as
    written; the detail says so when no enforcement engine was found.
    """
    ns = namespaces_in_scope(frames)
    crd = frames.crd_network_policies
    policies = pd.concat([frames.network_policies[["namespace", "name"]],
                          crd.assign(name=crd.kind + " " + crd.name)[["namespace", "name"]]],
                         ignore_index=True)
    by_ns = policies.groupby("namespace")["name"].agg(list)
    found = ns.name.map(by_ns)
    has = found.notna()
    detail = pd.Series([
        f"{len(p)} polic{'y' if len(p) == 1 else 'ies'}: {join_names(p, 5)}" if isinstance(p, list)
        else f"no NetworkPolicy for {n} workload(s)"
        for p, n in zip(found, ns.workloads, strict=True)
    ], index=ns.index, dtype=str)
    return results_per_row(ns, ~has, with_caveat(detail, enforcement_caveat(frames)))
