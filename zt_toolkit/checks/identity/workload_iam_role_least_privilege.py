import pandas as pd

from zt_toolkit.checks.helpers import result, results
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check
from zt_toolkit.frames.iam import iam_role_rows, missing_documents, role_risks

NOT_READABLE = "policy documents not readable"


@check(
    id="workload_iam_role_least_privilege",
    pillar=Pillar.IDENTITY,
    severity=Severity.HIGH,
    title="IAM roles reachable by pods grant no admin, wildcard, escalation or broad data access",
    requires=("service_account_iam_roles", "iam_roles", "iam_role_statements"),
    reason="pod IAM role is over-privileged",
    remediation="Replace '*' actions and resources with the actions and ARNs the application "
    "uses (IAM Access Analyzer policy generation from CloudTrail helps: aws accessanalyzer "
    "start-policy-generation); drop iam:* write actions and iam:PassRole on '*'; scope data "
    "reads (s3:GetObject, secretsmanager:GetSecretValue, kms:Decrypt) to named resources.",
    references=("BPG iam", "cloudsplaining", "KS C-0223"),
)
def workload_iam_role_least_privilege(frames) -> pd.DataFrame:
    """A pod's IAM role is what an attacker in the pod gets in AWS.

    Admin or ``service:*`` grants, privilege-escalation actions (iam:CreatePolicyVersion,
    iam:AttachRolePolicy, iam:PutRolePolicy, iam:PassRole with a compute service ...) or reads of
    every bucket, secret and key turn one compromised container into an account compromise.
    Judged per role over its attached and inline policies (Allow statements; Deny statements and
    conditions are not subtracted, so a conditional grant still counts, and the detail names
    every statement). Escalation methods are matched on the union of the role's actions, with
    wildcards. Roles are those of ServiceAccounts (IRSA annotation, Pod Identity, add-on role),
    whether or not a pod runs with them now. A role that does not exist (NoSuchEntity) passes
    with that noted; a role whose policy documents were not collected (and that shows no risk in
    the ones that were) is not_assessed with reason "policy documents not readable".
    """
    sa_roles = frames.service_account_iam_roles
    sa_roles = sa_roles[sa_roles["role_name"].notna()]
    users = (sa_roles["namespace"] + "/" + sa_roles["service_account"]).groupby(
        sa_roles["role_name"]).agg(lambda s: ", ".join(dict.fromkeys(s)))
    statements = frames.iam_role_statements
    by_role = dict(tuple(statements.groupby("name", sort=False)))
    rows = []
    for role in iam_role_rows(frames, sa_roles["role_name"]).itertuples(index=False):
        used = f"used by {users.get(role.name, '')}"
        if isinstance(role.error, str):
            gone = role.error.startswith("NoSuchEntity")
            rows.append(result("IAMRole", "", role.name,
                               status="pass" if gone else "not_assessed",
                               detail=f"{used}; " + ("role does not exist: the reference is "
                                                     "dangling" if gone else role.error),
                               reason=None if gone else "IAM role not readable"))
            continue
        risks = role_risks(by_role.get(role.name, statements.iloc[0:0]))
        missing = missing_documents(role)
        if risks:
            detail = f"{used}; " + "; ".join(risks)
            if missing:
                detail += "; not readable: " + ", ".join(missing)
            rows.append(result("IAMRole", "", role.name, failed=True, detail=detail))
        elif missing:
            rows.append(result("IAMRole", "", role.name, status="not_assessed",
                               detail=f"{used}; not readable: " + ", ".join(missing),
                               reason=NOT_READABLE))
        else:
            n = len(role.attached_policies) + len(role.inline_policies)
            rows.append(result("IAMRole", "", role.name, failed=False,
                               detail=f"{used}; {n} policy(ies), no risky grant"))
    return results(rows)
