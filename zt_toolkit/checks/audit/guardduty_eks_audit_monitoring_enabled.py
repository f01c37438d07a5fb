import pandas as pd

from zt_toolkit.checks.helpers import cluster_result
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check
from zt_toolkit.frames.audit import described_detectors
from zt_toolkit.frames.secrets import plain


def _audit_status(d: dict) -> str:
    """EKS audit-log monitoring status of one described detector."""
    if d["status"] != "ENABLED":
        return f"detector {d['name']} is {d['status'] or 'in an unknown state'}"
    if d["eks_audit_logs"]:
        return f"detector {d['name']}: EKS_AUDIT_LOGS {d['eks_audit_logs']}"
    if d["legacy_kubernetes_audit_logs"]:
        return (f"detector {d['name']}: DataSources.Kubernetes.AuditLogs "
                f"{d['legacy_kubernetes_audit_logs']}")
    return f"detector {d['name']}: EKS_AUDIT_LOGS not reported"


@check(
    id="guardduty_eks_audit_monitoring_enabled",
    pillar=Pillar.AUDIT,
    severity=Severity.HIGH,
    title="GuardDuty EKS Protection monitors the cluster's audit logs",
    requires=("guardduty_detectors",),
    reason="GuardDuty EKS audit log monitoring off",
    remediation="aws guardduty update-detector --detector-id <id> --features "
    "'[{\"Name\":\"EKS_AUDIT_LOGS\",\"Status\":\"ENABLED\"}]' (create the detector first with "
    "aws guardduty create-detector --enable if the region has none).",
    references=("BPG detective", "PW guardduty_eks_audit_log_enabled"),
)
def guardduty_eks_audit_monitoring_enabled(frames) -> pd.DataFrame:
    """Without it nobody is alerted on attacks visible in the Kubernetes audit log.

    Anonymous access, calls from known-malicious IPs, privileged pod creation and credential
    access go unnoticed.

    Passes when an ENABLED detector has feature EKS_AUDIT_LOGS ENABLED (or, for detectors
    that report no features, the legacy DataSources.Kubernetes.AuditLogs.Status ENABLED). No
    detector in the region fails; detectors listed but not described make it not_assessed.
    """
    d = frames.guardduty_detectors
    if d.empty:
        return cluster_result(frames, failed=True,
                              detail="no GuardDuty detector in the cluster's region")
    described = described_detectors(d)
    on = described.status.eq("ENABLED").fillna(False) & (
        described.eks_audit_logs.eq("ENABLED").fillna(False)
        | (described.eks_audit_logs.isna()
           & described.legacy_kubernetes_audit_logs.eq("ENABLED").fillna(False)))
    states = "; ".join(_audit_status(plain(r)) for _, r in described.iterrows())
    return cluster_result(frames, failed=not bool(on.any()), detail=states)
