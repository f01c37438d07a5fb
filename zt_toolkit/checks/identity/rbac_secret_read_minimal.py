import pandas as pd

from zt_toolkit.analysis.rbac import READ_VERBS, grants, subject_results, subjects_of
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check


@check(
    id="rbac_secret_read_minimal",
    pillar=Pillar.IDENTITY,
    severity=Severity.HIGH,
    title="Only the EKS baseline subjects can get, list or watch Secrets",
    requires=("role_bindings", "subject_permissions"),
    reason="subject can read Secrets",
    remediation="Remove get/list/watch on secrets from the subject's roles; if it needs one "
    "Secret, grant get with resourceNames: [<secret>] in its namespace, or mount the Secret "
    "into the pod instead of reading it through the API.",
    references=("CIS 4.1.2", "KS C-0186", "PW rbac_minimize_secret_access",
                "rbac-police list_secrets"),
)
def rbac_secret_read_minimal(frames) -> pd.DataFrame:
    """Reading Secrets yields credentials; list and watch return every Secret's value.

    Database passwords, API keys, TLS keys and, through legacy token Secrets, the tokens of more
    powerful service accounts. Rules restricted with resourceNames grant only the named Secrets
    and are not counted; a RoleBinding grants only in its namespace (the detail names it).
    Wildcards (``*`` verbs or resources) count. Controllers of the control plane and EKS add-ons
    that read Secrets by design are judged by the EKS baseline.
    """
    perms = frames.subject_permissions
    granted = grants(perms, READ_VERBS, "secrets")
    return subject_results(subjects_of(frames.role_bindings), perms, granted,
                           "can get/list/watch Secrets")
