import numpy as np
import pandas as pd

from zt_toolkit.analysis.rbac import grants_workload_creation, subject_results, subjects_of
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check

SYSTEM_NS = "kube-system"


@check(
    id="rbac_pod_create_minimal",
    pillar=Pillar.IDENTITY,
    severity=Severity.MEDIUM,
    title="Only EKS baseline subjects can create pods or workloads cluster-wide or in kube-system",
    requires=("role_bindings", "subject_permissions"),
    reason="subject can create pods cluster-wide",
    remediation="Bind pod and workload creation per namespace: replace the ClusterRoleBinding "
    "with RoleBindings in the namespaces the subject deploys to (kubectl create rolebinding "
    "<name> -n <ns> --clusterrole=<role> --serviceaccount=<ns>:<sa>), never in kube-system; "
    "enforce Pod Security Admission there so that a created pod cannot be privileged.",
    references=("CIS 4.1.4", "KS C-0188", "PW rbac_minimize_pod_creation_access",
                "rbac-police assign_sa"),
)
def rbac_pod_create_minimal(frames) -> pd.DataFrame:
    """Who can create pods anywhere can run as any service account, on any node, with hostPath.

    A created pod picks its ServiceAccount (and so its RBAC and IAM rights), its node and, where
    admission allows, privileged mode and host mounts. Counted: create on pods,
    replicationcontrollers, deployments, daemonsets, statefulsets, replicasets, jobs and
    cronjobs, and update/patch of those controllers (their new pod template runs), ``*``
    included. The check judges cluster-wide grants (ClusterRoleBindings) and grants in
    kube-system, whose ServiceAccounts hold the controllers' rights: a RoleBinding there is as
    good as cluster-wide. A RoleBinding in another namespace is how teams deploy: it passes,
    and the detail names the namespaces so that they stay visible.
    """
    perms = frames.subject_permissions
    creates = grants_workload_creation(perms)
    wide = perms["scope"].eq("cluster") | perms["scope_namespace"].eq(SYSTEM_NS)
    by_template = creates & ~grants_workload_creation(perms, template_updates=False)
    note = pd.Series(np.where(by_template, " [update/patch of a controller's pod template]", ""),
                     index=perms.index)
    return subject_results(subjects_of(frames.role_bindings), perms, creates & wide,
                           "can create pods cluster-wide or in kube-system", note=note,
                           noted=creates & ~wide,
                           noted_what="namespace-scoped only, not counted")

