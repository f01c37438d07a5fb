import pandas as pd

from zt_toolkit.checks.helpers import result, results
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check

EBS_PROVISIONERS = frozenset({"ebs.csi.aws.com", "ebs.csi.eks.amazonaws.com",
                              "kubernetes.io/aws-ebs"})
EFS_DRIVER = "efs.csi.aws.com"


def _ebs(sc) -> dict:
    encrypted = sc.parameters.get("encrypted")
    key = sc.parameters.get("kmsKeyId")
    if str(encrypted).lower() == "true":
        by = f"KMS key {key}" if key else "the account's default EBS key (aws/ebs)"
        return result("StorageClass", "", sc.name, failed=False,
                      detail=f'{sc.provisioner}: encrypted "true" with {by}')
    if encrypted is None:
        why = ("parameters.encrypted unset: volumes are encrypted only if EBS encryption by "
               "default is on for the account and region (not collected)")
    else:
        why = f'parameters.encrypted is "{encrypted}"'
    return result("StorageClass", "", sc.name, failed=True, detail=f"{sc.provisioner}: {why}")


def _efs(pv) -> dict:
    attr = pv.volume_attributes.get("encryptInTransit")
    tls = "tls" in pv.mount_options
    if str(attr).lower() == "false":
        detail = 'volumeAttributes.encryptInTransit is "false": NFS traffic in clear text'
        if tls:
            detail = ('volumeAttributes.encryptInTransit is "false" and mountOptions has tls: the '
                      "EFS CSI driver rejects this combination, the volume does not mount")
        return result("PersistentVolume", "", pv.name, failed=True,
                      reason="EFS encryption in transit disabled", detail=detail)
    how = (f'encryptInTransit "{attr}"' if attr is not None
           else "encryptInTransit unset (driver default: true)")
    if tls:
        how += ", tls mount option"
    return result("PersistentVolume", "", pv.name, failed=False,
                  detail=f"EFS {pv.volume_handle}: {how}")


@check(
    id="storage_encryption_enabled",
    pillar=Pillar.SECRETS,
    severity=Severity.MEDIUM,
    title="EBS StorageClasses encrypt volumes and EFS volumes encrypt traffic in transit",
    requires=("storage_classes", "persistent_volumes"),
    reason="EBS StorageClass does not set encrypted: \"true\"",
    remediation="EBS: create the StorageClass with parameters: {encrypted: \"true\", kmsKeyId: "
    "<key-arn>} (StorageClass parameters are immutable: create a new class and migrate PVCs), "
    "and turn on aws ec2 enable-ebs-encryption-by-default. EFS: remove "
    "volumeAttributes.encryptInTransit: \"false\" from the PersistentVolume (the driver "
    "encrypts by default).",
    references=("BPG data", "KS C-0264"),
)
def storage_encryption_enabled(frames) -> pd.DataFrame:
    """Unencrypted volumes expose data through snapshots, detached volumes and the network.

    StorageClasses with an EBS provisioner (ebs.csi.aws.com, EKS Auto Mode
    ebs.csi.eks.amazonaws.com, in-tree kubernetes.io/aws-ebs) need parameters.encrypted "true";
    unset fails with a note, since account-level EBS encryption by default is not collected.
    EFS PersistentVolumes (CSI driver efs.csi.aws.com) encrypt in transit unless
    volumeAttributes.encryptInTransit is "false" (the driver's default is true; with "false"
    plus the tls mount option the driver refuses to mount). Other classes and volumes are not
    evaluated; EFS encryption at rest is a file-system property not in the snapshot.
    """
    sc, pv = frames.storage_classes, frames.persistent_volumes
    rows = [_ebs(s) for s in sc[sc.provisioner.isin(EBS_PROVISIONERS)].itertuples(index=False)]
    rows += [_efs(p) for p in pv[pv.csi_driver.eq(EFS_DRIVER).fillna(False).astype(bool)]
             .itertuples(index=False)]
    return results(rows)
