import pandas as pd

from zt_toolkit.analysis.rbac import grants_escalation, subject_results, subjects_of
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check


@check(
    id="rbac_escalation_verbs_absent",
    pillar=Pillar.IDENTITY,
    severity=Severity.CRITICAL,
    title="No subject outside the EKS baseline holds the bind, escalate or impersonate verbs",
    requires=("role_bindings", "subject_permissions"),
    reason="subject can bind, escalate or impersonate",
    remediation="Remove bind, escalate and impersonate (and '*' verbs) from the subject's roles. "
    "Tools that create bindings need bind only with resourceNames of the roles they hand out.",
    references=("CIS 4.1.8", "KS C-0191", "rbac-police bind_roles",
                "rbac-police escalate_roles", "rbac-police impersonate"),
)
def rbac_escalation_verbs_absent(frames) -> pd.DataFrame:
    """bind, escalate and impersonate switch off RBAC's escalation guard: each leads to admin.

    escalate writes roles with rights the subject lacks, bind binds roles it lacks (to itself,
    too), impersonate acts as any user, group or service account, system:masters included.
    Matched on roles/clusterroles (rbac.authorization.k8s.io) for bind and escalate, and on
    users, groups, serviceaccounts and authentication.k8s.io userextras/uids for impersonate;
    ``*`` verbs count. Rules with resourceNames are not counted (they bind or impersonate only
    the named objects).
    """
    perms = frames.subject_permissions
    return subject_results(subjects_of(frames.role_bindings), perms, grants_escalation(perms),
                           "can bind, escalate or impersonate")
