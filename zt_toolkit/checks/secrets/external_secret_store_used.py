import pandas as pd

from zt_toolkit.checks.helpers import KEY
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check
from zt_toolkit.frames.secrets import (
    CLUSTER_STORE_RESOURCE,
    EXTERNAL_SECRET_RESOURCE,
    SPC_RESOURCE,
    optional_gaps,
)


@check(
    id="external_secret_store_used",
    pillar=Pillar.SECRETS,
    severity=Severity.MEDIUM,
    title="Workloads that use secrets get them from an external secret store",
    requires=("secret_consumers",),
    reason="secret kept only in Kubernetes",
    remediation="Keep the secret in AWS Secrets Manager (or Vault) and deliver it with the "
    "Secrets Store CSI driver (SecretProviderClass with provider: aws) or an External Secrets "
    "Operator ExternalSecret, or inject it with the Vault Agent "
    "(vault.hashicorp.com/agent-inject: \"true\").",
    references=("CIS 4.4.2", "KS C-0234", "BPG data", "seed"),
)
def external_secret_store_used(frames) -> pd.DataFrame:
    """Secrets created by hand in Kubernetes have no owner, no rotation and no outside audit.

    They end up copied in Git, Helm values or CI variables.

    Only workloads that consume secrets are evaluated (env secretKeyRef, envFrom, secret and
    projected volumes, CSI secrets-store volumes, Vault agent injection). A Kubernetes Secret
    counts as externally backed when an ExternalSecret writes it (store provider other than
    fake/kubernetes), a SecretProviderClass syncs it, or its metadata shows External Secrets,
    the CSI driver or cert-manager made it. When the SecretProviderClass / ExternalSecret lists
    were refused, failing rows say so (the secret may be backed by a store we could not see).
    Details name each secret with how it is read (``api-jwt (env JWT_SIGNING_KEY)``).
    """
    c = frames.secret_consumers
    local = c[~c.external]
    via = local.via + local.env_var.map(lambda v: f" {v}" if isinstance(v, str) else "")
    what = local.secret + " (" + via + local.backing.where(
        local.backing.ne("a Kubernetes Secret"), "").map(lambda b: f"; {b}" if b else "") + ")"
    offenders = (pd.DataFrame({**{k: local[k] for k in KEY}, "what": what})
                 .groupby(KEY, sort=False)["what"]
                 .agg(lambda s: ", ".join(dict.fromkeys(s))))
    good = c[c.external]
    backed = (pd.DataFrame({**{k: good[k] for k in KEY},
                            "what": good.secret + " via " + good.provider})
              .groupby(KEY, sort=False)["what"]
              .agg(lambda s: ", ".join(dict.fromkeys(s))))
    out = c[KEY].drop_duplicates().reset_index(drop=True)
    idx = pd.MultiIndex.from_frame(out)
    bad, ok = offenders.reindex(idx), backed.reindex(idx)
    gaps = optional_gaps(frames, (SPC_RESOURCE, EXTERNAL_SECRET_RESOURCE, CLUSTER_STORE_RESOURCE))
    if not frames.snapshot.coverage("k8s/secrets").ok:
        gaps.append(frames.snapshot.coverage("k8s/secrets").describe("k8s/secrets"))
    note = f" (backing not fully visible: {'; '.join(gaps)})" if gaps else ""
    out["status"] = ["fail" if isinstance(b, str) else "pass" for b in bad]
    out["detail"] = [
        f"not from an external store: {b}{note}" if isinstance(b, str) else f"external: {g}"
        for b, g in zip(bad, ok, strict=True)
    ]
    return out
