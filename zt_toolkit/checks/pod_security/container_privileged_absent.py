import pandas as pd

from zt_toolkit.checks.helpers import is_true, results_by_workload
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check


@check(
    id="container_privileged_absent",
    pillar=Pillar.POD_SECURITY,
    severity=Severity.CRITICAL,
    title="No container runs privileged",
    requires=("containers",),
    reason="privileged: true",
    remediation="Remove securityContext.privileged (or set it to false) on every container, "
    "including init and ephemeral containers; grant the single capability the process needs "
    "instead (capabilities.add), and enforce the baseline level: `kubectl label ns <ns> "
    "pod-security.kubernetes.io/enforce=baseline`.",
    references=("CIS 4.2.1", "PSS baseline", "KS C-0057", "PW core_minimize_privileged_containers"),
)
def container_privileged_absent(frames) -> pd.DataFrame:
    """A privileged container has every capability and the host's devices: it owns the node.

    Unset means not privileged. Init and ephemeral containers are included (a privileged init
    container or debug container is as dangerous as a long-running one). Every offending
    container is named, per owning workload. EKS add-ons that need it (aws-node, kube-proxy,
    ebs-csi-node) are judged against the EKS baseline.
    """
    c = frames.containers
    return results_by_workload(c, is_true(c.privileged), label="privileged containers")
