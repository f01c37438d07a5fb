import pandas as pd

from zt_toolkit.checks.helpers import KEY
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check

AUTHENTICATED = "system:authenticated"
#: ClusterRoles Kubernetes binds to system:authenticated by default.
DEFAULT_ROLES = ("system:basic-user", "system:discovery", "system:public-info-viewer")


@check(
    id="rbac_authenticated_group_minimal",
    pillar=Pillar.IDENTITY,
    severity=Severity.HIGH,
    title="system:authenticated is bound to no more than the Kubernetes default roles",
    requires=("role_bindings",),
    reason="binding grants rights to every authenticated identity",
    remediation="Bind the role to the specific groups or service accounts that need it and "
    "remove the system:authenticated subject (kubectl edit clusterrolebinding <name>).",
    references=("KS C-0265", "BPG iam"),
)
def rbac_authenticated_group_minimal(frames) -> pd.DataFrame:
    """On EKS every IAM principal of the account is in system:authenticated, and every pod too.

    Any IAM principal of the account that can call sts:GetCallerIdentity authenticates, and so
    does every service account: a right granted to the group is granted to all of them. One row
    per binding that names the group. Bindings to the default ClusterRoles system:basic-user,
    system:discovery and system:public-info-viewer pass (the roles are judged by their names;
    edits to them are out of scope here). EKS-managed bindings are judged by the EKS baseline.
    """
    b = frames.role_bindings
    auth = b[b["subject_kind"].eq("Group") & b["subject_name"].eq(AUTHENTICATED)]
    extra = ~(auth["role_kind"].eq("ClusterRole") & auth["role_name"].isin(DEFAULT_ROLES))
    out = auth[KEY].copy()
    out["status"] = extra.map({True: "fail", False: "pass"})
    scope = ("in namespace " + auth["namespace"]).where(auth["kind"].eq("RoleBinding"),
                                                        "cluster-wide")
    out["detail"] = ("binds system:authenticated to " + auth["role_kind"] + ' "'
                     + auth["role_name"] + '" ' + scope).where(
        extra, "Kubernetes default: " + auth["role_name"])
    return out.drop_duplicates(subset=KEY).reset_index(drop=True)
