import pandas as pd

from zt_toolkit.checks.helpers import is_not_false, is_true, results_by_workload
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.pod_security._common import linux_only
from zt_toolkit.checks.registry import check


@check(
    id="container_privilege_escalation_disallowed",
    pillar=Pillar.POD_SECURITY,
    severity=Severity.HIGH,
    title="Containers set allowPrivilegeEscalation to false",
    requires=("containers", "workloads", "pod_specs"),
    reason="allowPrivilegeEscalation != false",
    remediation="Set securityContext.allowPrivilegeEscalation: false on every container, "
    "including init and ephemeral containers.",
    references=("CIS 4.2.5", "PSS restricted", "KS C-0016"),
)
def container_privilege_escalation_disallowed(frames) -> pd.DataFrame:
    """A process can gain more privileges than its parent (setuid binaries, file capabilities).

    Unset counts as allowed, as in Kubernetes (the kubelet sets no_new_privs only when the field
    is false). Init and ephemeral containers are included; a privileged container always
    escalates, whatever the field says. Windows pods are not applicable (Linux-only control).
    """
    c = frames.containers
    failed = is_not_false(c.allow_privilege_escalation) | is_true(c.privileged)
    return linux_only(results_by_workload(c, failed), frames, "allowPrivilegeEscalation")
