import pandas as pd

from zt_toolkit.checks.helpers import join_names, result, results
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check
from zt_toolkit.frames.network import enforcement_caveat, namespaces_in_scope, with_caveat


@check(
    id="namespace_default_deny_egress_present",
    pillar=Pillar.NETWORK,
    severity=Severity.MEDIUM,
    title="Every non-system namespace has a default-deny egress NetworkPolicy (DNS may stay open)",
    requires=("workloads", "network_policies"),
    reason="no default-deny egress policy in the namespace",
    remediation="kubectl apply -n <ns> -f - <<'EOF'\napiVersion: networking.k8s.io/v1\n"
    "kind: NetworkPolicy\nmetadata: {name: default-deny-egress}\nspec:\n  podSelector: {}\n"
    "  policyTypes: [Egress]\n  egress:\n  - to:\n    - namespaceSelector: {matchLabels: "
    "{kubernetes.io/metadata.name: kube-system}}\n      podSelector: {matchLabels: "
    "{k8s-app: kube-dns}}\n    ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]\n"
    "EOF",
    references=("BPG network", "Steampipe network_policy_default_deny_egress"),
)
def namespace_default_deny_egress_present(frames) -> pd.DataFrame:
    """Without default-deny egress a compromised pod reaches every service and the internet.

    Lateral movement, the instance metadata endpoint and data exfiltration meet no control.

    Passes when a policy with an empty ``podSelector`` has ``Egress`` in its (defaulted)
    ``policyTypes`` and either no egress rule or only rules that allow DNS (port 53 over UDP
    or TCP, or the named ports ``dns`` / ``dns-tcp``) — the usable form of a default deny
    the EKS Best Practices Guide recommends. Fails when the deny is re-opened by a policy that
    also selects all pods and allows every destination on every port. Judged: non-system
    namespaces that run a workload; policies are judged as written.
    """
    p = frames.network_policies
    everyone = p[p.selects_all_pods & p.policy_types.map(lambda t: "Egress" in t)]
    denying = everyone.denies_all_egress | everyone.egress_dns_only
    deny = everyone[denying].groupby("namespace")["name"].agg(list)
    dns = set(everyone.name[everyone.egress_dns_only] + "@" + everyone.namespace[
        everyone.egress_dns_only])
    reopen = everyone[everyone.allow_all_egress].groupby("namespace")["name"].agg(list)
    allow = everyone[~denying].groupby("namespace")["name"].agg(list)
    caveat = enforcement_caveat(frames)
    rows = []
    for ns in namespaces_in_scope(frames).itertuples(index=False):
        denies, reopens = deny.get(ns.name), reopen.get(ns.name)
        if denies and reopens:
            failed, detail = True, (f"default deny {join_names(denies, 3)} is re-opened by "
                                    f"{join_names(reopens, 3)} (allows every destination)")
        elif denies:
            shown = [f"{d} (allows only DNS)" if f"{d}@{ns.name}" in dns else d for d in denies]
            failed, detail = False, f"default deny egress: {join_names(shown, 3)}"
        else:
            failed, detail = True, "no policy with an empty podSelector denies all egress"
            if ns.name in allow:
                detail += ("; policies selecting all pods allow some egress: "
                           + join_names(allow[ns.name], 3))
        rows.append(result(ns.kind, ns.namespace, ns.name, failed=failed,
                           detail=with_caveat(detail, caveat)))
    return results(rows)
