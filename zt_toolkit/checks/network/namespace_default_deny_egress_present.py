import pandas as pd

from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.network._default_deny import default_deny_results
from zt_toolkit.checks.registry import check


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
    return default_deny_results(frames, "Egress")
