import re

import pandas as pd

from zt_toolkit.checks.helpers import result, results
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check
from zt_toolkit.frames.iam import iam_role_rows, statement_risks

#: AWS managed policies a worker node needs (EKS user guide "Amazon EKS node IAM role").
WORKER_BASELINE = ("AmazonEKSWorkerNodePolicy", "AmazonEKSWorkerNodeMinimalPolicy",
                   "AmazonEC2ContainerRegistryReadOnly", "AmazonEC2ContainerRegistryPullOnly",
                   "AmazonSSMManagedInstanceCore")
CNI_POLICY = "AmazonEKS_CNI_Policy"
_AWS_MANAGED = re.compile(r"^arn:aws[\w-]*:iam::aws:policy/(?:.*/)?(?P<name>[^/]+)$")


def _managed_name(arn: str) -> str | None:
    m = _AWS_MANAGED.match(arn or "")
    return m.group("name") if m else None


@check(
    id="node_role_least_privilege",
    pillar=Pillar.IDENTITY,
    severity=Severity.HIGH,
    title="Node IAM roles hold only the EKS worker node policies",
    requires=("node_iam_roles", "iam_roles", "iam_role_statements", "service_account_iam_roles"),
    reason="node role holds more than the worker baseline",
    remediation="Detach everything but AmazonEKSWorkerNodePolicy, "
    "AmazonEC2ContainerRegistryReadOnly (or PullOnly) and AmazonSSMManagedInstanceCore "
    "(aws iam detach-role-policy / delete-role-policy --role-name <node-role> ...); give the "
    "workloads that need more their own role through IRSA or Pod Identity, and move "
    "AmazonEKS_CNI_Policy to an IRSA role for aws-node.",
    references=("CIS 5.1.3", "KS C-0223", "BPG iam"),
)
def node_role_least_privilege(frames) -> pd.DataFrame:
    """Pods reach the node role through IMDS: what the node role may do, every pod may do.

    Unless IMDS is locked down, the instance profile credentials are one HTTP call away from
    every container. Allowed: the AWS managed worker policies (AmazonEKSWorkerNodePolicy /
    MinimalPolicy, AmazonEC2ContainerRegistryReadOnly / PullOnly, AmazonSSMManagedInstanceCore),
    and AmazonEKS_CNI_Policy while aws-node has no role of its own. Any other policy fails, and
    the detail names its risky statements (``*`` actions, whole services, data access on every
    resource). A customer policy named like an AWS one is judged as any other. Node roles come
    from managed node groups, EC2 access entries and aws-auth system:nodes mappings.
    """
    nodes = frames.node_iam_roles
    sa_roles = frames.service_account_iam_roles
    aws_node_has_role = bool(((sa_roles["namespace"] == "kube-system")
                              & (sa_roles["service_account"] == "aws-node")
                              & sa_roles["role_arn"].notna()).any())
    statements = frames.iam_role_statements
    where = nodes.groupby("role_name", sort=False)["source"].agg(", ".join)
    rows = []
    for role in iam_role_rows(frames, nodes["role_name"]).itertuples(index=False):
        found_in = f"node role of {where.get(role.name, '')}"
        if isinstance(role.error, str):
            rows.append(result("IAMRole", "", role.name, status="not_assessed",
                               detail=f"{found_in}; IAM role not readable: {role.error}",
                               reason="IAM role not readable"))
            continue
        extra = []
        for pol in role.attached_policies:
            name = _managed_name(pol["policy_arn"])
            if name in WORKER_BASELINE:
                continue
            if name == CNI_POLICY:
                if aws_node_has_role:
                    extra.append(f'"{CNI_POLICY}" (aws-node has its own IAM role)')
                continue
            extra.append(_describe(pol, statements[(statements["name"] == role.name)
                                                   & (statements["policy_name"]
                                                      == pol["policy_name"])
                                                   & (statements["policy_type"] == "managed")]))
        for pol in role.inline_policies:
            extra.append("inline " + _describe(
                pol, statements[(statements["name"] == role.name)
                                & (statements["policy_name"] == pol["policy_name"])
                                & (statements["policy_type"] == "inline")]))
        if isinstance(role.policies_error, str):
            extra.append(f"policies not readable ({role.policies_error})")
        kept = [p["policy_name"] for p in role.attached_policies
                if _managed_name(p["policy_arn"]) in (*WORKER_BASELINE, CNI_POLICY)]
        detail = f"{found_in}; " + (f"beyond the worker baseline: {'; '.join(extra)}" if extra
                                    else f"worker baseline only: {', '.join(kept) or 'no policy'}")
        rows.append(result("IAMRole", "", role.name, failed=bool(extra), detail=detail))
    return results(rows)


def _describe(policy: dict, statements: pd.DataFrame) -> str:
    risks = [r for st in statements.itertuples(index=False) for r in statement_risks(st)]
    text = f'"{policy["policy_name"]}"'
    if policy.get("error"):
        return text + f" (document not readable: {policy['error']})"
    return text + (f" ({'; '.join(dict.fromkeys(risks))})" if risks else "")
