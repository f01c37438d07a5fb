import pandas as pd

from zt_toolkit.checks.helpers import result, results
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check
from zt_toolkit.errors import NotAssessed
from zt_toolkit.frames.eks import aws_errors, described_clusters


@check(
    id="eks_cluster_security_group_ingress_restricted",
    pillar=Pillar.NETWORK,
    severity=Severity.HIGH,
    title="Cluster and node security groups allow no ingress from 0.0.0.0/0 or ::/0",
    requires=("eks_cluster", "security_groups", "cluster_security_groups"),
    reason="a cluster or node security group allows ingress from anywhere",
    remediation="Remove the open rule and allow only the sources that need it, e.g. "
    "aws ec2 revoke-security-group-ingress --group-id <sg> --ip-permissions "
    "'IpProtocol=tcp,FromPort=22,ToPort=22,IpRanges=[{CidrIp=0.0.0.0/0}]' ; reach nodes with "
    "SSM Session Manager instead of SSH.",
    references=("BPG network", "BPG hosts",
                "PW ec2_securitygroup_allow_ingress_from_internet_to_all_ports"),
)
def eks_cluster_security_group_ingress_restricted(frames) -> pd.DataFrame:
    """Cluster or node security groups open to 0.0.0.0/0 expose kubelets, NodePorts and SSH.

    Wherever a node has a public IP or a public path exists, the internet reaches those ports.

    The groups judged: ``clusterSecurityGroupId``, ``securityGroupIds``, and the node groups
    found on the cluster's EC2 instances and launch templates when those were collected (not
    groups found by tag: load balancer groups share the tag and are open by design). A group
    named by the cluster but absent from describe_security_groups makes the check
    not_assessed, unless another group already fails. Egress rules are not judged.
    """
    sgs = frames.security_groups
    roles = frames.cluster_security_groups
    described = set(sgs.group_id)
    node_note = ("" if frames.snapshot.coverage("aws/ec2/describe_instances").ok
                 else "; node instances not collected: only groups named by the cluster judged")
    rows = []
    for c in described_clusters(frames).itertuples(index=False):
        own = {g for g in (c.cluster_security_group_id, *c.security_group_ids)
               if isinstance(g, str)}
        mine = roles[roles.group_id.isin(own) | roles.role.eq("node")]
        role_of = mine.groupby("group_id", sort=False)["role"].agg(lambda s: "/".join(s))
        if role_of.empty:
            raise NotAssessed("describe_cluster names no security group for the cluster")
        open_rules = sgs[sgs.open_to_world & sgs.group_id.isin(role_of.index)]
        missing = [g for g in role_of.index if g not in described]
        if not open_rules.empty:
            offenders = dict.fromkeys(
                f"{r.group_id} ({role_of[r.group_id]}): {r.ports} from {r.source}"
                for r in open_rules.itertuples(index=False))
            detail = "; ".join(offenders)
            if missing:
                detail += f"; not described: {', '.join(missing)}"
            rows.append(result(c.kind, c.namespace, c.name, failed=True, detail=detail))
            continue
        if missing:
            errors = aws_errors(frames, "ec2", "describe_security_groups")
            raise NotAssessed(
                f"security groups of the cluster not described: {', '.join(missing)}"
                + (f" ({'; '.join(errors[:3])})" if errors else ""))
        judged = ", ".join(f"{g} ({r})" for g, r in role_of.items())
        rows.append(result(c.kind, c.namespace, c.name, failed=False,
                           detail=f"no ingress from 0.0.0.0/0 or ::/0 on {judged}{node_note}"))
    return results(rows)
