import pandas as pd

from zt_toolkit.checks.helpers import result, results
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check

_SOURCES = {"irsa": "IRSA annotation", "pod_identity": "Pod Identity association",
            "addon": "vpc-cni add-on serviceAccountRoleArn"}


@check(
    id="aws_node_uses_irsa",
    pillar=Pillar.IDENTITY,
    severity=Severity.MEDIUM,
    title="The VPC CNI (aws-node) gets its AWS permissions from its own IAM role, not the node's",
    requires=("workloads", "workload_iam_roles"),
    reason="aws-node uses the node IAM role",
    remediation="Create an IAM role with AmazonEKS_CNI_Policy trusted by "
    "system:serviceaccount:kube-system:aws-node and set it on the add-on: aws eks update-addon "
    "--cluster-name <cluster> --addon-name vpc-cni --service-account-role-arn <role-arn> (or a "
    "Pod Identity association); then detach AmazonEKS_CNI_Policy from the node role.",
    references=("BPG iam", "CIS 5.1.3"),
)
def aws_node_uses_irsa(frames) -> pd.DataFrame:
    """Without its own role, aws-node's network rights sit on the node role, usable by every pod.

    With AmazonEKS_CNI_Policy on the node role, any pod can create, attach and reassign network
    interfaces and IP addresses through the instance profile. The DaemonSet kube-system/aws-node
    passes when its ServiceAccount has a role through an IRSA annotation, a Pod Identity
    association or the vpc-cni add-on's serviceAccountRoleArn. A cluster without aws-node
    (another CNI, EKS Auto Mode) is not applicable.
    """
    w = frames.workloads
    node = w[(w["kind"] == "DaemonSet") & (w["namespace"] == "kube-system")
             & (w["name"] == "aws-node")]
    roles = frames.workload_iam_roles
    rows = []
    for ds in node.itertuples(index=False):
        mine = roles[(roles["kind"] == ds.kind) & (roles["namespace"] == ds.namespace)
                     & (roles["name"] == ds.name)]
        if mine.empty:
            detail = (f'ServiceAccount "{ds.service_account}" has no IRSA annotation, Pod '
                      "Identity association or add-on role: the CNI uses the node role")
        else:
            detail = "; ".join(f"{_SOURCES.get(s, s)}: {r}" for s, r in
                               zip(mine["source"], mine["role_arn"].fillna("(role unknown)"),
                                   strict=True))
        rows.append(result(ds.kind, ds.namespace, ds.name, failed=mine.empty, detail=detail))
    return results(rows)
