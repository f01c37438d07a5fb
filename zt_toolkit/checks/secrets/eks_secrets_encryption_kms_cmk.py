import pandas as pd

from zt_toolkit.checks.helpers import result, results
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check
from zt_toolkit.frames.eks import eks_cluster_row
from zt_toolkit.frames.secrets import described_secrets_key, kubernetes_minor, plain

DEFAULT_KEY_REASON = "AWS-owned default key only (EKS ≥ 1.28)"
DEFAULT_KEY_DETAIL = (
    "no encryptionConfig for secrets: EKS {version} envelope-encrypts all Kubernetes API data, "
    "secrets included, with an AWS-owned KMS key by default, so secrets are encrypted at rest; "
    "what is missing is a customer-managed key (your key policy, CloudTrail records of every "
    "decrypt, the power to revoke). Severity: low (graded down from high, the data is "
    "encrypted)."
)


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

    Graded, not binary: a customer-managed key that is enabled passes. Without encryptionConfig a
    cluster on EKS >= 1.28 is still envelope-encrypted with an AWS-owned key (EKS "default
    envelope encryption"): it fails with that explanation and a note that the real severity is
    low; below 1.28 (or version unknown) the secrets are not envelope-encrypted. An AWS-managed
    key, or a key that is disabled or pending deletion, fails with its own reason. The KMS key
    is read from kms.describe_key only when one is configured; a configured key that was not
    described makes the check not_assessed.
    """
    c = plain(eks_cluster_row(frames))
    key_ref = c["secrets_encryption_key_arn"]
    version = kubernetes_minor(c["version"])
    if not key_ref:
        if version is not None and version >= (1, 28):
            row = result("Cluster", "", c["name"], failed=True, reason=DEFAULT_KEY_REASON,
                         detail=DEFAULT_KEY_DETAIL.format(version=c["version"]))
        else:
            shown = c["version"] if version else "unknown"
            row = result("Cluster", "", c["name"], failed=True,
                         reason="secrets not envelope-encrypted",
                         detail=f"no encryptionConfig for secrets on Kubernetes {shown} "
                         "(default envelope encryption starts with EKS 1.28)")
        return results([row])
    key = described_secrets_key(frames, key_ref)
    shown = key["arn"] or key_ref
    if key["key_manager"] != "CUSTOMER":
        row = result("Cluster", "", c["name"], failed=True,
                     reason="AWS-managed KMS key, not customer-managed",
                     detail=f"secrets key {shown} is managed by {key['key_manager'] or 'unknown'}: "
                     "its key policy cannot be restricted to this cluster")
    elif key["key_state"] != "Enabled":
        row = result("Cluster", "", c["name"], failed=True,
                     reason="secrets KMS key not enabled",
                     detail=f"customer-managed key {shown} is {key['key_state']}: the API server "
                     "cannot decrypt secrets")
    else:
        row = result("Cluster", "", c["name"], failed=False,
                     detail=f"secrets envelope-encrypted with customer-managed key {shown}")
    return results([row])
