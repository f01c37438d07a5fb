import pandas as pd

from zt_toolkit.checks.helpers import result, results
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check
from zt_toolkit.errors import NotAssessed
from zt_toolkit.frames.eks import eks_cluster_row
from zt_toolkit.frames.secrets import (
    GRADE_AWS_MANAGED,
    GRADE_AWS_OWNED_DEFAULT,
    GRADE_CMK,
    GRADE_CMK_ROTATING,
    GRADE_KEY_UNUSABLE,
    GRADE_NONE,
    GRADE_NOT_ASSESSED,
    plain,
    secrets_encryption,
)

DEFAULT_KEY_REASON = "AWS-owned default key only (EKS ≥ 1.28)"
DEFAULT_KEY_DETAIL = (
    "no encryptionConfig for secrets: EKS {version} envelope-encrypts all Kubernetes API data, "
    "secrets included, with an AWS-owned KMS key by default, so secrets are encrypted at rest; "
    "what is missing is a customer-managed key (your key policy, CloudTrail records of every "
    "decrypt, the power to revoke). Severity: low (graded down from high, the data is "
    "encrypted)."
)


def _row(cluster: str, g: dict) -> dict:
    """The result row of one grade (``severity`` set only where the grade changes it)."""
    grade, shown = g["grade"], g["key_arn"] or g["key_ref"]
    if grade == GRADE_AWS_OWNED_DEFAULT:
        row = result("Cluster", "", cluster, failed=True, reason=DEFAULT_KEY_REASON,
                     detail=DEFAULT_KEY_DETAIL.format(version=g["version"]))
        row["severity"] = Severity.LOW.value
        return row
    if grade == GRADE_NONE:
        shown_version = g["version"] or "unknown"
        return result("Cluster", "", cluster, failed=True, reason="secrets not envelope-encrypted",
                      detail=f"no encryptionConfig for secrets on Kubernetes {shown_version} "
                      "(default envelope encryption starts with EKS 1.28)")
    if grade == GRADE_KEY_UNUSABLE:
        return result("Cluster", "", cluster, failed=True, reason="secrets KMS key not enabled",
                      detail=f"secrets key {shown} is {g['key_state']}: the API server cannot "
                      "decrypt secrets")
    if grade == GRADE_AWS_MANAGED:
        return result("Cluster", "", cluster, failed=True,
                      reason="AWS-managed KMS key, not customer-managed",
                      detail=f"secrets key {shown} is managed by {g['key_manager'] or 'unknown'}: "
                      "its key policy cannot be restricted to this cluster")
    rotation = {GRADE_CMK_ROTATING: "rotation on", GRADE_CMK: "rotation off"}.get(
        grade, "rotation status unknown")
    return result("Cluster", "", cluster, failed=False,
                  detail=f"secrets envelope-encrypted with customer-managed key {shown} "
                  f"({rotation}, see kms_key_rotation_enabled)")


@check(
    id="eks_secrets_encryption_kms_cmk",
    pillar=Pillar.SECRETS,
    severity=Severity.HIGH,
    title="Kubernetes Secrets are envelope-encrypted with a customer-managed KMS key",
    requires=("eks_cluster",),
    reason="secrets not envelope-encrypted with a customer-managed KMS key",
    remediation="Create a symmetric customer-managed KMS key and associate it with the cluster "
    "(this cannot be undone): aws eks associate-encryption-config --cluster-name <cluster> "
    "--encryption-config '[{\"resources\":[\"secrets\"],\"provider\":{\"keyArn\":\"<key-arn>\"}}]'"
    "; then re-write existing secrets: kubectl get secrets -A -o json | kubectl replace -f -",
    references=("CIS 5.3.1", "BPG data", "KS C-0066",
                "PW eks_cluster_kms_cmk_encryption_in_secrets_enabled"),
)
def eks_secrets_encryption_kms_cmk(frames) -> pd.DataFrame:
    """Secrets in etcd readable by whoever holds the storage, with no key policy of yours.

    Graded, not binary (:func:`zt_toolkit.frames.secrets.secrets_encryption`): an enabled
    customer-managed key passes, with or without rotation (kms_key_rotation_enabled judges
    rotation). Without encryptionConfig a cluster on EKS >= 1.28 is still envelope-encrypted
    with an AWS-owned key (EKS "default envelope encryption"): it fails at low severity (the
    row's ``severity``) with that explanation; below 1.28 (or version unknown) the secrets are
    not envelope-encrypted and fail at high. A key that is disabled or pending deletion, or an
    AWS-managed key, fails with its own reason. A configured key that was not described (not
    collected, refused, failed) makes the check not_assessed.
    """
    c = plain(eks_cluster_row(frames))
    g = secrets_encryption(frames, c)
    if g["grade"] == GRADE_NOT_ASSESSED:
        raise NotAssessed(g["why"])
    return results([_row(c["name"], g)])
