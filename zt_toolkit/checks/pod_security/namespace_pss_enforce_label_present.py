import numpy as np
import pandas as pd

from zt_toolkit.checks.helpers import KEY
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check

ENFORCING_LEVELS = ("baseline", "restricted")


@check(
    id="namespace_pss_enforce_label_present",
    pillar=Pillar.POD_SECURITY,
    severity=Severity.HIGH,
    title="Namespaces enforce the baseline or restricted Pod Security Standard",
    requires=("namespaces",),
    reason="no pod-security.kubernetes.io/enforce label of baseline or restricted",
    remediation="Preview the violations, then label the namespace: `kubectl label --dry-run=server "
    "--overwrite ns <ns> pod-security.kubernetes.io/enforce=restricted` lists the pods that "
    "would be rejected; then `kubectl label --overwrite ns <ns> "
    "pod-security.kubernetes.io/enforce=baseline "
    "pod-security.kubernetes.io/enforce-version=latest` "
    "(restricted where the workloads allow it). Keep audit/warn at restricted to see the gap.",
    references=("BPG pods", "KS C-0193", "PSS baseline", "PSS restricted", "CIS 4.2.1"),
)
def namespace_pss_enforce_label_present(frames) -> pd.DataFrame:
    """Pod Security Admission only blocks privileged pods in namespaces that enforce a level.

    EKS runs Pod Security Admission with the default level ``privileged``: a namespace without
    an ``enforce`` label admits privileged, host-namespace and hostPath pods. Labels ``audit``
    and ``warn`` only report, they never block, so a namespace with only those fails (the detail
    names them). An invalid level (``Restricted``, ``strict``) is not enforced and fails. System
    namespaces (kube-system, kube-public, kube-node-lease) are not applicable: EKS components in
    them need privileges; they are judged per workload against the EKS baseline. A pinned
    ``enforce-version`` is shown in the detail.
    """
    ns = frames.namespaces
    level = ns["pss_enforce"].astype("string")
    enforced = level.isin(ENFORCING_LEVELS).fillna(False).astype(bool)
    version = ns["pss_enforce_version"].astype("string")
    audit, warn = ns["pss_audit"].astype("string"), ns["pss_warn"].astype("string")
    enforce_text = ("enforce=" + level).fillna("no enforce label")
    enforce_text = enforce_text.where(enforced | level.isna(),
                                      enforce_text + " (not a level that blocks pods)")
    version_text = (" (version " + version + ")").fillna("")
    others = ((", audit=" + audit).fillna("") + (", warn=" + warn).fillna(""))
    out = ns[KEY].copy()
    out["status"] = np.where(ns["system"], "not_applicable",
                             np.where(enforced, "pass", "fail"))
    out["detail"] = (enforce_text + version_text + others).astype(str)
    out.loc[ns["system"].values, "detail"] = (
        "system namespace: judged per workload against the EKS baseline; "
        + out.loc[ns["system"].values, "detail"])
    return out.reset_index(drop=True)
