import pandas as pd

from zt_toolkit.analysis.rbac import holds_cluster_admin, subject_results, subjects_of
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check


@check(
    id="rbac_cluster_admin_binding_minimal",
    pillar=Pillar.IDENTITY,
    severity=Severity.HIGH,
    title="Only the EKS baseline subjects are bound to cluster-admin",
    requires=("role_bindings", "subject_permissions"),
    reason="subject holds cluster-admin",
    remediation="Replace the binding with a role that grants only what the subject needs: "
    "kubectl delete clusterrolebinding <name> (or rolebinding -n <ns>), then bind a narrower "
    "ClusterRole such as edit/view, or a custom Role, in the namespaces it works in.",
    references=("CIS 4.1.1", "KS C-0185", "PW rbac_cluster_admin_usage",
                "rbac-police cluster_admin"),
)
def rbac_cluster_admin_binding_minimal(frames) -> pd.DataFrame:
    """One stolen token or kubeconfig of a cluster-admin subject owns the cluster.

    A cluster-admin can do anything to any object, Secrets and RBAC included. A subject holds
    cluster-admin through the ClusterRole cluster-admin or through any role with a rule of ``*``
    verbs on ``*`` resources in ``*`` API groups (a copy under another name). A RoleBinding to
    it counts too (the detail says "in namespace ..."): it makes the subject owner of that
    namespace, its Secrets and service account tokens included. The group system:masters and the
    EKS-managed subjects are judged by the EKS baseline; who is in system:masters is judged by
    aws_auth_system_masters_absent and eks_cluster_admin_access_minimal.
    """
    perms = frames.subject_permissions
    return subject_results(subjects_of(frames.role_bindings), perms, holds_cluster_admin(perms),
                           "holds cluster-admin")
