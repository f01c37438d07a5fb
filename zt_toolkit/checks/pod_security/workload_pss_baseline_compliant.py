import pandas as pd

from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.pod_security._pss import pss_results
from zt_toolkit.checks.registry import check


@check(
    id="workload_pss_baseline_compliant",
    pillar=Pillar.POD_SECURITY,
    severity=Severity.HIGH,
    title="Workloads meet the baseline Pod Security Standard",
    requires=("workloads", "pod_specs", "workload_pss"),
    reason="violates the Pod Security Standards baseline profile",
    remediation="Remove what the baseline profile forbids from the pod template: privileged "
    "containers, hostNetwork/hostPID/hostIPC, hostPort, hostPath volumes, added capabilities "
    "beyond the default set, Unconfined seccomp or AppArmor, custom SELinux types, unsafe "
    "sysctls, Unmasked procMount, Windows HostProcess. Then enforce it: `kubectl label "
    "--overwrite ns <ns> pod-security.kubernetes.io/enforce=baseline`.",
    references=("PSS baseline", "BPG pods", "CIS 4.2.1"),
)
def workload_pss_baseline_compliant(frames) -> pd.DataFrame:
    """A workload that breaks the baseline profile can take over its node (known escalations).

    The workload's pod template (a bare Pod's spec) is evaluated as Pod Security Admission does,
    at the version of its namespace's ``pod-security.kubernetes.io/enforce-version`` label, else
    latest; an invalid version label means latest (Pod Security Admission fails closed). Every
    revision of every baseline check applies at that version, including the annotation-based
    seccomp and AppArmor of old versions. Windows pods are judged by the Windows rules of the
    standard. System namespaces are evaluated too (EKS add-ons are judged against the EKS
    baseline). The detail names each violated Pod Security Admission check id with what breaks
    it.
    """
    return pss_results(frames, "baseline")
