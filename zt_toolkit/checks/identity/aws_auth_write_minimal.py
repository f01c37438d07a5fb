import numpy as np
import pandas as pd

from zt_toolkit.analysis.rbac import grants, subject_results, subjects_holding_all, subjects_of
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check
from zt_toolkit.frames.eks import eks_cluster_row
from zt_toolkit.frames.rbac import AWS_AUTH, aws_auth_present

SYSTEM_NS, AWS_AUTH_NAME = AWS_AUTH


@check(
    id="aws_auth_write_minimal",
    pillar=Pillar.IDENTITY,
    severity=Severity.HIGH,
    title="Only EKS baseline subjects can modify the aws-auth ConfigMap",
    requires=("role_bindings", "subject_permissions"),
    reason="subject can modify aws-auth",
    remediation="Remove update/patch on configmaps in kube-system (and '*' verbs or resources) "
    "from the subject's roles; a tool that must edit one ConfigMap there gets resourceNames "
    "with that name, never aws-auth. Better: move to EKS access entries (aws eks "
    "update-cluster-config --access-config authenticationMode=API) so that aws-auth is no "
    "longer read.",
    references=("KS C-0037", "rbac-police eks_modify_aws_auth", "BPG iam"),
)
def aws_auth_write_minimal(frames) -> pd.DataFrame:
    """Whoever can edit kube-system/aws-auth can map an IAM role of theirs to system:masters.

    EKS authenticates IAM principals through aws-auth (authentication modes CONFIG_MAP and
    API_AND_CONFIG_MAP), so write access to it is cluster-admin. Counted, cluster-wide or in
    kube-system: update or patch on configmaps, unrestricted or with resourceNames naming
    aws-auth (``*`` verbs, resources and core-group wildcards included); delete of aws-auth
    together with create of configmaps (replacing it); create of configmaps when the snapshot
    holds no aws-auth (creating it). Rules restricted to other ConfigMaps are not counted.
    In authentication mode API (a one-way change) EKS ignores aws-auth: such grants pass and
    the detail says so.
    """
    perms = frames.subject_permissions
    here = perms["scope"].eq("cluster") | perms["scope_namespace"].eq(SYSTEM_NS)
    edit = grants(perms, ("update", "patch"), "configmaps", resource_name=AWS_AUTH_NAME) & here
    create = grants(perms, "create", "configmaps") & here
    delete = grants(perms, "delete", "configmaps", resource_name=AWS_AUTH_NAME) & here
    missing = not frames.gaps(["aws_auth"]) and not aws_auth_present(frames)
    replace = subjects_holding_all(perms, create, delete)
    granted = edit | replace | (create if missing else False)
    note = pd.Series(np.select(
        [edit, create & missing, replace & create, replace],
        ["", " [create: no aws-auth exists yet]", " [create, with delete: replaces aws-auth]",
         " [delete, with create: replaces aws-auth]"], default=""), index=perms.index)
    subjects = subjects_of(frames.role_bindings)
    if _api_mode(frames):
        nothing = pd.Series(False, index=perms.index, dtype=bool)
        return subject_results(subjects, perms, nothing, "", note=note, noted=granted,
                               noted_what="can modify aws-auth, which EKS ignores in "
                               "authenticationMode API")
    return subject_results(subjects, perms, granted, "can modify aws-auth", note=note)


def _api_mode(frames) -> bool:
    """Tell whether the described cluster authenticates with access entries only (API)."""
    if frames.gaps(["eks_cluster"]) or frames.eks_cluster.empty:
        return False  # not described: aws-auth may be in use
    mode = eks_cluster_row(frames)["authentication_mode"]
    return isinstance(mode, str) and mode == "API"
