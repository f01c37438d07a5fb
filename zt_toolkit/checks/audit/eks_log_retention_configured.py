import pandas as pd

from zt_toolkit.checks.helpers import result, results
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check


@check(
    id="eks_log_retention_configured",
    pillar=Pillar.AUDIT,
    severity=Severity.MEDIUM,
    title="The cluster's control-plane log group keeps logs for at least 90 days",
    requires=("log_groups",),
    reason="control-plane log retention too short",
    remediation="aws logs put-retention-policy --log-group-name /aws/eks/<cluster>/cluster "
    "--retention-in-days 365 (or at least your incident-response look-back; archive to S3 for "
    "longer).",
    references=("CIS 2.1.2", "BPG detective"),
    parameters={"min_days": 90, "allow_never_expire": False},
)
def eks_log_retention_configured(frames, params) -> pd.DataFrame:
    """Expired logs cannot answer "who did what, when" once an intrusion is noticed.

    Logs kept forever cost money and keep personal data past any retention policy.

    The log group is /aws/eks/<cluster>/cluster. retentionInDays absent means never expire:
    it fails unless the engagement sets allow_never_expire (the client's documented reason).
    A missing log group fails (control-plane logging was never enabled).
    """
    cluster = frames.snapshot.cluster.name
    group_name = f"/aws/eks/{cluster}/cluster"
    groups = frames.log_groups
    match = groups[groups["name"] == group_name]
    if match.empty:
        return results([result("Cluster", "", cluster, failed=True, reason="no cluster log group",
                               detail=f"log group {group_name} does not exist: control-plane "
                               "logs are not collected")])
    days = match["retention_in_days"].iloc[0]
    min_days = int(params["min_days"])
    if pd.isna(days):
        if params["allow_never_expire"]:
            return results([result("Cluster", "", cluster, failed=False,
                                   detail=f"{group_name}: never expire (allowed by the "
                                   "engagement's allow_never_expire)")])
        return results([result("Cluster", "", cluster, failed=True,
                               reason="log retention never expires",
                               detail=f"{group_name} has no retention policy (never expire): "
                               "set one that matches the client's retention policy")])
    days = int(days)
    return results([result("Cluster", "", cluster, failed=days < min_days,
                           detail=f"{group_name} keeps logs {days} days (minimum {min_days})")])
