import pandas as pd

from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.pod_security._pss import pss_results
from zt_toolkit.checks.registry import check


@check(
    id="workload_pss_restricted_compliant",
    pillar=Pillar.POD_SECURITY,
    severity=Severity.MEDIUM,
    title="Workloads meet the restricted Pod Security Standard",
    requires=("workloads", "pod_specs", "workload_pss"),
    reason="violates the Pod Security Standards restricted profile",
    remediation="Harden the pod template: securityContext runAsNonRoot: true (and no runAsUser "
    "0), seccompProfile {type: RuntimeDefault} at pod level, and on every container "
    "allowPrivilegeEscalation: false and capabilities {drop: [ALL]} (add only "
    "NET_BIND_SERVICE); use only configMap, secret, projected, emptyDir, downwardAPI, csi, "
    "ephemeral and persistentVolumeClaim volumes. Then enforce it: `kubectl label --overwrite "
    "ns <ns> pod-security.kubernetes.io/enforce=restricted`.",
    references=("PSS restricted", "BPG pods", "KS C-0013", "KS C-0016"),
)
def workload_pss_restricted_compliant(frames) -> pd.DataFrame:
    """Restricted is current pod hardening practice; a workload short of it gives an intruder room.

    The workload's pod template (a bare Pod's spec) is evaluated as Pod Security Admission does,
    at the version of its namespace's ``pod-security.kubernetes.io/enforce-version`` label, else
    latest; an invalid version label means latest (Pod Security Admission fails closed).
    Restricted includes every baseline check (some replaced by stricter ones:
    restrictedVolumes over hostPathVolumes, seccompProfile_restricted, capabilities_restricted).
    Pods with ``spec.os.name: windows`` skip the Linux-only checks in the versions that exempt
    them, as in Kubernetes; a Windows nodeSelector alone does not exempt them. System namespaces are
    evaluated too. The detail names each violated Pod Security Admission check id.
    """
    return pss_results(frames, "restricted")
