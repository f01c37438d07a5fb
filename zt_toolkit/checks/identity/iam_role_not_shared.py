import pandas as pd

from zt_toolkit.checks.helpers import join_names, result, results
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check


@check(
    id="iam_role_not_shared",
    pillar=Pillar.IDENTITY,
    severity=Severity.LOW,
    title="Each IAM role used by pods serves one workload's service account",
    requires=("service_account_iam_roles", "workloads", "workload_iam_roles"),
    reason="IAM role shared by several workloads",
    remediation="Create one IAM role per application (eksctl create iamserviceaccount or aws iam "
    "create-role with a trust policy for one system:serviceaccount:<ns>:<sa>) holding only that "
    "application's permissions, and point each ServiceAccount at its own role.",
    references=("BPG iam", "KS C-0225"),
)
def iam_role_not_shared(frames) -> pd.DataFrame:
    """A shared role holds the union of its users' needs and hides who acted in CloudTrail.

    Each application gets the others' permissions. A role fails when more than one
    ServiceAccount maps to it (any namespaces, through IRSA, Pod Identity or an add-on) or when
    more than one workload runs with it. The same ServiceAccount reaching a role two ways
    (add-on role and IRSA annotation) counts once.
    """
    sa_roles = frames.service_account_iam_roles
    sa_roles = sa_roles[sa_roles["role_arn"].notna()]
    wl = frames.workload_iam_roles
    workloads = (wl["kind"] + " " + wl["namespace"] + "/" + wl["name"]).groupby(
        wl["role_arn"]).agg(lambda s: list(dict.fromkeys(s)))
    rows = []
    for arn, group in sa_roles.groupby("role_arn", sort=True):
        sas = list(dict.fromkeys(group["namespace"] + "/" + group["service_account"]))
        runs = workloads.get(arn, [])
        shared = len(sas) > 1 or len(runs) > 1
        detail = f"ServiceAccounts {join_names(sas)}"
        detail += f"; workloads {join_names(runs)}" if runs else "; no workload runs with it"
        name = group["role_name"].iloc[0] if group["role_name"].notna().any() else arn
        rows.append(result("IAMRole", "", str(name), failed=shared, detail=detail))
    return results(rows)
