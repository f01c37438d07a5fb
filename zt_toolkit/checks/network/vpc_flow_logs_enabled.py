import pandas as pd

from zt_toolkit.checks.helpers import result, results
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check
from zt_toolkit.errors import NotAssessed
from zt_toolkit.frames.eks import aws_errors, described_clusters


@check(
    id="vpc_flow_logs_enabled",
    pillar=Pillar.NETWORK,
    severity=Severity.LOW,
    title="The cluster VPC has an active, delivering flow log",
    requires=("eks_cluster", "flow_logs"),
    reason="cluster VPC has no working flow log",
    remediation="aws ec2 create-flow-logs --resource-type VPC --resource-ids <vpc-id> "
    "--traffic-type ALL --log-destination-type cloud-watch-logs --log-group-name "
    "/aws/vpc/flowlogs --deliver-logs-permission-arn <role-arn>",
    references=("BPG network", "BPG detective", "PW vpc_flow_logs_enabled"),
)
def vpc_flow_logs_enabled(frames) -> pd.DataFrame:
    """Without flow logs, who talked to the nodes and pods cannot be reconstructed.

    Exfiltration, a reverse shell or scanning leave no network record for the investigation.

    Passes when a flow log on the cluster's VPC (``resourcesVpcConfig.vpcId``) is ACTIVE and
    its delivery has not FAILED; a REJECT-only log passes but the detail says it misses
    accepted flows. Subnet- or ENI-level flow logs are not counted (they cover part of the
    VPC). Not assessed when the VPC is unknown, or when describe_flow_logs returned an error
    and no flow log.
    """
    fl = frames.flow_logs
    rows = []
    for c in described_clusters(frames).itertuples(index=False):
        vpc = c.vpc_id
        if not isinstance(vpc, str):
            raise NotAssessed("describe_cluster gives no vpcId")
        mine = fl[fl.resource_id.eq(vpc).fillna(False)]
        if mine.empty:
            errors = aws_errors(frames, "ec2", "describe_flow_logs")
            if errors:
                raise NotAssessed(f"describe_flow_logs failed: {'; '.join(errors[:3])}")
            rows.append(result(c.kind, c.namespace, c.name, failed=True,
                               detail=f"no flow log on {vpc}"))
            continue
        working = mine[mine.flow_log_status.eq("ACTIVE").fillna(False)
                       & ~mine.deliver_logs_status.eq("FAILED").fillna(False)]
        if working.empty:
            broken = "; ".join(
                f"{f.name}: status {f.flow_log_status}, delivery {f.deliver_logs_status}"
                + (f" ({f.deliver_logs_error_message})"
                   if isinstance(f.deliver_logs_error_message, str) else "")
                for f in mine.itertuples(index=False))
            rows.append(result(c.kind, c.namespace, c.name, failed=True,
                               detail=f"flow logs on {vpc} not working: {broken}"))
            continue
        described = "; ".join(
            f"{f.name} ({f.traffic_type}) to {f.log_destination_type} {f.log_destination}"
            for f in working.itertuples(index=False))
        if set(working.traffic_type.dropna()) == {"REJECT"}:
            described += "; REJECT only: accepted flows are not logged"
        rows.append(result(c.kind, c.namespace, c.name, failed=False,
                           detail=f"{vpc}: {described}"))
    return results(rows)
