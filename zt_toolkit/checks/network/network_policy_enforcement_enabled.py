import pandas as pd

from zt_toolkit.checks.helpers import result, results
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check
from zt_toolkit.errors import NotAssessed
from zt_toolkit.frames.network import flag_value


@check(
    id="network_policy_enforcement_enabled",
    pillar=Pillar.NETWORK,
    severity=Severity.CRITICAL,
    title="An engine enforces NetworkPolicy (VPC CNI network policy agent, Calico or Cilium)",
    requires=("network_policy_enforcement",),
    reason="no engine enforces NetworkPolicy: every policy is inert",
    remediation="Enable the VPC CNI network policy agent: aws eks update-addon --cluster-name "
    "<cluster> --addon-name vpc-cni --configuration-values '{\"enableNetworkPolicy\": \"true\"}' "
    "(VPC CNI >= 1.14, nodes on a supported AMI); or install Calico (policy-only mode) or "
    "Cilium.",
    references=("CIS 4.3.1", "CIS 5.4.4", "BPG network",
                "PW eks_cluster_vpc_cni_network_policy_enforced", "KS C-0205"),
)
def network_policy_enforcement_enabled(frames) -> pd.DataFrame:
    """Without an enforcing engine every NetworkPolicy is inert and all pods reach all pods.

    The Kubernetes API accepts NetworkPolicies whether or not anything enforces them.

    Evidence, strongest first: the ``aws-node`` DaemonSet's ``aws-eks-nodeagent`` container
    running with ``--enable-network-policy=true`` (it decides over the add-on configuration,
    being what runs), a ``calico-node`` or ``cilium`` DaemonSet, the ``vpc-cni`` add-on's
    ``configurationValues.enableNetworkPolicy`` (string ``"true"`` or boolean) when the
    DaemonSet is not in the snapshot, and on EKS Auto Mode the ``amazon-vpc-cni`` ConfigMap.
    VPC CNI alone, without the setting, does not enforce (kubescape's reverse assumption, that
    VPC CNI cannot enforce, is stale). Not assessed when neither add-ons nor DaemonSets were
    collected, or when the add-on is unreadable or absent and no DaemonSet was collected.
    Fargate and Windows pods are not covered by the VPC CNI agent; a Calico or Cilium install
    is taken as enforcing (Cilium's ``policy-enforcement-mode: never`` is not read).
    """
    e = frames.network_policy_enforcement.iloc[0]
    enforced = flag_value(e.enforced)
    if enforced is None:
        raise NotAssessed(f"cannot tell whether NetworkPolicy is enforced: {e.evidence}")
    detail = f"enforced by {e.engine}: {e.evidence}" if enforced else f"not enforced: {e.evidence}"
    return results([result(e["kind"], e["namespace"], e["name"], failed=not enforced,
                           detail=detail)])
