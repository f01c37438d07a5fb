import pandas as pd

from zt_toolkit.checks.helpers import cluster_result
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check
from zt_toolkit.errors import NotAssessed
from zt_toolkit.frames.secrets import plain


def _describe(t: dict) -> str:
    scope = "multi-region" if t["multi_region"] else f"single-region ({t['home_region']})"
    if t["organization"]:
        scope += ", organization"
    state = {True: "logging", False: "not logging", None: "status not collected"}[t["is_logging"]]
    text = f"{t['name']}: {scope}, {state}"
    if t["latest_delivery_error"]:
        text += f", delivery error {t['latest_delivery_error']}"
    return text


@check(
    id="cloudtrail_enabled",
    pillar=Pillar.AUDIT,
    severity=Severity.MEDIUM,
    title="A multi-region CloudTrail trail is logging the account's API calls",
    requires=("cloudtrail_trails",),
    reason="no logging multi-region CloudTrail trail",
    remediation="aws cloudtrail create-trail --name org-trail --s3-bucket-name <bucket> "
    "--is-multi-region-trail --enable-log-file-validation && aws cloudtrail start-logging "
    "--name org-trail",
    references=("BPG detective", "PW cloudtrail_multi_region_enabled"),
)
def cloudtrail_enabled(frames) -> pd.DataFrame:
    """Only CloudTrail records EKS API calls and the IAM activity of pod roles.

    Without it, UpdateClusterConfig, CreateAccessEntry or AssociateEncryptionConfig calls and
    what a stolen pod role did leave no trace.

    Passes when a multi-region trail (an organization trail counts) reports IsLogging true.
    A multi-region trail whose status was not collected makes the check not_assessed unless
    another one is known to log. Event selectors that exclude management events are not
    collected and not judged.
    """
    trails = [plain(r) for _, r in frames.cloudtrail_trails.iterrows()]
    if not trails:
        return cluster_result(frames, failed=True, detail="no CloudTrail trail in the account")
    multi = [t for t in trails if t["multi_region"]]
    logging = [t for t in multi if t["is_logging"]]
    if not logging and any(t["is_logging"] is None for t in multi):
        unknown = [t["name"] for t in multi if t["is_logging"] is None]
        errors = [t["status_error"] for t in multi if t["status_error"]]
        raise NotAssessed("cloudtrail get_trail_status not collected for multi-region trail(s) "
                          + ", ".join(unknown) + (f" ({'; '.join(errors)})" if errors else ""))
    return cluster_result(frames, failed=not logging,
                          detail="; ".join(_describe(t) for t in trails))
