import pandas as pd

from zt_toolkit.checks.helpers import results_per_row
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check
from zt_toolkit.frames.iam import described_cluster

_MODES = {
    "API": "API: access entries only; aws-auth is ignored",
    "API_AND_CONFIG_MAP": "API_AND_CONFIG_MAP: access entries enabled; aws-auth is still honoured "
                          "(switch to API once its mappings are migrated)",
    "CONFIG_MAP": "CONFIG_MAP: cluster access is granted only through the aws-auth ConfigMap",
}


@check(
    id="eks_access_entries_enabled",
    pillar=Pillar.IDENTITY,
    severity=Severity.MEDIUM,
    title="Cluster access is managed with EKS access entries (authentication mode API)",
    requires=("eks_cluster",),
    reason="authenticationMode is CONFIG_MAP",
    remediation="aws eks update-cluster-config --name <cluster> "
    "--access-config authenticationMode=API_AND_CONFIG_MAP; create an access entry per aws-auth "
    "mapping (aws eks create-access-entry / associate-access-policy), then switch to "
    "authenticationMode=API and delete kube-system/aws-auth.",
    references=("CIS 4.1.7", "KS C-0285", "BPG iam"),
)
def eks_access_entries_enabled(frames) -> pd.DataFrame:
    """With aws-auth as the only way in, cluster access is a ConfigMap IAM cannot audit or guard.

    Anyone who can edit ConfigMaps in kube-system rewrites cluster access, and one YAML mistake
    locks everyone out; access entries are managed through the EKS API, logged in CloudTrail and
    guarded by IAM. API and API_AND_CONFIG_MAP pass (the detail says that the latter still
    honours aws-auth). A response without ``accessConfig`` (clusters that predate access
    entries) counts as CONFIG_MAP.
    """
    c = described_cluster(frames)
    mode = c["authentication_mode"].fillna("CONFIG_MAP")
    detail = mode.map(_MODES).fillna("authenticationMode " + mode)
    detail = detail.where(c["authentication_mode"].notna(),
                          "accessConfig not reported: the cluster predates access entries "
                          "(CONFIG_MAP)")
    return results_per_row(c, ~mode.isin(["API", "API_AND_CONFIG_MAP"]), detail)
