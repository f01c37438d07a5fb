import pandas as pd

from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.network._default_deny import default_deny_results
from zt_toolkit.checks.registry import check


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
    return default_deny_results(frames, "Ingress")
