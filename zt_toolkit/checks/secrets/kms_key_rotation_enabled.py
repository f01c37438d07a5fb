import pandas as pd

from zt_toolkit.checks.helpers import result, results
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check
from zt_toolkit.errors import NotAssessed
from zt_toolkit.frames.eks import eks_cluster_row
from zt_toolkit.frames.secrets import described_secrets_key, plain


@check(
    id="kms_key_rotation_enabled",
    pillar=Pillar.SECRETS,
    severity=Severity.MEDIUM,
    title="The KMS key that encrypts the cluster's secrets rotates automatically",
    requires=("eks_cluster",),
    reason="secrets KMS key rotation disabled",
    remediation="aws kms enable-key-rotation --key-id <key-id> --rotation-period-in-days 365 "
    "(key material with Origin EXTERNAL cannot rotate automatically: import new material on a "
    "schedule, or move to a KMS-generated key).",
    references=("BPG data", "PW kms_cmk_rotation_enabled", "CIS 5.3.1"),
)
def kms_key_rotation_enabled(frames) -> pd.DataFrame:
    """Without rotation one key material protects every secret for years.

    Judged for the key in the cluster's encryptionConfig only; a cluster without one is
    not_applicable here (eks_secrets_encryption_kms_cmk reports it). AWS-managed keys rotate
    yearly by AWS and pass. Imported key material (Origin EXTERNAL) cannot rotate automatically
    and fails. A configured key whose rotation status was not collected is not_assessed.
    """
    c = plain(eks_cluster_row(frames))
    key_ref = c["secrets_encryption_key_arn"]
    if not key_ref:
        return results([{"kind": "Cluster", "namespace": "", "name": c["name"],
                         "status": "not_applicable",
                         "detail": "no KMS key configured for secrets "
                         "(see eks_secrets_encryption_kms_cmk)"}])
    key = described_secrets_key(frames, key_ref)
    shown = key["arn"] or key_ref
    if key["key_manager"] == "AWS":
        return results([result("Cluster", "", c["name"], failed=False,
                               detail=f"AWS-managed key {shown} is rotated yearly by AWS")])
    if key["origin"] == "EXTERNAL":
        return results([result("Cluster", "", c["name"], failed=True,
                               reason="imported key material cannot rotate automatically",
                               detail=f"key {shown} has imported key material (Origin EXTERNAL)")])
    if key["rotation_enabled"] is None:
        why = key["rotation_error"] or "no kms get_key_rotation_status record"
        raise NotAssessed(f"rotation status of {shown} unknown: {why}")
    if key["rotation_enabled"]:
        period = key["rotation_period_days"]
        detail = f"key {shown} rotates" + (f" every {period} days" if period else "")
        if key["next_rotation_date"]:
            detail += f", next {key['next_rotation_date']}"
        return results([result("Cluster", "", c["name"], failed=False, detail=detail)])
    return results([result("Cluster", "", c["name"], failed=True,
                           detail=f"customer-managed key {shown} has automatic rotation off")])
