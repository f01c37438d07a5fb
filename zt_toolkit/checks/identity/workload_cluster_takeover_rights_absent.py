import numpy as np
import pandas as pd

from zt_toolkit.analysis.rbac import (
    describe_grant,
    grants,
    grants_escalation,
    grants_workload_creation,
    holds_cluster_admin,
    service_account_permissions,
    token_mounts,
)
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check

SYSTEM_NS = "kube-system"


def takeover_rights(sp: pd.DataFrame) -> pd.Series:
    """Name the takeover right each permission row grants ('' when none), most severe first."""
    cluster = sp["scope"].eq("cluster")
    in_system = cluster | sp["scope_namespace"].eq(SYSTEM_NS)
    creates = grants_workload_creation(sp)
    rights = np.select(
        [holds_cluster_admin(sp) & cluster,
         grants_escalation(sp) & in_system,
         grants(sp, ("get", "list", "watch"), "secrets") & cluster,
         creates & in_system],
        ["is cluster-admin", "can bind/escalate/impersonate", "can read all Secrets",
         "can create pods in kube-system"],
        default="")
    return pd.Series(rights, index=sp.index)


@check(
    id="workload_cluster_takeover_rights_absent",
    pillar=Pillar.IDENTITY,
    severity=Severity.CRITICAL,
    title="No workload's service account can take over the cluster",
    requires=("workloads", "service_accounts", "subject_permissions"),
    reason="a compromised pod of this workload owns the cluster",
    remediation="Give the workload a dedicated ServiceAccount bound only to what it uses "
    "(kubectl create serviceaccount <app> -n <ns>; a Role, not a ClusterRole, where possible); "
    "remove cluster-admin, escalate/bind/impersonate, cluster-wide Secret reads and pod creation "
    "in kube-system from its bindings; set automountServiceAccountToken: false if it never calls "
    "the API.",
    references=("KS C-0267", "KS C-0272", "rbac-police", "BPG iam"),
)
def workload_cluster_takeover_rights_absent(frames) -> pd.DataFrame:
    """When a pod's service account can take over the cluster, one app bug owns the cluster.

    An RCE or a poisoned dependency yields the pod's token: if it can read every Secret, create
    pods in kube-system, bind, escalate or impersonate, or is cluster-admin, the cluster is
    lost. Rights count through direct bindings and through the groups every service account is
    in (system:serviceaccounts, system:serviceaccounts:<ns>, system:authenticated). Pod creation
    counts as the workload controllers too (a DaemonSet in kube-system is a pod there), and so
    does update/patch of a controller (its new pod template runs). A
    workload that does not mount a token (automountServiceAccountToken false on the pod, or on
    its ServiceAccount with the pod unset) passes with that noted; a token mounted through an
    explicit projected volume is not seen. EKS add-ons are judged by the EKS baseline.
    """
    w = token_mounts(frames.workloads, frames.service_accounts)
    sas = w[["namespace", "service_account"]].rename(columns={"service_account": "name"})
    sp = service_account_permissions(frames.subject_permissions, sas)
    sp = sp.assign(right=takeover_rights(sp))
    sp = sp[sp["right"] != ""]
    text = sp["right"] + ": " + describe_grant(sp)
    found = (pd.DataFrame({"namespace": sp["sa_namespace"], "service_account": sp["sa_name"],
                           "text": text})
             .groupby(["namespace", "service_account"], sort=False)["text"]
             .agg(lambda s: "; ".join(list(dict.fromkeys(s))[:4])))
    keys = pd.MultiIndex.from_arrays([w["namespace"], w["service_account"]])
    rights = found.reindex(keys).to_numpy()
    has = np.array([isinstance(r, str) for r in rights], dtype=bool)
    mounted = w["token_mounted"].to_numpy()
    sa = 'ServiceAccount "' + w["service_account"] + '" '
    detail = np.where(has, sa + np.where(has, rights, "").astype(object), "")
    detail = np.where(has & ~mounted, detail + " (token not mounted: " + w["token_why"] + ")",
                      detail)
    out = w[["kind", "namespace", "name"]].reset_index(drop=True)
    out["status"] = np.where(has & mounted, "fail", "pass")
    out["detail"] = detail
    return out
