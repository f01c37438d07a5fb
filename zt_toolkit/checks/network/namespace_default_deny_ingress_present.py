import pandas as pd

from zt_toolkit.checks.helpers import join_names, result, results
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check
from zt_toolkit.frames.network import enforcement_caveat, namespaces_in_scope, with_caveat


@check(
    id="namespace_default_deny_ingress_present",
    pillar=Pillar.NETWORK,
    severity=Severity.HIGH,
    title="Every non-system namespace has a default-deny ingress NetworkPolicy",
    requires=("workloads", "network_policies"),
    reason="no default-deny ingress policy in the namespace",
    remediation="kubectl apply -n <ns> -f - <<'EOF'\napiVersion: networking.k8s.io/v1\n"
    "kind: NetworkPolicy\nmetadata: {name: default-deny-ingress}\n"
    "spec: {podSelector: {}, policyTypes: [Ingress]}\nEOF\n"
    "then allow the flows each workload needs with narrower policies.",
    references=("BPG network", "NSA Kubernetes Hardening Guidance",
                "Steampipe network_policy_default_deny_ingress"),
)
def namespace_default_deny_ingress_present(frames) -> pd.DataFrame:
    """Without default-deny ingress, every new pod accepts connections from every other pod.

    Isolation then depends on every team remembering to write a policy for every workload.

    Passes when a policy with an empty ``podSelector`` has ``Ingress`` in its (defaulted)
    ``policyTypes`` and no ingress rule. Fails when that deny is re-opened by a policy that
    also selects all pods and allows every source on every port (``ingress: [{}]``).
    Judged: non-system namespaces that run a workload. Policies are judged as written; the
    detail says so when no enforcement engine was found.
    """
    p = frames.network_policies
    everyone = p[p.selects_all_pods & p.policy_types.map(lambda t: "Ingress" in t)]
    deny = everyone[everyone.denies_all_ingress].groupby("namespace")["name"].agg(list)
    reopen = everyone[everyone.allow_all_ingress].groupby("namespace")["name"].agg(list)
    allow = everyone[~everyone.denies_all_ingress].groupby("namespace")["name"].agg(list)
    caveat = enforcement_caveat(frames)
    rows = []
    for ns in namespaces_in_scope(frames).itertuples(index=False):
        denies, reopens = deny.get(ns.name), reopen.get(ns.name)
        if denies and reopens:
            failed, detail = True, (f"default deny {join_names(denies, 3)} is re-opened by "
                                    f"{join_names(reopens, 3)} (allows every source and port)")
        elif denies:
            failed, detail = False, f"default deny ingress: {join_names(denies, 3)}"
        else:
            failed, detail = True, "no policy with an empty podSelector denies all ingress"
            if ns.name in allow:
                detail += ("; policies selecting all pods allow some ingress: "
                           + join_names(allow[ns.name], 3))
        rows.append(result(ns.kind, ns.namespace, ns.name, failed=failed,
                           detail=with_caveat(detail, caveat)))
    return results(rows)
